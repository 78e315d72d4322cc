package natsbus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var streams atomic.Int64

// BenchmarkBridge compares events carried by two bridges with the same
// traffic on raw nats.go JetStream: a synchronous publish per event (the
// bridge's Emit waits for the stored acknowledgement) and a durable consumer
// acknowledging each message. "throughput" publishes b.N events, then waits
// for all; "latency" waits for each event before sending the next.
//
// The publishing node receives nothing, so it has no consumer. A node that
// both publishes and receives also reads its own events back, since
// JetStream cannot exclude them, and acknowledges them unhandled:
// "raw+echo" shows what that costs, adding such a consumer on the
// publisher's connection and the headers carrying the event's fields to the
// raw traffic.
func BenchmarkBridge(b *testing.B) {
	s := startServer(b, b.TempDir(), -1)
	for _, mode := range []string{"throughput", "latency"} {
		b.Run("bridged/"+mode, func(b *testing.B) {
			stream := fmt.Sprint("BRIDGE", streams.Add(1))
			var delivered atomic.Int64
			mk := func(name, publish, receive string) *bus.Bus {
				bs, _ := bus.NewBus(bus.Next(func() string { return fmt.Sprint(name, streams.Add(1)) }))
				bs.RegisterTopics("order.created")
				br, err := natsbus.New(context.Background(), bs, connect(b, s.ClientURL()), natsbus.Config{Node: name, Publish: publish, Receive: receive, Stream: stream, Prefix: stream, Provision: &natsbus.StreamSettings{}})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { br.Close(context.Background()) })
				return bs
			}
			src, dst := mk("src", `^order\.`, ""), mk("dst", "", ".*")
			dst.RegisterHandler("count", &bus.Handler{Matcher: ".*", Handle: func(*bus.Event) { delivered.Add(1) }})
			payload := Order{ID: "A-1", Cents: 100}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := src.Emit(context.Background(), "order.created", payload); err != nil {
					b.Fatal(err)
				}
				if mode == "latency" {
					awaitCount(b, &delivered, int64(i+1))
				}
			}
			awaitCount(b, &delivered, int64(b.N))
		})
		for _, echo := range []bool{false, true} {
			name := "raw/"
			if echo {
				name = "raw+echo/"
			}
			b.Run(name+mode, func(b *testing.B) {
				stream := fmt.Sprint("RAW", streams.Add(1))
				nc := connect(b, s.ClientURL())
				js, _ := jetstream.New(nc)
				st, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}, Storage: jetstream.FileStorage})
				if err != nil {
					b.Fatal(err)
				}
				cons, err := st.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{Durable: "dst", AckPolicy: jetstream.AckExplicitPolicy})
				if err != nil {
					b.Fatal(err)
				}
				if echo {
					own, err := st.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{Durable: "src", AckPolicy: jetstream.AckExplicitPolicy})
					if err != nil {
						b.Fatal(err)
					}
					occ, err := own.Consume(func(m jetstream.Msg) { m.Ack() })
					if err != nil {
						b.Fatal(err)
					}
					defer occ.Stop()
				}
				var delivered atomic.Int64
				cc, err := cons.Consume(func(m jetstream.Msg) { m.Ack(); delivered.Add(1) })
				if err != nil {
					b.Fatal(err)
				}
				defer cc.Stop()
				pub := connect(b, s.ClientURL())
				pjs, _ := jetstream.New(pub)
				payload := []byte(`{"ID":"A-1","Cents":100}`)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					msg := &nats.Msg{Subject: stream + ".order.created", Data: payload, Header: nats.Header{}}
					if echo {
						// The same event fields the bridge carries.
						id := fmt.Sprint("src", i)
						msg.Header.Set(natsbus.HeaderID, id)
						msg.Header.Set(natsbus.HeaderTxID, id)
						msg.Header.Set(natsbus.HeaderTopic, "order.created")
						msg.Header.Set(natsbus.HeaderSource, "src")
						msg.Header.Set(natsbus.HeaderOccurredAt, "1763800000000000000")
					}
					if _, err := pjs.PublishMsg(context.Background(), msg, jetstream.WithMsgID(fmt.Sprint(i))); err != nil {
						b.Fatal(err)
					}
					if mode == "latency" {
						awaitCount(b, &delivered, int64(i+1))
					}
				}
				awaitCount(b, &delivered, int64(b.N))
			})
		}
	}
}

func awaitCount(b *testing.B, n *atomic.Int64, want int64) {
	deadline := time.Now().Add(30 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d deliveries; want %d", n.Load(), want)
		}
		time.Sleep(20 * time.Microsecond)
	}
}
