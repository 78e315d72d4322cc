package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/gobus/bus"
	busv1 "github.com/mustafaturan/bus"
	busv3 "github.com/mustafaturan/bus/v3"
	"github.com/mustafaturan/monoton/v3"
	"github.com/mustafaturan/monoton/v3/sequencer"
)

// monotonIDs is the generator mustafaturan/bus recommends: monoton's Next.
func monotonIDs() bus.IDGenerator {
	m, err := monoton.New(sequencer.NewMillisecond(), 1, uint64(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()))
	if err != nil {
		panic(err)
	}
	return bus.Next(m.Next)
}

func mustafaturanV1(name string, ids func() bus.IDGenerator) library {
	newBus := func() *busv1.Bus {
		b, err := busv1.NewBus(ids())
		if err != nil {
			panic(err)
		}
		return b
	}
	return library{
		name: name,
		txContext: func() context.Context {
			return context.WithValue(context.Background(), busv1.CtxKeyTxID, "tx")
		},
		fanout: func(n int, deliver func()) (func(context.Context), func()) {
			b := newBus()
			b.RegisterTopics("order.created")
			for i := range n {
				b.RegisterHandler(fmt.Sprint(i), &busv1.Handler{Matcher: "^order.created$", Handle: func(*busv1.Event) { deliver() }})
			}
			return func(ctx context.Context) { b.Emit(ctx, "order.created", "data") }, func() {}
		},
		patterns: func(n int, deliver func()) (func(int), func()) {
			b := newBus()
			topics := make([]string, n)
			for i := range topics {
				topics[i] = fmt.Sprintf("topic.%d", i)
				b.RegisterTopics(topics[i])
				b.RegisterHandler(topics[i], &busv1.Handler{Matcher: fmt.Sprintf(`^topic\.%d$`, i), Handle: func(*busv1.Event) { deliver() }})
			}
			return func(i int) { b.Emit(context.Background(), topics[i], "data") }, func() {}
		},
	}
}

func mustafaturanV3(name string, ids func() bus.IDGenerator) library {
	newBus := func() *busv3.Bus {
		b, err := busv3.NewBus(ids())
		if err != nil {
			panic(err)
		}
		return b
	}
	return library{
		name: name,
		txContext: func() context.Context {
			return context.WithValue(context.Background(), busv3.CtxKeyTxID, "tx")
		},
		fanout: func(n int, deliver func()) (func(context.Context), func()) {
			b := newBus()
			b.RegisterTopics("order.created")
			for i := range n {
				b.RegisterHandler(fmt.Sprint(i), busv3.Handler{Matcher: "^order.created$", Handle: func(context.Context, busv3.Event) { deliver() }})
			}
			return func(ctx context.Context) { b.Emit(ctx, "order.created", "data") }, func() {}
		},
		patterns: func(n int, deliver func()) (func(int), func()) {
			b := newBus()
			topics := make([]string, n)
			for i := range topics {
				topics[i] = fmt.Sprintf("topic.%d", i)
				b.RegisterTopics(topics[i])
				b.RegisterHandler(topics[i], busv3.Handler{Matcher: fmt.Sprintf(`^topic\.%d$`, i), Handle: func(context.Context, busv3.Event) { deliver() }})
			}
			return func(i int) { b.Emit(context.Background(), topics[i], "data") }, func() {}
		},
	}
}
