package benchmarks

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
)

// A library tells the scenarios how to drive one event bus. Scenarios a
// library cannot express are nil.
type library struct {
	name string
	// async is set for libraries that deliver on other goroutines: the
	// benchmarks then wait for delivery inside the timed region.
	async bool
	// fanout builds a bus with one topic and n handlers, each calling
	// deliver once per event, and returns a function publishing one event
	// (with ctx, where the library takes one) and a cleanup.
	fanout func(n int, deliver func()) (publish func(ctx context.Context), cleanup func())
	// patterns builds a bus with n topics and n pattern handlers, where
	// handler i matches topic i only, and returns a function publishing one
	// event on topic i, and a cleanup.
	patterns func(n int, deliver func()) (publish func(i int), cleanup func())
	// txContext, for libraries that take a transaction ID from a context,
	// returns a context carrying the ID "tx" under the library's key.
	txContext func() context.Context
}

// libraries is every library compared, this bus first.
var libraries = []library{
	gobusLib("gobus", counterIDs),
	gobusLib("gobus+Generator", generatorIDs),
	mustafaturanV1("mustafaturan.v1", counterIDs),
	mustafaturanV1("mustafaturan.v1+monoton", monotonIDs),
	mustafaturanV3("mustafaturan.v3", counterIDs),
	mustafaturanV3("mustafaturan.v3+monoton", monotonIDs),
	asaskevichLib,
	gookitLib,
	katarasLib,
	maniartechLib,
	werbenhuLib,
	kelindarLib,
	leandroHubLib,
	cskrLib,
	vardiusLib,
	olebedevLib,
	watermillLib,
}

// counterIDs is the trivial ID generator every library with IDs gets: it
// costs one small allocation, like any generator returning a new string.
func counterIDs() bus.IDGenerator {
	var n atomic.Uint64
	return bus.Next(func() string { return strconv.FormatUint(n.Add(1)+1e15, 36) })
}

// deliveries counts what handlers receive.
type deliveries struct{ n atomic.Int64 }

func (d *deliveries) deliver() { d.n.Add(1) }

// await waits until want deliveries happened; async libraries deliver on
// other goroutines. It fails the benchmark if they never arrive.
func (d *deliveries) await(b *testing.B, want int64) {
	deadline := time.Now().Add(30 * time.Second)
	for d.n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d deliveries after 30s; want %d", d.n.Load(), want)
		}
		runtime.Gosched()
	}
}

// check fails the benchmark unless exactly want deliveries happened.
func (d *deliveries) check(b *testing.B, lib library, want int64) {
	b.Helper()
	if lib.async {
		d.await(b, want)
	}
	if got := d.n.Load(); got != want {
		b.Fatalf("%s: %d deliveries; want %d", lib.name, got, want)
	}
}

func BenchmarkEmit(b *testing.B) {
	fanouts := []struct {
		name     string
		handlers int
		ctx      context.Context
		txOnly   bool
	}{
		{"0-handlers", 0, context.Background(), false},
		{"1-handler", 1, context.Background(), false},
		{"1-handler-txid", 1, nil, true},
		{"10-handlers", 10, context.Background(), false},
	}
	for _, sc := range fanouts {
		for _, lib := range libraries {
			ctx := sc.ctx
			if sc.txOnly {
				if lib.txContext == nil {
					continue
				}
				ctx = lib.txContext()
			}
			b.Run("sc="+sc.name+"/lib="+lib.name, func(b *testing.B) {
				var d deliveries
				publish, cleanup := lib.fanout(sc.handlers, d.deliver)
				defer cleanup()
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					publish(ctx)
				}
				d.check(b, lib, int64(b.N*sc.handlers))
			})
		}
	}

	for _, lib := range libraries {
		b.Run("sc=parallel/lib="+lib.name, func(b *testing.B) {
			var d deliveries
			publish, cleanup := lib.fanout(1, d.deliver)
			defer cleanup()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					publish(context.Background())
				}
			})
			d.check(b, lib, int64(b.N))
		})
	}

	for _, lib := range libraries {
		if lib.patterns == nil {
			continue
		}
		b.Run("sc=100-patterns/lib="+lib.name, func(b *testing.B) {
			var d deliveries
			publish, cleanup := lib.patterns(100, d.deliver)
			defer cleanup()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				publish(42)
			}
			d.check(b, lib, int64(b.N))
		})
	}

	// A round trip: publish, then wait until the handler ran. For
	// synchronous libraries this is the same as 1-handler.
	for _, lib := range libraries {
		if !lib.async {
			continue
		}
		b.Run("sc=roundtrip/lib="+lib.name, func(b *testing.B) {
			var d deliveries
			publish, cleanup := lib.fanout(1, d.deliver)
			defer cleanup()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				publish(context.Background())
				d.await(b, int64(i+1))
			}
			d.check(b, lib, int64(b.N))
		})
	}
}
