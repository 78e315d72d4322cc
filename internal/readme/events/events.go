// Package events is the README's singleton example as a package of its
// own: the application's one bus and its typed topics, made once at
// start-up and used from every package. The README quotes this file, and
// its tests keep it compiling and running.
package events

import (
	"time"

	"github.com/gobus/bus"
)

// nodeID sets this process apart in event IDs: give each process its own.
const nodeID = 1

// The application's bus and its topics.
var (
	Bus          = must(bus.NewBus(must(bus.NewGenerator(nodeID, time.Time{}))))
	OrderCreated = must(bus.NewTopic[Order](Bus, "order.created"))
	OrderPaid    = must(bus.NewTopic[Order](Bus, "order.paid"))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err) // a configuration error at start-up
	}
	return v
}
