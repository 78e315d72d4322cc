package sdktest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

type Order struct {
	ID    string
	Cents int
}

// startServer starts an embedded NATS server with JetStream, stopped when
// the test ends, and returns a connection to it.
func startServer(t *testing.T) *nats.Conn {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// received is what one bus handler saw.
type received struct {
	e     *bus.Event
	order Order
}

// node is a bus joined to the stream, with a typed handler on
// order.created and the errors its bridge reported.
type node struct {
	bridge *natsbus.Bridge
	bus    *bus.Bus
	events chan received
	mu     sync.Mutex
	errs   []error
}

func newNode(t *testing.T, nc *nats.Conn, name, publish, receive string) *node {
	t.Helper()
	gen, err := bus.NewGenerator(uint64(len(name)), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.NewBus(gen)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{bus: b, events: make(chan received, 16)}
	orders, err := bus.NewTopic[Order](b, "order.created")
	if err != nil {
		t.Fatal(err)
	}
	if err := orders.Handle("orders", func(e *bus.Event, o Order) { n.events <- received{e, o} }); err != nil {
		t.Fatal(err)
	}
	n.bridge, err = natsbus.New(context.Background(), b, nc, natsbus.Config{
		Node: name, Publish: publish, Receive: receive, Provision: &natsbus.StreamSettings{},
		OnError: func(err error) { n.mu.Lock(); n.errs = append(n.errs, err); n.mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.bridge.Close(context.Background()) })
	return n
}

func (n *node) errors() []error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]error(nil), n.errs...)
}

// sdkSender returns a CloudEvents client that publishes on subject.
func sdkSender(t *testing.T, nc *nats.Conn, subject string) cloudevents.Client {
	t.Helper()
	sender, err := cejs.NewSenderFromConn(nc, "BUS", subject, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shopEvent is a CloudEvent from the shop, a service in another language.
func shopEvent(id, typ string) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("/shop/python")
	e.SetType(typ)
	return e
}

// modes are the CloudEvents content modes an SDK sender can use.
var modes = []struct {
	name string
	ctx  func(context.Context) context.Context
}{
	{"binary", cloudevents.WithEncodingBinary},
	{"structured", cloudevents.WithEncodingStructured},
}

// TestSDKEventsReachBusHandlers: an event sent with the CloudEvents SDK, in
// either content mode, reaches a typed bus handler with its ID, TxID,
// source, topic, time and data.
func TestSDKEventsReachBusHandlers(t *testing.T) {
	at := time.Date(2026, 12, 3, 15, 4, 5, 123456789, time.FixedZone("CET", 3600))
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			nc := startServer(t)
			billing := newNode(t, nc, "billing", "", `^order\.`)
			client := sdkSender(t, nc, "bus.order.created")

			e := shopEvent("py-42", "order.created")
			e.SetTime(at)
			e.SetExtension("txid", "py-41")
			if err := e.SetData(cloudevents.ApplicationJSON, Order{ID: "A-1", Cents: 250}); err != nil {
				t.Fatal(err)
			}
			if res := client.Send(mode.ctx(context.Background()), e); !cloudevents.IsACK(res) {
				t.Fatalf("Send: %v", res)
			}
			got := await(t, billing)
			if got.e.ID != "py-42" || got.e.TxID != "py-41" || got.e.Source != "/shop/python" || got.e.Topic != "order.created" ||
				got.e.OccurredAt != at.UnixNano() || got.order != (Order{ID: "A-1", Cents: 250}) {
				t.Errorf("handled %+v with %+v", got.e, got.order)
			}
			if errs := billing.errors(); len(errs) != 0 {
				t.Errorf("reported %v", errs)
			}
		})
	}
}

// TestSDKEventWithoutTimeOrTxID: the time becomes when the stream stored
// the message, the TxID the event's ID.
func TestSDKEventWithoutTimeOrTxID(t *testing.T) {
	nc := startServer(t)
	billing := newNode(t, nc, "billing", "", `^order\.`)
	client := sdkSender(t, nc, "bus.order.created")
	e := shopEvent("py-1", "order.created")
	e.SetData(cloudevents.ApplicationJSON, Order{ID: "A-2"})
	before := time.Now()
	if res := client.Send(context.Background(), e); !cloudevents.IsACK(res) {
		t.Fatalf("Send: %v", res)
	}
	got := await(t, billing)
	if got.e.TxID != "py-1" {
		t.Errorf("TxID = %q; want the ID", got.e.TxID)
	}
	if at := time.Unix(0, got.e.OccurredAt); at.Before(before.Add(-time.Second)) || at.After(time.Now()) {
		t.Errorf("OccurredAt = %v; want when it was stored, about %v", at, before)
	}
}

// TestNATSToolPublishReachesBusHandlers publishes as the README tells a
// user of the nats command line tool to: a core NATS request with the
// ce-* headers and a JSON payload, no time.
func TestNATSToolPublishReachesBusHandlers(t *testing.T) {
	nc := startServer(t)
	billing := newNode(t, nc, "billing", "", `^order\.`)
	msg := nats.NewMsg("bus.order.created")
	for _, h := range []string{"ce-specversion:1.0", "ce-id:cli-1", "ce-source:cli", "ce-type:order.created"} {
		k, v, _ := strings.Cut(h, ":")
		msg.Header.Add(k, v) // as the tool's -H does
	}
	msg.Data = []byte(`{"ID":"A-3","Cents":100}`)
	if _, err := nc.RequestMsg(msg, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got := await(t, billing)
	if got.e.ID != "cli-1" || got.e.Source != "cli" || got.order != (Order{ID: "A-3", Cents: 100}) {
		t.Errorf("handled %+v with %+v", got.e, got.order)
	}
}

// TestSDKEventsThatAreNotTheSubjectsAreRejected: the subject decides the
// topic. A CloudEvent whose type names another topic, or whose data the
// codec cannot decode, is rejected and reported, in either mode, and never
// reaches a handler.
func TestSDKEventsThatAreNotTheSubjectsAreRejected(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			nc := startServer(t)
			billing := newNode(t, nc, "billing", "", `^order\.`)
			if _, err := bus.NewTopic[Order](billing.bus, "order.paid"); err != nil {
				t.Fatal(err)
			}
			client := sdkSender(t, nc, "bus.order.created")
			send := func(id, typ, contentType string, data any) {
				e := shopEvent(id, typ)
				if err := e.SetData(contentType, data); err != nil {
					t.Fatal(err)
				}
				if res := client.Send(mode.ctx(context.Background()), e); !cloudevents.IsACK(res) {
					t.Fatalf("Send: %v", res)
				}
			}
			send("forged", "order.paid", cloudevents.ApplicationJSON, Order{ID: "F"})
			send("text", "order.created", cloudevents.TextPlain, "A-9")
			send("good", "order.created", cloudevents.ApplicationJSON, Order{ID: "A-4"})
			if got := await(t, billing); got.e.ID != "good" {
				t.Errorf("handled %s first; want only the good event", got.e.ID)
			}
			st := billing.bridge.Stats()
			if st.Rejected != 2 || st.Received != 1 {
				t.Errorf("Stats() = %+v; want 2 rejected, 1 received", st)
			}
			errs := billing.errors()
			want := []string{`has type "order.paid", not the subject's topic`, `has datacontenttype "text/plain"`}
			if len(errs) != len(want) {
				t.Fatalf("reported %v; want %d errors", errs, len(want))
			}
			for i, err := range errs {
				if !errors.Is(err, natsbus.ErrMessage) || !strings.Contains(err.Error(), want[i]) {
					t.Errorf("reported %v; want ErrMessage saying %s", err, want[i])
				}
			}
		})
	}
}

// TestBusEventsReachSDKConsumers: an event emitted on a bus arrives at a
// CloudEvents SDK consumer as a valid CloudEvent with the same attributes
// and data.
func TestBusEventsReachSDKConsumers(t *testing.T) {
	nc := startServer(t)
	shop := newNode(t, nc, "shop", `^order\.`, "")
	consumer, err := cejs.NewConsumerFromConn(nc, "BUS", "bus.order.created", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(consumer)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan cloudevents.Event, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- client.StartReceiver(ctx, func(e cloudevents.Event) { events <- e }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("StartReceiver: %v", err)
		}
	})

	at := time.Date(2026, 12, 3, 14, 4, 5, 123456789, time.UTC)
	emitted, err := shop.bus.Emit(context.Background(), "order.created", Order{ID: "A-5", Cents: 990},
		bus.WithTxID("tx-1"), bus.WithSource("shop/web"), bus.WithOccurredAt(at))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := shop.bus.Emit(context.Background(), "order.created", Order{ID: "A-6"})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's receiver calls its func on several goroutines: the events
	// may arrive in either order.
	got := map[string]cloudevents.Event{}
	for len(got) < 2 {
		select {
		case e := <-events:
			got[e.ID()] = e
		case <-time.After(10 * time.Second):
			t.Fatalf("%d events reached the SDK consumer; want 2", len(got))
		}
	}
	for _, want := range []struct {
		e      *bus.Event
		source string
		txID   any
	}{{emitted, "shop/web", "tx-1"}, {plain, "shop", nil}} {
		e, ok := got[want.e.ID]
		if !ok {
			t.Errorf("event %s never reached the SDK consumer; got %v", want.e.ID, got)
			continue
		}
		if err := e.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
		var o Order
		if err := e.DataAs(&o); err != nil {
			t.Errorf("DataAs: %v", err)
		}
		if e.SpecVersion() != "1.0" || e.ID() != want.e.ID || e.Source() != want.source || e.Type() != "order.created" ||
			e.Time().UnixNano() != want.e.OccurredAt || e.Extensions()["txid"] != want.txID ||
			e.DataContentType() != "application/json" || o != want.e.Data.(Order) {
			t.Errorf("SDK consumer got %s\nwith data %+v; want the attributes of %+v", e, o, want.e)
		}
	}
}

// await returns the next event billing's handler saw.
func await(t *testing.T, n *node) received {
	t.Helper()
	select {
	case got := <-n.events:
		return got
	case <-time.After(10 * time.Second):
		t.Fatalf("no event handled; reported %v", n.errors())
		return received{}
	}
}
