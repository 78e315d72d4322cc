package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/gobus/bus"
)

// generatorIDs is this bus's recommended generator.
func generatorIDs() bus.IDGenerator {
	g, err := bus.NewGenerator(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return g
}

func gobusLib(name string, ids func() bus.IDGenerator) library {
	newBus := func() *bus.Bus {
		b, err := bus.NewBus(ids())
		if err != nil {
			panic(err)
		}
		return b
	}
	return library{
		name: name,
		txContext: func() context.Context {
			return context.WithValue(context.Background(), bus.CtxKeyTxID, "tx")
		},
		fanout: func(n int, deliver func()) (func(context.Context), func()) {
			b := newBus()
			b.RegisterTopics("order.created")
			for i := range n {
				b.RegisterHandler(fmt.Sprint(i), &bus.Handler{Matcher: "^order.created$", Handle: func(*bus.Event) { deliver() }})
			}
			return func(ctx context.Context) { b.Emit(ctx, "order.created", "data") }, func() {}
		},
		patterns: func(n int, deliver func()) (func(int), func()) {
			b := newBus()
			topics := make([]string, n)
			for i := range topics {
				topics[i] = fmt.Sprintf("topic.%d", i)
				b.RegisterTopics(topics[i])
				b.RegisterHandler(topics[i], &bus.Handler{Matcher: fmt.Sprintf(`^topic\.%d$`, i), Handle: func(*bus.Event) { deliver() }})
			}
			return func(i int) { b.Emit(context.Background(), topics[i], "data") }, func() {}
		},
	}
}
