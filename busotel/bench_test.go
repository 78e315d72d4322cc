package busotel_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busotel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkObserver measures what busotel adds to an Emit with 1 and with
// 10 handlers, against a bus without an Observer, with the real SDK
// recording every span (sampled, with no exporter behind it, so that only
// the instrumentation is measured) and a manual metric reader. The
// per-handler cost is (handlers=10 - handlers=1) / 9.
func BenchmarkObserver(b *testing.B) {
	for _, observed := range []bool{false, true} {
		for _, handlers := range []int{1, 10} {
			b.Run(fmt.Sprintf("busotel=%v/handlers=%d", observed, handlers), func(b *testing.B) {
				var opts []bus.Option
				if observed {
					tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
					mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
					b.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })
					obs, err := busotel.New(busotel.WithTracerProvider(tp), busotel.WithMeterProvider(mp))
					if err != nil {
						b.Fatal(err)
					}
					opts = append(opts, bus.WithObserver(obs))
				}
				bs, err := bus.NewBus(bus.Next(func() string { return "id" }), opts...)
				if err != nil {
					b.Fatal(err)
				}
				bs.RegisterTopics("order.created")
				for i := range handlers {
					bs.RegisterHandler(strconv.Itoa(i), &bus.Handler{Matcher: ".*", Handle: func(*bus.Event) {}})
				}
				b.ReportAllocs()
				for b.Loop() {
					bs.Emit(context.Background(), "order.created", nil)
				}
			})
		}
	}
}
