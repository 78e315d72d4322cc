package benchmarks

import (
	"context"
	"fmt"

	"github.com/werbenhu/eventbus"
)

// werbenhuLib drives github.com/werbenhu/eventbus with PublishSync: handlers
// called through reflection; no patterns, no IDs.
var werbenhuLib = library{
	name: "werbenhu.eventbus",
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		b := eventbus.New()
		for _, h := range werbenhuHandlers(deliver)[:n] {
			if err := b.Subscribe("order.created", h); err != nil {
				panic(err)
			}
		}
		return func(context.Context) { b.PublishSync("order.created", "data") }, b.Close
	},
}

// werbenhuHandlers returns ten handlers with distinct code: the library
// keeps only one subscription per function, comparing code pointers, so
// closures of one function literal count as the same handler.
func werbenhuHandlers(deliver func()) []func(string, string) {
	hs := []func(string, string){
		func(string, string) { deliver() }, func(string, string) { deliver() },
		func(string, string) { deliver() }, func(string, string) { deliver() },
		func(string, string) { deliver() }, func(string, string) { deliver() },
		func(string, string) { deliver() }, func(string, string) { deliver() },
		func(string, string) { deliver() }, func(string, string) { deliver() },
	}
	if len(hs) != 10 {
		panic(fmt.Sprint("want 10 handlers, have ", len(hs)))
	}
	return hs
}
