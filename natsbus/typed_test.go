package natsbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
)

// TestTypedTopicsStayTyped: with no Codec, the data of a typed topic
// arrives on another node as the topic's type, so its typed handlers take
// it; an untyped topic's data arrives as encoding/json decodes it.
func TestTypedTopicsStayTyped(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	noCodec := func(c *natsbus.Config) { c.Codec = nil }
	var shop, mailer *bus.Topic[Order]
	a := startNode(t, s.ClientURL(), "a", `^order\.`, "", func(b *bus.Bus) {
		shop = mustTopic[Order](t, b, "order.created")
	}, noCodec)
	got := make(chan Order, 1)
	var plain any
	startNode(t, s.ClientURL(), "b", "", `^order\.`, func(b *bus.Bus) {
		mailer = mustTopic[Order](t, b, "order.created")
		if err := mailer.Handle("mailer", func(_ *bus.Event, o Order) { got <- o }); err != nil {
			t.Fatal(err)
		}
		if err := b.RegisterHandler("audit", &bus.Handler{Matcher: `^order\.paid$`, Handle: func(e *bus.Event) { plain = e.Data }}); err != nil {
			t.Fatal(err)
		}
		b.RegisterTopics("order.paid")
	}, noCodec)
	a.bus.RegisterTopics("order.paid")

	if _, err := a.bus.Emit(context.Background(), "order.paid", Order{ID: "A-0", Cents: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Emit(context.Background(), Order{ID: "A-1", Cents: 250}); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-got:
		if o != (Order{ID: "A-1", Cents: 250}) {
			t.Errorf("typed handler got %+v; want {A-1 250}", o)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the typed handler received nothing")
	}
	// The events of one publisher arrive in order: order.paid was handled.
	if m, ok := plain.(map[string]any); !ok || m["ID"] != "A-0" {
		t.Errorf("untyped topic's data = %#v; want a map from encoding/json", plain)
	}
	for _, err := range a.errors() {
		t.Errorf("OnError: %v", err)
	}
}

func mustTopic[T any](t *testing.T, b *bus.Bus, name string) *bus.Topic[T] {
	t.Helper()
	topic, err := bus.NewTopic[T](b, name)
	if err != nil {
		t.Fatal(err)
	}
	return topic
}
