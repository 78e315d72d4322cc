package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gobus/bus"
)

// constID is a generator that costs nothing, so that these benchmarks measure
// the bus alone. Compare generators with the benchmarks of the generators.
var constID = bus.Next(func() string { return "id" })

func benchBus(b *testing.B, handlers int, matcher string, topics ...string) (*bus.Bus, *atomic.Int64) {
	b.Helper()
	bs, err := bus.NewBus(constID)
	if err != nil {
		b.Fatal(err)
	}
	if err := bs.RegisterTopics(topics...); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	for i := range handlers {
		m := matcher
		if m == "" {
			m = fmt.Sprintf(`^topic\.%d$`, i)
		}
		if err := bs.RegisterHandler(strconv.Itoa(i), &bus.Handler{Matcher: m, Handle: func(*bus.Event) { n.Add(1) }}); err != nil {
			b.Fatal(err)
		}
	}
	return bs, &n
}

func checkDeliveries(b *testing.B, n *atomic.Int64, perEmit int) {
	b.Helper()
	if got, want := n.Load(), int64(b.N*perEmit); got != want {
		b.Fatalf("%d deliveries; want %d", got, want)
	}
}

// BenchmarkEmit measures one Emit. The per-handler cost is the difference
// between handlers=10 and handlers=1, divided by 9.
func BenchmarkEmit(b *testing.B) {
	withTx := context.WithValue(context.Background(), bus.CtxKeyTxID, "tx")
	for _, handlers := range []int{0, 1, 10} {
		for _, tx := range []bool{false, true} {
			ctx := context.Background()
			if tx {
				ctx = withTx
			}
			b.Run(fmt.Sprintf("handlers=%d/txid=%v", handlers, tx), func(b *testing.B) {
				bs, n := benchBus(b, handlers, ".*", "order.created")
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					bs.Emit(ctx, "order.created", nil)
				}
				checkDeliveries(b, n, handlers)
			})
		}
	}
	b.Run("handlers=1/parallel", func(b *testing.B) {
		bs, n := benchBus(b, 1, ".*", "order.created")
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bs.Emit(context.Background(), "order.created", nil)
			}
		})
		checkDeliveries(b, n, 1)
	})
	b.Run("regex-handlers=100/topics=100", func(b *testing.B) {
		topics := make([]string, 100)
		for i := range topics {
			topics[i] = fmt.Sprintf("topic.%d", i)
		}
		bs, n := benchBus(b, 100, "", topics...)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			bs.Emit(context.Background(), "topic.42", nil)
		}
		checkDeliveries(b, n, 1)
	})
}

// BenchmarkRegister measures adding one topic and one handler to a registry
// that already holds size topics and size handlers, each handler matching
// one topic. Each iteration registers and deregisters again, so the registry
// does not grow. Registering must match the new entry against every existing
// one; no other cost should grow with size.
func BenchmarkRegister(b *testing.B) {
	for _, size := range []int{100, 10_000} {
		topics := make([]string, size)
		for i := range topics {
			topics[i] = fmt.Sprintf("topic.%d", i)
		}
		b.Run(fmt.Sprintf("topic/existing=%d", size), func(b *testing.B) {
			bs, _ := benchBus(b, size, "", topics...)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := bs.RegisterTopics("topic.new"); err != nil {
					b.Fatal(err)
				}
				bs.DeregisterTopics("topic.new")
			}
		})
		b.Run(fmt.Sprintf("handler/existing=%d", size), func(b *testing.B) {
			bs, _ := benchBus(b, size, "", topics...)
			h := &bus.Handler{Matcher: `^topic\.7$`, Handle: func(*bus.Event) {}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := bs.RegisterHandler("new", h); err != nil {
					b.Fatal(err)
				}
				bs.DeregisterHandler("new")
			}
		})
	}
}
