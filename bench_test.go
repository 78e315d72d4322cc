package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/mustafaturan/monoton/v3"
	"github.com/mustafaturan/monoton/v3/sequencer"
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

// BenchmarkTopicEmit sets a typed Topic's Emit against Bus.Emit with the
// same data: the difference is the typed call alone, since both box the
// value the same way (an Order by allocating, a pointer for free).
func BenchmarkTopicEmit(b *testing.B) {
	type order struct {
		ID    string
		Cents int
	}
	o := order{"A-1", 250}
	for _, typed := range []bool{false, true} {
		b.Run(fmt.Sprintf("typed=%v", typed), func(b *testing.B) {
			bs, n := benchBus(b, 1, ".*")
			topic, err := bus.NewTopic[order](bs, "order.created")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if typed {
				for range b.N {
					topic.Emit(context.Background(), o)
				}
			} else {
				for range b.N {
					bs.Emit(context.Background(), "order.created", o)
				}
			}
			checkDeliveries(b, n, 1)
		})
	}
}

// BenchmarkObserver measures what an Observer costs: "none" is a bus
// without one, "nop" one whose methods do nothing, so the difference is the
// hook itself: per Emit (handlers=1) and per further handler (handlers=10).
func BenchmarkObserver(b *testing.B) {
	for _, observers := range []struct {
		name string
		opts []bus.Option
	}{
		{"none", nil},
		{"nop", []bus.Option{bus.WithObserver(nopObserver{})}},
		{"nop×2", []bus.Option{bus.WithObserver(nopObserver{}), bus.WithObserver(nopObserver{})}},
	} {
		for _, handlers := range []int{1, 10} {
			name, opts := observers.name, observers.opts
			b.Run(fmt.Sprintf("observer=%s/handlers=%d", name, handlers), func(b *testing.B) {
				bs, err := bus.NewBus(constID, opts...)
				if err != nil {
					b.Fatal(err)
				}
				bs.RegisterTopics("order.created")
				var n atomic.Int64
				for i := range handlers {
					bs.RegisterHandler(strconv.Itoa(i), &bus.Handler{Matcher: ".*", Handle: func(*bus.Event) { n.Add(1) }})
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					bs.Emit(context.Background(), "order.created", nil)
				}
				checkDeliveries(b, &n, handlers)
			})
		}
	}
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

// BenchmarkGenerator compares Generator with the ways to use monoton
// directly: its Next as is (fast, but it repeats IDs under concurrency) and
// its Next behind a mutex (correct, but serial).
func BenchmarkGenerator(b *testing.B) {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	g, err := bus.NewGenerator(1, epoch)
	if err != nil {
		b.Fatal(err)
	}
	m, err := monoton.New(sequencer.NewMillisecond(), 1, uint64(epoch.UnixMilli()))
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	generators := []struct {
		name string
		next func() string
	}{
		{"bus.Generator", g.Generate},
		{"monoton", m.Next},
		{"monoton+mutex", func() string {
			mu.Lock()
			defer mu.Unlock()
			return m.Next()
		}},
	}
	var sink atomic.Pointer[string]
	for _, gen := range generators {
		b.Run(gen.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			var id string
			for b.Loop() {
				id = gen.next()
			}
			sink.Store(&id)
		})
		b.Run(gen.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var id string
				for pb.Next() {
					id = gen.next()
				}
				sink.Store(&id)
			})
		})
	}
}

// BenchmarkEmitWithGenerator measures Emit with the recommended generator,
// whose ID shares the event's allocation.
func BenchmarkEmitWithGenerator(b *testing.B) {
	g, err := bus.NewGenerator(1, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	bs, err := bus.NewBus(g)
	if err != nil {
		b.Fatal(err)
	}
	bs.RegisterTopics("order.created")
	var n atomic.Int64
	bs.RegisterHandler("h", &bus.Handler{Matcher: ".*", Handle: func(*bus.Event) { n.Add(1) }})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bs.Emit(context.Background(), "order.created", nil)
	}
	checkDeliveries(b, &n, 1)
}

// BenchmarkAsync measures Async handlers against "sync-handler", a
// synchronous handler doing the same work: "throughput" emits b.N events
// and waits until all are handled, so the difference is what handing each
// event to a worker costs; "roundtrip" waits for each event before emitting
// the next.
func BenchmarkAsync(b *testing.B) {
	var n atomic.Int64
	work := func(*bus.Event) { n.Add(1) }
	newAsyncBus := func(b *testing.B, workers int) (*bus.Bus, *bus.Async) {
		bs, _ := benchBus(b, 0, "", "order.created")
		a := bus.NewAsync("async", work, &bus.AsyncOptions{Workers: workers, QueueSize: 4096})
		b.Cleanup(func() { a.Close(context.Background()) })
		if err := bs.RegisterHandler("async", &bus.Handler{Matcher: ".*", HandleErr: a.HandleErr}); err != nil {
			b.Fatal(err)
		}
		return bs, a
	}
	b.Run("sync-handler", func(b *testing.B) {
		bs, _ := benchBus(b, 0, "", "order.created")
		bs.RegisterHandler("sync", &bus.Handler{Matcher: ".*", Handle: work})
		b.ReportAllocs()
		for b.Loop() {
			bs.Emit(context.Background(), "order.created", nil)
		}
	})
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("throughput/workers=%d", workers), func(b *testing.B) {
			bs, a := newAsyncBus(b, workers)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				bs.Emit(context.Background(), "order.created", nil)
			}
			if err := a.Wait(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if st := a.Stats(); st.Handled != uint64(b.N) || st.Dropped != 0 {
				b.Fatalf("Stats() = %+v; want %d handled", st, b.N)
			}
		})
	}
	b.Run("roundtrip", func(b *testing.B) {
		bs, a := newAsyncBus(b, 1)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			bs.Emit(context.Background(), "order.created", nil)
			a.Wait(context.Background())
		}
	})
}
