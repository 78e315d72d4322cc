package benchmarks

import (
	"context"

	eventbus "github.com/asaskevich/EventBus"
)

// asaskevichLib drives github.com/asaskevich/EventBus: synchronous, handlers
// called through reflection, no patterns, no IDs.
var asaskevichLib = library{
	name: "asaskevich.EventBus",
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		b := eventbus.New()
		for range n {
			b.Subscribe("order.created", func(string) { deliver() })
		}
		return func(context.Context) { b.Publish("order.created", "data") }, func() {}
	},
}
