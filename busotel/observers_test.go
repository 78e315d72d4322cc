package busotel_test

import (
	"context"
	"testing"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busview"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestTwoObservers: two busotel Observers on one bus, each with its own
// tracer provider, and a busview beside them. Each ends every span it
// starts, once; each handler span hangs under its own observer's Emit
// span; and busview counts what each traces.
func TestTwoObservers(t *testing.T) {
	one, two := newTelemetry(t), newTelemetry(t)
	view := busview.New(10)
	var n int
	b, err := bus.NewBus(bus.Next(func() string { n++; return "e" + string(rune('0'+n)) }),
		bus.WithObserver(one.obs), bus.WithObserver(two.obs), bus.WithObserver(view))
	if err != nil {
		t.Fatal(err)
	}
	b.RegisterTopics("order.created")
	b.RegisterHandler("mailer", &bus.Handler{Matcher: "^order", Handle: func(*bus.Event) {}})
	const emits = 5
	for range emits {
		b.Emit(context.Background(), "order.created", "A-1")
	}

	for name, tel := range map[string]*telemetry{"first": one, "second": two} {
		started, ended := tel.spans.Started(), tel.spans.Ended()
		if len(started) != 2*emits || len(ended) != 2*emits {
			t.Errorf("%s: %d spans started, %d ended; want %d each", name, len(started), len(ended), 2*emits)
		}
		seen := map[string]bool{}
		for _, s := range ended {
			id := s.SpanContext().SpanID().String()
			if seen[id] {
				t.Errorf("%s: span %q ended twice", name, s.Name())
			}
			seen[id] = true
		}
		for i := range emits {
			id := "e" + string(rune('1'+i))
			byID := func(s sdktrace.ReadOnlySpan) bool { return attr(s, "messaging.message.id") == id }
			send := find(t, ended, "send order.created", byID)
			process := find(t, ended, "process order.created", byID)
			checkParent(t, process, send)
		}
	}
	snap := view.Snapshot(b)
	if snap.Topics[0].Emitted != emits || snap.Handlers[0].Calls != emits {
		t.Errorf("busview counted %d emits and %d calls; want %d each, as traced", snap.Topics[0].Emitted, snap.Handlers[0].Calls, emits)
	}
}
