package benchmarks

import (
	"context"

	"github.com/kelindar/event"
)

type orderCreated struct{ data string }

func (orderCreated) Type() uint32 { return 1 }

// kelindarLib drives github.com/kelindar/event: typed events, delivered
// asynchronously by a goroutine per subscriber; no patterns, no IDs.
var kelindarLib = library{
	name:  "kelindar.event",
	async: true,
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		d := event.NewDispatcher()
		cancels := make([]func(), n)
		for i := range cancels {
			cancels[i] = event.Subscribe(d, func(orderCreated) { deliver() })
		}
		return func(context.Context) { event.Publish(d, orderCreated{"data"}) }, func() {
			for _, cancel := range cancels {
				cancel()
			}
			d.Close()
		}
	},
}
