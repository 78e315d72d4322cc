package natsbus_test

import (
	"context"
	"errors"
	"fmt"
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

// waitFor polls cond until it holds, failing the test after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 20*time.Second, what, cond)
}

// waitWithin is waitFor with a deadline of its own, for a promise of
// liveness: a bound the bridge states, with a margin for a loaded machine.
func waitWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func consumerInfo(t *testing.T, nc *nats.Conn, name string) *jetstream.ConsumerInfo {
	t.Helper()
	js, _ := jetstream.New(nc)
	cons, err := js.Consumer(context.Background(), "BUS", name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// settle waits until each named durable consumer has delivered everything
// in the stream and has nothing awaiting acknowledgement. A node
// acknowledges a message after its handlers returned, so a duplicate, an
// echo or a redelivery has been handled by then, and a test can assert on
// what arrived instead of sleeping and hoping it was long enough.
func settle(t *testing.T, nc *nats.Conn, consumers ...string) {
	t.Helper()
	js, _ := jetstream.New(nc)
	for _, name := range consumers {
		waitFor(t, "consumer "+name+" to settle", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			cons, err := js.Consumer(ctx, "BUS", name)
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		})
	}
}

// TestTopicComesFromTheSubject: a client allowed to publish only on
// bus.audit.> cannot make its messages pass for order events by setting
// ce-type; the subject decides, and a disagreeing type is refused.
func TestTopicComesFromTheSubject(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	b := newNode(t, s.ClientURL(), "b", "", "*")
	orders := collect(t, b.bus, "orders", `^order\.`)
	b.bus.RegisterTopics("audit.noted")
	audits := collect(t, b.bus, "audits", `^audit\.`)

	rawPublish(t, b.nc, "bus.audit.noted", "m1", eventHeaders("e1", "order.created"), []byte(`{"ID":"forged"}`))
	rawPublish(t, b.nc, "bus.audit.noted", "m2", eventHeaders("e2", "audit.noted"), []byte(`"noted"`))
	audits.await(t, 1)
	waitFor(t, "the forged message to be rejected", func() bool { return b.bridge.Stats().Rejected == 1 })
	if calls, _ := orders.counts(); calls != 0 {
		t.Errorf("order handler called %d times by a message on bus.audit.noted", calls)
	}
	if e := audits.event("e2"); e == nil || e.Topic != "audit.noted" {
		t.Errorf("audit event = %+v; want topic audit.noted from the subject", e)
	}
	errs := b.errors()
	if len(errs) != 1 || !errors.Is(errs[0], natsbus.ErrMessage) || !strings.Contains(errs[0].Error(), `has type "order.created", not the subject's topic`) {
		t.Errorf("reported %v; want one ErrMessage about the claimed topic", errs)
	}
}

// TestPredictedMessageIDsCannotSuppressEvents (issue 12, defect 1): a
// client that stores messages under the IDs of events before they are
// emitted does not make the stream drop them.
func TestPredictedMessageIDsCannotSuppressEvents(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	b := newNode(t, s.ClientURL(), "b", "", `^order\.`)
	got := collect(t, b.bus, "orders", `^order\.`)
	b.bus.RegisterTopics("audit.noted")

	const events = 50
	for i := range events {
		rawPublish(t, a.nc, "bus.audit.noted", fmt.Sprint("event-", i), nil, []byte(`{}`))
	}
	for i := range events {
		if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}, bus.WithID(fmt.Sprint("event-", i))); err != nil {
			t.Fatalf("Emit %d: %v", i, err)
		}
	}
	got.await(t, events)
	if st := a.bridge.Stats(); st.Published != events {
		t.Errorf("A Stats() = %+v; want %d published", st, events)
	}
}

// TestOwnEventsAreNotHandledTwice (defect 2): a node that publishes and
// receives the same topic handles its own events once, whatever their
// Source.
func TestOwnEventsAreNotHandledTwice(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, `^order\.`)
	got := collect(t, a.bus, "orders", `^order\.`)
	for i := range 10 {
		if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}, bus.WithSource("other")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "A to read its events back", func() bool { return a.bridge.Stats().Own == 10 })
	if calls, _ := got.counts(); calls != 10 {
		t.Errorf("A handled %d events; want 10", calls)
	}
}

// TestForgedSourceIsNotDroppedSilently (defect 3): a message claiming to
// come from the receiving node is not taken for its own; with a garbage
// payload it is rejected, counted and reported.
func TestForgedSourceIsNotDroppedSilently(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	b := newNode(t, s.ClientURL(), "b", "", `^order\.`)
	h := eventHeaders("e1", "order.created")
	h["ce-source"] = "b"
	rawPublish(t, b.nc, "bus.order.created", "m1", h, []byte("garbage"))
	waitFor(t, "the message to be rejected", func() bool { return b.bridge.Stats().Rejected == 1 })
	if errs := b.errors(); len(errs) != 1 || !errors.Is(errs[0], natsbus.ErrMessage) {
		t.Errorf("reported %v; want one ErrMessage", errs)
	}
	if st := b.bridge.Stats(); st.Own != 0 {
		t.Errorf("Stats() = %+v; want nothing taken for B's own", st)
	}
}

// TestStreamIsUsedAsProvisioned (defects 4 and 5): nodes never rewrite the
// operator's stream; settings that conflict are refused with a clear
// error; a stream the bridge creates has bounded defaults.
func TestStreamIsUsedAsProvisioned(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	nc := connect(t, s.ClientURL())
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	b, _ := bus.NewBus(bus.Next(func() string { return "id" }))

	if _, err := natsbus.New(ctx, b, nc, natsbus.Config{Node: "a", Publish: "*"}); err == nil || !strings.Contains(err.Error(), "stream BUS does not exist") {
		t.Errorf("New without a stream or Provision: err = %v; want the missing stream named", err)
	}

	operator := jetstream.StreamConfig{Name: "BUS", Subjects: []string{"bus.>"}, Storage: jetstream.FileStorage,
		MaxAge: time.Hour, MaxBytes: 1 << 30, Duplicates: 2 * time.Minute}
	if _, err := js.CreateStream(ctx, operator); err != nil {
		t.Fatal(err)
	}
	br, err := natsbus.New(ctx, b, nc, natsbus.Config{Node: "a", Publish: "*", Receive: "*"})
	if err != nil {
		t.Fatal(err)
	}
	br.Close(ctx)
	_, err = natsbus.New(ctx, b, nc, natsbus.Config{Node: "a", Publish: "*", PublishTimeout: 5 * time.Minute})
	if err == nil || !strings.Contains(err.Error(), "remembers message IDs for 2m0s, less than PublishTimeout 5m0s") {
		t.Errorf("New with retries outlasting the Duplicates window: err = %v; want both durations named", err)
	}
	br, err = natsbus.New(ctx, b, nc, natsbus.Config{Node: "a", Receive: "*", PublishTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatalf("New receiving only: %v; the Duplicates window matters to publishers alone", err)
	}
	br.Close(ctx)
	_, err = natsbus.New(ctx, b, nc, natsbus.Config{Node: "a", Provision: &natsbus.StreamSettings{Duplicates: time.Second, MaxAge: time.Hour}})
	if err == nil || !strings.Contains(err.Error(), "Duplicates is 2m0s, Config.Provision asks for 1s") || strings.Contains(err.Error(), "MaxAge") {
		t.Errorf("New with a conflicting Provision: err = %v; want the Duplicates conflict named", err)
	}
	st, err := js.Stream(ctx, "BUS")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config; got.MaxAge != operator.MaxAge || got.MaxBytes != operator.MaxBytes || got.Duplicates != operator.Duplicates {
		t.Errorf("stream after nodes started: MaxAge %v, MaxBytes %d, Duplicates %v; want the operator's", got.MaxAge, got.MaxBytes, got.Duplicates)
	}

	br, err = natsbus.New(ctx, b, nc, natsbus.Config{Node: "a", Stream: "NEW", Prefix: "new", Provision: &natsbus.StreamSettings{}})
	if err != nil {
		t.Fatal(err)
	}
	br.Close(ctx)
	st, err = js.Stream(ctx, "NEW")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config; got.MaxAge != 24*time.Hour || got.MaxBytes != 1<<30 || got.Duplicates != 2*time.Minute || got.Replicas != 1 {
		t.Errorf("created stream: MaxAge %v, MaxBytes %d, Duplicates %v, Replicas %d; want the documented defaults", got.MaxAge, got.MaxBytes, got.Duplicates, got.Replicas)
	}
}

// TestPermanentPublishErrorsFailAtOnce (defect 6): with a PublishTimeout of
// an hour, an oversized event and a deleted stream still fail the Emit
// without retrying; a retry would time the test out.
func TestPermanentPublishErrorsFailAtOnce(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNodeWith(t, s.ClientURL(), "a", `^order\.`, "", func(c *natsbus.Config) {
		c.PublishTimeout, c.Provision = time.Hour, &natsbus.StreamSettings{Duplicates: time.Hour}
	})

	big := Order{ID: strings.Repeat("x", int(a.nc.MaxPayload()))}
	_, err := a.bus.Emit(context.Background(), "order.created", big)
	want := fmt.Sprintf("the server's max payload %d bytes", a.nc.MaxPayload())
	if !errors.Is(err, natsbus.ErrTooLarge) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the message is ") {
		t.Errorf("Emit(oversized) err = %v; want ErrTooLarge naming both sizes", err)
	}

	js, _ := jetstream.New(a.nc)
	if err := js.DeleteStream(context.Background(), "BUS"); err != nil {
		t.Fatal(err)
	}
	_, err = a.bus.Emit(context.Background(), "order.created", Order{ID: "A-1"})
	if err == nil || !strings.Contains(err.Error(), "stream BUS does not exist") {
		t.Errorf("Emit with the stream deleted: err = %v; want the missing stream named", err)
	}
}

// TestReceiverRecoversFromDeletedConsumerAndStream (defect 7).
func TestReceiverRecoversFromDeletedConsumerAndStream(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	b := newNode(t, s.ClientURL(), "b", "", `^order\.`)
	got := collect(t, b.bus, "orders", `^order\.`)
	js, _ := jetstream.New(a.nc)
	ctx := context.Background()
	emit := func(id string) {
		t.Helper()
		if _, err := a.bus.Emit(ctx, "order.created", Order{ID: id}); err != nil {
			t.Fatal(err)
		}
	}

	emit("1")
	got.await(t, 1)
	if err := js.DeleteConsumer(ctx, "BUS", "b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to recreate its consumer", func() bool {
		_, err := js.Consumer(ctx, "BUS", "b")
		return err == nil
	})
	emit("2")
	got.await(t, 2)

	reported := len(b.errors())
	if err := js.DeleteStream(ctx, "BUS"); err != nil {
		t.Fatal(err)
	}
	// B notices, says so, and retries with back-off.
	waitFor(t, "B to report the stream's loss", func() bool { return len(b.errors()) > reported })
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BUS", Subjects: []string{"bus.>"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to recreate its consumer on the new stream", func() bool {
		_, err := js.Consumer(ctx, "BUS", "b")
		return err == nil
	})
	emit("3")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("B reported: %v", b.errors())
		}
	})
	got.await(t, 3)
	if calls, distinct := got.counts(); calls != 3 || distinct != 3 {
		t.Errorf("B handled %d events (%d distinct); want 3", calls, distinct)
	}
	if len(b.errors()) == 0 {
		t.Error("B reported nothing about losing its consumer")
	}
}

// TestCloseHandsBackBufferedMessages (defect 8): what a closing node had
// fetched but not handled is delivered again at once, not after AckWait,
// and nothing is handled twice.
func TestCloseHandsBackBufferedMessages(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	slowAck := func(c *natsbus.Config) { c.AckWait = time.Minute }
	b1 := newNodeWith(t, s.ClientURL(), "b", "", `^order\.`, slowAck)
	var mu sync.Mutex
	handled := map[string]int{}
	record := func(e *bus.Event) {
		mu.Lock()
		handled[e.ID]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	b1.bus.RegisterHandler("orders", &bus.Handler{Matcher: "order", Handle: record})

	const events = 300
	for i := range events {
		if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "B to start handling", func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) >= 20 })
	if err := b1.bridge.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := len(handled)
	mu.Unlock()

	b2 := newNodeWith(t, s.ClientURL(), "b", "", `^order\.`, slowAck)
	b2.bus.RegisterHandler("orders", &bus.Handler{Matcher: "order", Handle: record})
	// Well within AckWait (a minute): the rest came back at once.
	waitFor(t, "every event", func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) == events })
	t.Logf("first node handled %d events before closing", before)
	for id, n := range handled {
		if n != 1 {
			t.Errorf("event %s handled %d times", id, n)
		}
	}
}

// TestSlowHandlersCauseNoRedeliveries (defect 9): handlers of 10 ms with an
// AckWait of 1 s: the buffer shrinks and progress is signalled, so the
// server delivers every message once.
func TestSlowHandlersCauseNoRedeliveries(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	b := newNode(t, s.ClientURL(), "b", "", `^order\.`) // AckWait: 1s
	var calls atomic.Int64
	b.bus.RegisterHandler("slow", &bus.Handler{Matcher: "order", Handle: func(*bus.Event) {
		calls.Add(1)
		time.Sleep(10 * time.Millisecond)
	}})
	const events = 300
	for i := range events {
		if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every event", func() bool { return calls.Load() >= events })
	settle(t, b.nc, "b")
	info := consumerInfo(t, b.nc, "b")
	if calls.Load() != events || info.NumRedelivered != 0 || b.bridge.Stats().Duplicates != 0 {
		t.Errorf("%d calls, %d redelivered, stats %+v; want %d calls and no redelivery", calls.Load(), info.NumRedelivered, b.bridge.Stats(), events)
	}
}

// TestLastDeliveryIsHandledAndReported: a message whose deliveries were
// used up without this node handling it (here: naked on purpose through
// a raw consumer, standing in for buffers handed back on reconnects) is
// handled on its last delivery and reported, not terminated unhandled,
// which lost events in the fault suite's seed 8.
func TestLastDeliveryIsHandledAndReported(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	// Deliver four times to a consumer that naks, then start the bridge on
	// it with MaxDeliver 5: the fifth delivery is its last.
	nc := connect(t, s.ClientURL())
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BUS", Subjects: []string{"bus.>"}})
	if err != nil {
		t.Fatal(err)
	}
	rawPublish(t, nc, "bus.order.created", "m1", eventHeaders("poison", "order.created"), []byte(`{"ID":"P"}`))
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "b", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy, MaxDeliver: 5})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		msg, err := cons.Next()
		if err != nil {
			t.Fatal(err)
		}
		msg.Nak()
	}
	var got *collector
	b := startNode(t, s.ClientURL(), "b", "", `^order\.`, func(b *bus.Bus) { got = collect(t, b, "orders", "order") }, nil)
	got.await(t, 1)
	waitFor(t, "the last delivery acknowledged", func() bool {
		info := consumerInfo(t, nc, "b")
		return info.NumAckPending == 0 && info.NumPending == 0 && info.NumRedelivered == 0
	})
	if calls, _ := got.counts(); calls != 1 {
		t.Errorf("handler called %d times; want once, on the last delivery", calls)
	}
	if st := b.bridge.Stats(); st.Received != 1 || st.Rejected != 0 {
		t.Errorf("Stats() = %+v; want 1 received, none rejected", st)
	}
	if errs := b.errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "delivered 5 times without being acknowledged; handling it on its last delivery") {
		t.Errorf("reported %v; want the last delivery named", errs)
	}
}

// TestGroupsShareAndNodesFanOut (defect 10): nodes of one Group share the
// events; nodes without a Group each receive all of them.
func TestGroupsShareAndNodesFanOut(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	group := func(c *natsbus.Config) { c.Group = "billing" }
	r1 := newNodeWith(t, s.ClientURL(), "billing-1", "", `^order\.`, group)
	r2 := newNodeWith(t, s.ClientURL(), "billing-2", "", `^order\.`, group)
	f1 := newNode(t, s.ClientURL(), "audit-1", "", `^order\.`)
	f2 := newNode(t, s.ClientURL(), "audit-2", "", `^order\.`)
	g1, g2 := collect(t, r1.bus, "o", "order"), collect(t, r2.bus, "o", "order")
	a1, a2 := collect(t, f1.bus, "o", "order"), collect(t, f2.bus, "o", "order")

	const events = 100
	for i := range events {
		if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	a1.await(t, events)
	a2.await(t, events)
	waitFor(t, "the group to handle every event", func() bool {
		n1, _ := g1.counts()
		n2, _ := g2.counts()
		return n1+n2 >= events
	})
	settle(t, a.nc, "billing", "audit-1", "audit-2")
	n1, _ := g1.counts()
	n2, _ := g2.counts()
	ids := map[string]bool{}
	for _, c := range []*collector{g1, g2} {
		c.mu.Lock()
		for id := range c.events {
			if ids[id] {
				t.Errorf("event %s handled by both replicas", id)
			}
			ids[id] = true
		}
		c.mu.Unlock()
	}
	if n1+n2 != events || len(ids) != events {
		t.Errorf("group handled %d+%d events (%d distinct); want %d in all", n1, n2, len(ids), events)
	}
	if c1, _ := a1.counts(); c1 != events {
		t.Errorf("fan-out node handled %d; want %d", c1, events)
	}
}

// TestServerFiltersSubjects (defect 11): a node receiving invoices has a
// consumer filtered to them, so orders never reach it.
func TestServerFiltersSubjects(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `*`, "")
	b := newNode(t, s.ClientURL(), "b", "", `^invoice\.`)
	got := collect(t, b.bus, "invoices", "invoice")
	for i := range 20 {
		a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)})
	}
	a.bus.Emit(context.Background(), "invoice.created", 5)
	got.await(t, 1)
	info := consumerInfo(t, b.nc, "b")
	if !slices.Equal(info.Config.FilterSubjects, []string{"bus.invoice.>"}) && info.Config.FilterSubject != "bus.invoice.>" {
		t.Errorf("consumer filters %q %q; want bus.invoice.>", info.Config.FilterSubjects, info.Config.FilterSubject)
	}
	if info.Delivered.Consumer != 1 {
		t.Errorf("consumer delivered %d messages; want only the invoice", info.Delivered.Consumer)
	}
}

// TestReplay: a new node replays all, or from a time; by default it gets
// only new events.
func TestReplay(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	emit(0, 5)
	time.Sleep(20 * time.Millisecond)
	since := time.Now()
	emit(5, 8)

	tests := []struct {
		name   string
		replay natsbus.Replay
		want   int
	}{
		{"new", natsbus.ReplayNew, 1},
		{"all", natsbus.ReplayAll, 9},
		{"since", natsbus.ReplaySince(since), 4},
	}
	nodes := make([]*collector, len(tests))
	for i, tt := range tests {
		// The handler comes first: the replayed events arrive as soon as
		// the bridge starts.
		startNode(t, s.ClientURL(), "replay-"+tt.name, "", `^order\.`,
			func(b *bus.Bus) { nodes[i] = collect(t, b, "orders", "order") },
			func(c *natsbus.Config) { c.Replay = tt.replay })
	}
	emit(8, 9)
	for i, tt := range tests {
		nodes[i].await(t, tt.want)
	}
	settle(t, connect(t, s.ClientURL()), "replay-new", "replay-all", "replay-since")
	for i, tt := range tests {
		if calls, _ := nodes[i].counts(); calls != tt.want {
			t.Errorf("Replay %s: %d events; want %d", tt.name, calls, tt.want)
		}
	}
}

// TestPipelined: Emit returns before the stream confirms; Flush waits for
// the confirmations; failures after Emit reach OnError and Flush.
func TestPipelined(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNodeWith(t, s.ClientURL(), "a", `^order\.`, "", func(c *natsbus.Config) { c.MaxInFlight = 64 })
	b := newNode(t, s.ClientURL(), "b", "", `^order\.`)
	got := collect(t, b.bus, "orders", "order")
	const events = 1000
	for i := range events {
		if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.bridge.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := a.bridge.Stats(); st.Published != events {
		t.Errorf("after Flush, Stats() = %+v; want %d published", st, events)
	}
	got.await(t, events)

	// A publish that fails after Emit returned: the stream is gone.
	js, _ := jetstream.New(a.nc)
	if err := js.DeleteStream(context.Background(), "BUS"); err != nil {
		t.Fatal(err)
	}
	// Flush returns every one of them, as errgroup would, not the first.
	var lost []*bus.Event
	for i := range 3 {
		e, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint("lost-", i)})
		if err != nil {
			t.Fatalf("pipelined Emit returned %v; want nil, the failure coming later", err)
		}
		lost = append(lost, e)
	}
	err := a.bridge.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "3 publishes failed") {
		t.Errorf("Flush() = %v; want the 3 failures", err)
	}
	for _, e := range lost {
		if err == nil || !strings.Contains(err.Error(), "event "+e.ID+" on order.created") {
			t.Errorf("Flush() = %v; want a failure naming event %s and its topic", err, e.ID)
		}
	}
	if st := a.bridge.Stats(); st.Failed != 3 {
		t.Errorf("Stats() = %+v; want 3 failed", st)
	}
	if errs := a.errors(); len(errs) != 3 {
		t.Errorf("OnError got %v; want the 3 failures", errs)
	}
	if err := a.bridge.Flush(context.Background()); err != nil {
		t.Errorf("second Flush() = %v; want nil: the failures were returned already", err)
	}
}

// TestPipelinedLostAcknowledgements: publishes whose acknowledgements never
// arrive are published again once overdue, and stored once each.
func TestPipelinedLostAcknowledgements(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNodeWith(t, s.ClientURL(), "a", `^order\.`, "", func(c *natsbus.Config) { c.MaxInFlight = 256 })
	b := newNode(t, s.ClientURL(), "b", "", `^order\.`)
	got := collect(t, b.bus, "orders", "order")
	if err := natsbus.LoseAcknowledgements(a.bridge); err != nil {
		t.Fatal(err)
	}
	const events = 200
	for i := range events {
		if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.bridge.Flush(context.Background()); err != nil {
		t.Fatalf("Flush() = %v; want nil: every publish was stored", err)
	}
	if st := a.bridge.Stats(); st.Published != events || st.Failed != 0 {
		t.Errorf("Stats() = %+v; want %d published, none failed", st, events)
	}
	got.await(t, events)
	settle(t, b.nc, "b")
	if calls, distinct := got.counts(); calls != events || distinct != events {
		t.Errorf("B handled %d events (%d distinct); want %d each", calls, distinct, events)
	}
	js, _ := jetstream.New(a.nc)
	st, err := js.Stream(context.Background(), "BUS")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != events {
		t.Errorf("stream holds %d messages; want %d", n, events)
	}
}
