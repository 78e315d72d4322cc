package benchmarks

import (
	"context"
	"fmt"

	"github.com/gookit/event"
)

// gookitLib drives github.com/gookit/event: synchronous; patterns are group
// listeners ("topic.42.*" receives "topic.42.fired"); no IDs.
var gookitLib = library{
	name: "gookit.event",
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		em := event.NewManager("bench")
		for range n {
			em.On("order.created", event.ListenerFunc(func(event.Event) error { deliver(); return nil }))
		}
		return func(context.Context) { em.Fire("order.created", nil) }, func() { em.Close() }
	},
	patterns: func(n int, deliver func()) (func(int), func()) {
		em := event.NewManager("bench")
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("topic.%d.fired", i)
			em.On(fmt.Sprintf("topic.%d.*", i), event.ListenerFunc(func(event.Event) error { deliver(); return nil }))
		}
		return func(i int) { em.Fire(names[i], nil) }, func() { em.Close() }
	},
}
