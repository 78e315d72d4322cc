package benchmarks

import (
	"context"
	"fmt"

	"github.com/leandro-lugaresi/hub"
)

// leandroHubLib drives github.com/leandro-lugaresi/hub: asynchronous, a
// buffered channel per subscriber; patterns are wildcards ("topic.42.*"
// receives "topic.42.fired"); no IDs.
var leandroHubLib = library{
	name:  "leandro-lugaresi.hub",
	async: true,
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		h := hub.New()
		var c consumers
		for range n {
			consume(&c, h.Subscribe(1024, "order.created").Receiver, func(hub.Message) { deliver() })
		}
		return func(context.Context) { h.Publish(hub.Message{Name: "order.created"}) }, func() { h.Close(); c.wait() }
	},
	patterns: func(n int, deliver func()) (func(int), func()) {
		h := hub.New()
		var c consumers
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("topic.%d.fired", i)
			consume(&c, h.Subscribe(1024, fmt.Sprintf("topic.%d.*", i)).Receiver, func(hub.Message) { deliver() })
		}
		return func(i int) { h.Publish(hub.Message{Name: names[i]}) }, func() { h.Close(); c.wait() }
	},
}
