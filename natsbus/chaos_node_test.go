package natsbus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats.go"
)

// nodeSpec is one bus process of the fault suite: the publisher, or a
// receiving node (alone, or a member of Group).
type nodeSpec struct {
	Name           string // the process, and its bridge's Node
	Group          string
	Publish        bool
	MaxInFlight    int
	URLs           string // the client proxies, comma-separated
	History        string // the file its records are appended to
	Inc            int    // incarnation
	AckWait        time.Duration
	PublishTimeout time.Duration
	Interval       time.Duration // between the publisher's Emits
}

// record is one line of a node's history. K says what happened:
//
//	intent   the publisher is about to emit N (written first: a kill may come before emit)
//	emit     Emit of N returned, in Dur, with Err; the event's identity
//	flush    Flush returned Err after Dur; it covered the emits up to N
//	error    OnError was called with Err
//	handled  a handler was called with the event
//	closed   Close returned Err after Dur
type record struct {
	K    string `json:"k"`
	Inc  int    `json:"inc"`
	N    int    `json:"n,omitempty"`
	ID   string `json:"id,omitempty"`
	Tx   string `json:"tx,omitempty"`
	Src  string `json:"src,omitempty"`
	At   int64  `json:"at,omitempty"`
	Data string `json:"data,omitempty"`
	Err  string `json:"err,omitempty"`
	T    int64  `json:"t"`
	Dur  int64  `json:"dur,omitempty"`
}

// history appends records to a file, one write each, so that what a
// process recorded before it was killed is in the file.
type history struct {
	mu  sync.Mutex
	f   *os.File
	inc int
}

func (h *history) add(r record) {
	r.Inc, r.T = h.inc, time.Now().UnixNano()
	line, _ := json.Marshal(r)
	h.mu.Lock()
	h.f.Write(append(line, '\n'))
	h.mu.Unlock()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// eventData names the n-th event of a publisher's incarnation inc.
func eventData(inc, n int) Order { return Order{ID: fmt.Sprintf("%d-%d", inc, n), Cents: n} }

func runNode(specJSON []byte) error {
	var s nodeSpec
	if err := json.Unmarshal(specJSON, &s); err != nil {
		return err
	}
	f, err := os.OpenFile(s.History, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	h := &history{f: f, inc: s.Inc}
	gen, err := bus.NewGenerator(uint64(s.Inc), time.Time{})
	if err != nil {
		return err
	}
	b, err := bus.NewBus(gen)
	if err != nil {
		return err
	}
	if err := b.RegisterTopics("order.created"); err != nil {
		return err
	}
	var slow atomic.Bool
	if !s.Publish {
		err := b.RegisterHandler("history", &bus.Handler{Matcher: "^order\\.created$", Handle: func(e *bus.Event) {
			o := e.Data.(Order)
			h.add(record{K: "handled", ID: e.ID, Tx: e.TxID, Src: e.Source, At: e.OccurredAt, Data: o.ID, N: o.Cents})
			if slow.CompareAndSwap(true, false) {
				time.Sleep(s.AckWait * 3 / 2) // longer than AckWait: progress signals must prevent a redelivery
			}
		}})
		if err != nil {
			return err
		}
	}
	nc, err := nats.Connect(s.URLs, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.DontRandomize())
	if err != nil {
		return err
	}
	defer nc.Close()
	cfg := natsbus.Config{
		Node: s.Name, Group: s.Group, Codec: codec, AckWait: s.AckWait, MaxBatch: 64,
		MaxInFlight: s.MaxInFlight, PublishTimeout: s.PublishTimeout,
		OnError: func(err error) { h.add(record{K: "error", Err: err.Error()}) },
	}
	if s.Publish {
		cfg.Publish = `^order\.`
	} else {
		cfg.Receive = `^order\.`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	br, err := natsbus.New(ctx, b, nc, cfg)
	if err != nil {
		return fmt.Errorf("New after %v: %w", time.Since(start), err)
	}
	fmt.Println("ready")

	stop := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "slow" {
				slow.Store(true)
			}
		}
		close(stop)
	}()
	if s.Publish {
		publishUntil(stop, b, br, h, s)
	} else {
		<-stop
	}
	start = time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), s.PublishTimeout+30*time.Second)
	defer cancel()
	err = br.Close(ctx)
	h.add(record{K: "closed", Err: errText(err), Dur: int64(time.Since(start))})
	return nil
}

// publishUntil emits an event every s.Interval until stop, then flushes.
// In pipelined mode it flushes every 100 events as well.
func publishUntil(stop chan struct{}, b *bus.Bus, br *natsbus.Bridge, h *history, s nodeSpec) {
	flush := func(n int) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), s.PublishTimeout+30*time.Second)
		err := br.Flush(ctx)
		cancel()
		h.add(record{K: "flush", N: n, Err: errText(err), Dur: int64(time.Since(start))})
	}
	tick := time.NewTicker(s.Interval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-stop:
			flush(n - 1)
			return
		case <-tick.C:
		}
		d := eventData(s.Inc, n)
		var opts []bus.EmitOption
		if n%2 == 0 {
			opts = append(opts, bus.WithTxID("tx-"+d.ID)) // the other half start their transaction
		}
		h.add(record{K: "intent", N: n, Data: d.ID})
		start := time.Now()
		e, err := b.Emit(context.Background(), "order.created", d, opts...)
		r := record{K: "emit", N: n, Data: d.ID, Err: errText(err), Dur: int64(time.Since(start))}
		if e != nil {
			r.ID, r.Tx, r.Src, r.At = e.ID, e.TxID, e.Source, e.OccurredAt
		}
		h.add(r)
		if s.MaxInFlight > 0 && n%100 == 0 {
			flush(n)
		}
	}
}
