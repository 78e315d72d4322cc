package busotel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busotel"
	"github.com/gobus/bus/natsbus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Tracing a bus with the stdout exporter. A service would use an OTLP
// exporter instead, and usually the global providers: then busotel.New()
// needs no options.
func Example() {
	var out bytes.Buffer // os.Stdout in a real program
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(&out))
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())

	// The lines a service adds:
	obs, err := busotel.New(busotel.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}
	b, err := bus.NewBus(bus.Next(func() string { return "event-1" }), bus.WithObserver(obs))
	if err != nil {
		panic(err)
	}

	b.RegisterTopics("order.created")
	b.RegisterHandler("mailer", &bus.Handler{Matcher: "^order", Handle: func(*bus.Event) {}})
	b.Emit(context.Background(), "order.created", "A-1")

	// Print what the exporter wrote: one JSON object per span.
	dec := json.NewDecoder(&out)
	for dec.More() {
		var span struct {
			Name     string
			SpanKind int
		}
		if err := dec.Decode(&span); err != nil {
			panic(err)
		}
		fmt.Println(span.Name, span.SpanKind)
	}
	// Output:
	// process order.created 5
	// send order.created 4
}

// newTracedBus is what a service adds to trace its bus, and the events it
// exchanges with other nodes through natsbus.
func newTracedBus(gen bus.IDGenerator, cfg *natsbus.Config) (*bus.Bus, error) {
	obs, err := busotel.New() // the global tracer and meter providers
	if err != nil {
		return nil, err
	}
	b, err := bus.NewBus(gen, bus.WithObserver(obs))                          // spans and metrics for every Emit and handler
	cfg.InjectHeader, cfg.ExtractHeader = obs.InjectHeader, obs.ExtractHeader // the trace, across nodes
	return b, err
}

// A bus traced with the global providers, set up once at start-up.
func ExampleNew() {
	cfg := natsbus.Config{Node: "shop-1", Publish: `^order\.`}
	b, err := newTracedBus(bus.Next(func() string { return "event-1" }), &cfg)
	fmt.Println(b != nil, err, cfg.InjectHeader != nil && cfg.ExtractHeader != nil)
	// Output:
	// true <nil> true
}
