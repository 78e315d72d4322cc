// Package events holds the demo's one bus, configured once at start-up: the
// singleton style. Other packages emit and subscribe through it without
// passing the bus around.
package events

import (
	"context"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busview"
)

// The demo's topics.
const (
	OrderCreated   = "order.created"
	OrderPaid      = "order.paid"
	OrderCancelled = "order.cancelled"
)

// Order is the data of every order event.
type Order struct {
	ID       string
	Customer string
	Cents    int64
}

// node identifies this process in event IDs. A real service reads it from
// its configuration: every process needs its own.
const node = 1

// View keeps what the demo's live view shows: counts per topic and
// handler and the last 50 events. Observing costs little next to the
// printer; a service would attach it the same way.
var View = busview.New(50)

// Bus is the application's bus.
var Bus = mustNewBus()

func mustNewBus() *bus.Bus {
	gen, err := bus.NewGenerator(node, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err) // the settings above are constants: this cannot happen
	}
	b, err := bus.NewBus(gen, bus.WithObserver(View))
	if err != nil {
		panic(err)
	}
	if err := b.RegisterTopics(OrderCreated, OrderPaid, OrderCancelled); err != nil {
		panic(err)
	}
	return b
}

// Emit emits data on topic on the application's bus.
func Emit(ctx context.Context, topic string, o Order) (*bus.Event, error) {
	return Bus.Emit(ctx, topic, o)
}

// Subscribe registers handle under key for the topics matcher matches.
func Subscribe(key, matcher string, handle func(*bus.Event)) error {
	return Bus.RegisterHandler(key, &bus.Handler{Matcher: matcher, Handle: handle})
}
