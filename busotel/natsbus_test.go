package busotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestTraceAcrossNodes runs two nodes, each with its own bus, bridge and
// Observer, on an embedded NATS server: an order emitted on A is handled
// on B, and the spans of both nodes form one trace that tells the causal
// story: A's Emit, its bridge's publish under it, B's receive under the
// publish, B's handler under the receive, and the invoice that handler
// emits under the handler.
func TestTraceAcrossNodes(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}

	telA, telB := newTelemetry(t), newTelemetry(t)
	node := func(name string, tel *telemetry, publish, receive string) *bus.Bus {
		gen, err := bus.NewGenerator(uint64(name[0]), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := bus.NewBus(gen, bus.WithObserver(tel.obs))
		if err != nil {
			t.Fatal(err)
		}
		b.RegisterTopics("order.created")
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		br, err := natsbus.New(context.Background(), b, nc, natsbus.Config{
			Node: name, Publish: publish, Receive: receive, Provision: &natsbus.StreamSettings{},
			InjectHeader: tel.obs.InjectHeader, ExtractHeader: tel.obs.ExtractHeader,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { br.Close(context.Background()) })
		return b
	}
	a := node("a", telA, "order", "")
	b := node("b", telB, "", "order")
	handled := make(chan *bus.Event, 1)
	b.RegisterTopics("invoice.created")
	b.RegisterHandler("billing", &bus.Handler{Matcher: "order", Handle: func(e *bus.Event) {
		if _, err := b.Emit(e.Context(), "invoice.created", "I-1"); err != nil {
			t.Error(err)
		}
		handled <- e
	}})

	e, err := a.Emit(context.Background(), "order.created", "A-1")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-handled:
		if got.ID != e.ID || got.TxID != e.TxID {
			t.Errorf("B handled %s/%s; want %s/%s", got.ID, got.TxID, e.ID, e.TxID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("B handled nothing")
	}
	// B's spans end when its Emit returns, just after the handler.
	deadline := time.Now().Add(5 * time.Second)
	for len(telB.spans.Ended()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}

	sendA := find(t, telA.spans.Ended(), "send order.created", nil)
	publishA := find(t, telA.spans.Ended(), "publish order.created", withHandler("natsbus:a"))
	receiveB := find(t, telB.spans.Ended(), "receive order.created", nil)
	processB := find(t, telB.spans.Ended(), "process order.created", withHandler("billing"))
	invoiceB := find(t, telB.spans.Ended(), "send invoice.created", nil)
	checkParent(t, publishA, sendA)
	checkParent(t, receiveB, publishA)
	checkParent(t, processB, receiveB)
	checkParent(t, invoiceB, processB)
	if publishA.SpanKind() != trace.SpanKindProducer || attr(publishA, "messaging.system") != "nats" || attr(publishA, "messaging.operation.name") != "publish" {
		t.Errorf("A's publish span: kind %v, system %q, operation %q; want a producer, nats, publish",
			publishA.SpanKind(), attr(publishA, "messaging.system"), attr(publishA, "messaging.operation.name"))
	}
	if receiveB.SpanKind() != trace.SpanKindConsumer || !receiveB.Parent().IsRemote() {
		t.Errorf("B's span: kind %v, remote parent %v; want consumer with a remote parent", receiveB.SpanKind(), receiveB.Parent().IsRemote())
	}
	if trace := sendA.SpanContext().TraceID(); processB.SpanContext().TraceID() != trace {
		t.Errorf("B's handler span is in trace %s; want A's trace %s", processB.SpanContext().TraceID(), trace)
	}
}
