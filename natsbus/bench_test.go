package natsbus_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var streams atomic.Int64

// latencies collects Emit-to-handler latencies.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(sent int64) {
	d := time.Duration(time.Now().UnixNano() - sent)
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// report adds events/s and the p50 and p99 latency to the benchmark.
func (l *latencies) report(b *testing.B, elapsed time.Duration, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.d)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	if len(l.d) > 0 {
		b.ReportMetric(float64(l.d[len(l.d)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds()), "p99-µs")
	}
	b.ReportMetric(0, "ns/op") // the rates above say it better
}

// transport is one way to carry events from an emitter to a handler: raw
// nats.go JetStream, or the bridge in one of its modes.
type transport struct {
	send  func(sent int64) error // publishes one event stamped with its send time
	flush func() error           // waits until everything sent is stored
}

type pacing struct {
	name     string
	emitters int
	interval time.Duration // between emits of one emitter; 0: as fast as possible
}

// BenchmarkNATS compares, in one run, raw nats.go JetStream (synchronous
// publish, and asynchronous publish with batched consume, each message
// acknowledged by a durable consumer) with the bridge in confirm mode and
// in pipelined mode (MaxInFlight 1024), from 1 and 8 emitting goroutines,
// and at a paced 500 events/s for latency. Raw publishes carry the 8-byte
// payload alone, as plain nats.go code would; raw-sync+msgid and
// raw-async+msgid add the one header the bridge cannot do without, a
// Nats-Msg-Id, so that a retried publish is stored once: they give the
// bridge's guarantee, and are what its modes are measured against.
// raw-async+headers sends the bridge's CloudEvents headers too, so that
// only the bridge's own work differs. It
// reports throughput (events/s, until the last event is handled; stored/s,
// until the last is stored) and the p50 and p99 latency from Emit to
// handler.
func BenchmarkNATS(b *testing.B) {
	// The server runs in a process of its own, as in production: in this
	// one, every garbage collection the clients cause would also mark the
	// server's heap (its duplicate-tracking map above all), charging the
	// server's memory to the clients' allocations.
	// NATSBUS_BENCH_EMBEDDED=1 embeds it, for comparison.
	var url string
	if os.Getenv("NATSBUS_BENCH_EMBEDDED") != "" {
		url = startServer(b, b.TempDir(), -1).ClientURL()
	} else {
		url = startServerProcess(b)
	}
	paces := []pacing{{"emitters=1", 1, 0}, {"emitters=8", 8, 0}, {"paced=500/s", 1, 2 * time.Millisecond}}
	kinds := []string{"raw-sync", "raw-sync+msgid", "raw-async", "raw-async+msgid", "raw-async+headers", "bridge-confirm", "bridge-pipelined"}
	for _, p := range paces {
		for _, kind := range kinds {
			b.Run(p.name+"/"+kind, func(b *testing.B) {
				measure(b, p, func(onEvent func(int64)) transport {
					if strings.HasPrefix(kind, "raw-") {
						mode, headers, _ := strings.Cut(strings.TrimPrefix(kind, "raw-"), "+")
						if headers != "" {
							headers = "+" + headers
						}
						return rawTransport(b, url, mode == "async", headers, onEvent)
					}
					return bridgeTransport(b, url, 1, kind == "bridge-pipelined", onEvent)
				})
			})
		}
	}
}

// measure sends b.N events through the transport that mk makes, paced by
// p, and reports throughput and latency.
func measure(b *testing.B, p pacing, mk func(onEvent func(sent int64)) transport) {
	lat := &latencies{d: make([]time.Duration, 0, b.N)}
	var handled atomic.Int64
	tr := mk(func(sent int64) { lat.add(sent); handled.Add(1) })
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range p.emitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += p.emitters {
				if err := tr.send(time.Now().UnixNano()); err != nil {
					b.Error(err)
					return
				}
				if p.interval > 0 {
					time.Sleep(p.interval)
				}
			}
		}()
	}
	wg.Wait()
	if err := tr.flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "stored/s")
	awaitCount(b, &handled, int64(b.N))
	elapsed := time.Since(start)
	b.StopTimer()
	lat.report(b, elapsed, b.N)
}

// stamp encodes a send time as an 8-byte payload; raw transports carry it
// as is, the bridge as the event's data.
func stamp(sent int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(sent)) }

// rawTransport publishes with nats.go alone; headers is "" for none,
// "+msgid" or "+headers" (see BenchmarkNATS).
func rawTransport(b *testing.B, url string, async bool, headers string, onEvent func(int64)) transport {
	stream := fmt.Sprint("RAW", streams.Add(1))
	nc := connect(b, url)
	js, _ := jetstream.New(nc)
	st, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}, Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{Durable: "dst", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		b.Fatal(err)
	}
	// The receiving side on a connection of its own, as a second node.
	rjs, _ := jetstream.New(connect(b, url))
	rcons, err := rjs.Consumer(context.Background(), stream, "dst")
	if err != nil {
		b.Fatal(err)
	}
	consumeCtx, err := rcons.Consume(func(m jetstream.Msg) {
		m.Ack()
		onEvent(int64(binary.BigEndian.Uint64(m.Data())))
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(consumeCtx.Stop)
	var n atomic.Int64
	send := func(sent int64) error {
		msg := &nats.Msg{Subject: stream + ".order.created", Data: stamp(sent)}
		if headers != "" { // values as long as the bridge's
			id := fmt.Sprintf("%020d", n.Add(1))
			msg.Header = nats.Header{jetstream.MsgIDHeader: {id + ".0000000000000000"}} // an event ID and a MAC
			if headers == "+headers" {
				msg.Header["ce-specversion"] = []string{"1.0"}
				msg.Header["ce-id"] = []string{id}
				msg.Header["ce-source"] = []string{"src"}
				msg.Header["ce-type"] = []string{"order.created"}
				msg.Header["ce-time"] = []string{time.Unix(0, sent).UTC().Format(time.RFC3339Nano)}
				msg.Header["ce-datacontenttype"] = []string{"application/octet-stream"}
			}
		}
		if async {
			for {
				_, err := js.PublishMsgAsync(msg)
				if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					return err
				}
			}
		}
		_, err := js.PublishMsg(context.Background(), msg)
		return err
	}
	flush := func() error {
		select {
		case <-js.PublishAsyncComplete():
			return nil
		case <-time.After(time.Minute):
			return fmt.Errorf("async publishes not complete")
		}
	}
	return transport{send: send, flush: flush}
}

func bridgeTransport(b *testing.B, url string, replicas int, pipelined bool, onEvent func(int64)) transport {
	stream := fmt.Sprint("BRIDGE", streams.Add(1))
	mk := func(name, publish, receive string) (*bus.Bus, *natsbus.Bridge) {
		gen, _ := bus.NewGenerator(uint64(len(name)), time.Time{})
		bs, _ := bus.NewBus(gen)
		bs.RegisterTopics("order.created")
		cfg := natsbus.Config{Node: name, Publish: publish, Receive: receive, Stream: stream, Prefix: stream,
			Provision: &natsbus.StreamSettings{Replicas: replicas}, Codec: stampCodec{}}
		if pipelined {
			cfg.MaxInFlight = 1024
		}
		br, err := natsbus.New(context.Background(), bs, connect(b, url), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { br.Close(context.Background()) })
		return bs, br
	}
	src, srcBridge := mk("src", `^order\.`, "")
	dst, _ := mk("dst", "", `^order\.`)
	dst.RegisterHandler("count", &bus.Handler{Matcher: "order", Handle: func(e *bus.Event) { onEvent(e.Data.(int64)) }})
	send := func(sent int64) error {
		_, err := src.Emit(context.Background(), "order.created", sent)
		return err
	}
	return transport{send: send, flush: func() error { return srcBridge.Flush(context.Background()) }}
}

// stampCodec carries an int64 send time in 8 bytes, the raw payload.
type stampCodec struct{}

func (stampCodec) ContentType() string                       { return "application/octet-stream" }
func (stampCodec) Encode(_ string, data any) ([]byte, error) { return stamp(data.(int64)), nil }
func (stampCodec) Decode(_ string, p []byte) (any, error) {
	return int64(binary.BigEndian.Uint64(p)), nil
}

func awaitCount(b testing.TB, n *atomic.Int64, want int64) {
	deadline := time.Now().Add(2 * time.Minute)
	for n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d deliveries; want %d", n.Load(), want)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// BenchmarkReceiveMemory measures how much more memory the two nodes hold
// after they carried b.N events than before: the redelivery dedup is
// bounded by what can be redelivered, so it must not grow with the number
// of events. The server runs in a process of its own, so that its memory
// (block caches, the message IDs of its duplicate window) does not count.
// Run it with -benchtime 500000x for the figure the README states.
func BenchmarkReceiveMemory(b *testing.B) {
	var handled atomic.Int64
	tr := bridgeTransport(b, startServerProcess(b), 1, true, func(int64) { handled.Add(1) })
	if err := tr.send(time.Now().UnixNano()); err != nil { // connections and buffers set up
		b.Fatal(err)
	}
	awaitCount(b, &handled, 1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		if err := tr.send(time.Now().UnixNano()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tr.flush(); err != nil {
		b.Fatal(err)
	}
	awaitCount(b, &handled, int64(b.N)+1)
	b.StopTimer()
	time.Sleep(2 * time.Second) // let the seen set be pruned to the acknowledgement floor
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-growth-MB")
	b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "heap-MB")
	b.ReportMetric(0, "ns/op")
}
