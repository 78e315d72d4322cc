package benchmarks

import (
	"context"
	"fmt"

	"github.com/olebedev/emitter"
)

// olebedevLib drives github.com/olebedev/emitter: asynchronous, a channel per
// listener; Emit returns once every listener's channel took the event.
// Patterns are globs ("topic.42.*" receives "topic.42.fired"); no IDs.
var olebedevLib = library{
	name:  "olebedev.emitter",
	async: true,
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		e := emitter.New(1024)
		var c consumers
		for range n {
			consume(&c, e.On("order.created"), func(emitter.Event) { deliver() })
		}
		return func(context.Context) { <-e.Emit("order.created", "data") }, func() { e.Off("*"); c.wait() }
	},
	patterns: func(n int, deliver func()) (func(int), func()) {
		e := emitter.New(1024)
		var c consumers
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("topic.%d.fired", i)
			consume(&c, e.On(fmt.Sprintf("topic.%d.*", i)), func(emitter.Event) { deliver() })
		}
		return func(i int) { <-e.Emit(names[i], "data") }, func() { e.Off("*"); c.wait() }
	},
}
