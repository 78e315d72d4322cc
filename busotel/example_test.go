package busotel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busotel"
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
