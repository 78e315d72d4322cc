package benchmarks

import (
	"context"

	messagebus "github.com/vardius/message-bus"
)

// vardiusLib drives github.com/vardius/message-bus: asynchronous, a queue and
// goroutine per handler, called through reflection; no patterns, no IDs.
var vardiusLib = library{
	name:  "vardius.message-bus",
	async: true,
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		mb := messagebus.New(1024)
		for range n {
			mb.Subscribe("order.created", func(string) { deliver() })
		}
		return func(context.Context) { mb.Publish("order.created", "data") }, func() { mb.Close("order.created") }
	},
}
