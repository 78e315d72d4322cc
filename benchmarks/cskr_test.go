package benchmarks

import (
	"context"

	"github.com/cskr/pubsub/v2"
)

// cskrLib drives github.com/cskr/pubsub/v2: asynchronous, a buffered channel
// per subscriber; no patterns, no IDs.
var cskrLib = library{
	name:  "cskr.pubsub",
	async: true,
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		ps := pubsub.New[string, string](1024)
		var c consumers
		for range n {
			consume(&c, ps.Sub("order.created"), func(string) { deliver() })
		}
		return func(context.Context) { ps.Pub("data", "order.created") }, func() { ps.Shutdown(); c.wait() }
	},
}
