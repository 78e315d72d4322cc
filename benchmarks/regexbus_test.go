package benchmarks

import (
	"context"
	"fmt"
)

// regexBus is what the scenarios need of the buses with mustafaturan/bus's
// design (this one and both versions of mustafaturan/bus): registered
// topics, and handlers under keys with regular expression matchers.
type regexBus interface {
	registerTopic(topic string)
	registerHandler(key, matcher string, deliver func())
	emit(ctx context.Context, topic string)
}

// regexLibrary drives a regexBus; txKey is the context key under which the
// bus takes a transaction ID.
func regexLibrary(name string, txKey any, newBus func() regexBus) library {
	return library{
		name: name,
		txContext: func() context.Context {
			return context.WithValue(context.Background(), txKey, "tx")
		},
		fanout: func(n int, deliver func()) (func(context.Context), func()) {
			b := newBus()
			b.registerTopic("order.created")
			for i := range n {
				b.registerHandler(fmt.Sprint(i), "^order.created$", deliver)
			}
			return func(ctx context.Context) { b.emit(ctx, "order.created") }, func() {}
		},
		patterns: func(n int, deliver func()) (func(int), func()) {
			b := newBus()
			topics := make([]string, n)
			for i := range topics {
				topics[i] = fmt.Sprintf("topic.%d", i)
				b.registerTopic(topics[i])
				b.registerHandler(topics[i], fmt.Sprintf(`^topic\.%d$`, i), deliver)
			}
			return func(i int) { b.emit(context.Background(), topics[i]) }, func() {}
		},
	}
}
