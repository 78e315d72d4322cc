package benchmarks

import (
	"context"
	"fmt"

	"github.com/olebedev/emitter"
)

// olebedevLib drives github.com/olebedev/emitter: asynchronous, a channel per
// listener. Listeners use its Sync middleware, so Emit puts the event on
// their channels itself; by default it starts a goroutine per listener per
// event, which in this harness made each Emit slower the longer a run went
// on (milliseconds per event after a few thousand). Patterns are globs
// ("topic.42.*" receives "topic.42.fired"); no IDs.
var olebedevLib = library{
	name:  "olebedev.emitter",
	async: true,
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		e := emitter.New(1024)
		var c consumers
		for range n {
			consume(&c, e.On("order.created", emitter.Sync), func(emitter.Event) { deliver() })
		}
		return func(context.Context) { <-e.Emit("order.created", "data") }, func() { e.Off("*"); c.wait() }
	},
	patterns: func(n int, deliver func()) (func(int), func()) {
		e := emitter.New(1024)
		var c consumers
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("topic.%d.fired", i)
			consume(&c, e.On(fmt.Sprintf("topic.%d.*", i), emitter.Sync), func(emitter.Event) { deliver() })
		}
		return func(i int) { <-e.Emit(names[i], "data") }, func() { e.Off("*"); c.wait() }
	},
}
