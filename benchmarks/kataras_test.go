package benchmarks

import (
	"context"

	events "github.com/kataras/go-events"
)

// katarasLib drives github.com/kataras/go-events: synchronous, no patterns,
// no IDs.
var katarasLib = library{
	name: "kataras.go-events",
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		e := events.New()
		e.SetMaxListeners(n + 1)
		for range n {
			e.On("order.created", func(...any) { deliver() })
		}
		return func(context.Context) { e.Emit("order.created", "data") }, func() {}
	},
}
