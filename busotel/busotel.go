// Package busotel traces and measures a [bus.Bus] with OpenTelemetry.
//
// Three lines wire it in:
//
//	obs, err := busotel.New()                            // global providers, W3C trace context
//	b, err := bus.NewBus(gen, bus.WithObserver(obs))      // every Emit and handler call
//	cfg.InjectHeader, cfg.ExtractHeader = obs.InjectHeader, obs.ExtractHeader // natsbus.Config, across nodes
//
// # Spans
//
// Spans follow the OpenTelemetry messaging conventions, with
// messaging.system "gobus". Each Emit is a producer span, "send TOPIC", a
// child of the span in the context given to Emit. Each handler call is a
// consumer span, "process TOPIC", a child of the Emit's span, with the
// handler's key in bus.handler.key, from the call's start to its end. A
// handler that returns an error or panics sets its span's status, and the
// Emit's, to Error, records the error, and sets error.type ("error" or
// "panic"). Spans carry messaging.operation.type and
// messaging.operation.name, the topic
// (messaging.destination.name), the event ID (messaging.message.id) and
// the TxID (bus.tx_id).
//
// A handler's [bus.Event.Context] carries its own span, so whatever it
// does with it, such as emitting further events, hangs under that span: a
// trace shows which handler caused which event.
//
// natsbus's outbound handler (its key begins with "natsbus:") is a
// publish: a producer span, "publish TOPIC", with messaging.system "nats"
// and messaging.operation.name "publish". With InjectHeader set on the
// publishing node and ExtractHeader on the receiving one, the remote
// node's Emit of the event is a consumer span, "receive TOPIC", under that
// publish span, in the same trace, and its handlers' spans hang under it.
//
// # Metrics
//
// Through the OpenTelemetry metric API: bus.events.emitted (events per
// topic), bus.handler.calls (calls per handler key),
// bus.handler.failures (failed calls per key and error.type, "error" or
// "panic") and bus.handler.duration (seconds per call, per key).
package busotel

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gobus/bus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/gobus/bus/busotel"

// Attribute keys of this package; the others are OpenTelemetry's.
const (
	KeyHandler = attribute.Key("bus.handler.key")
	KeyTxID    = attribute.Key("bus.tx_id")
)

var (
	keySystem        = attribute.Key("messaging.system")
	keyOperation     = attribute.Key("messaging.operation.type")
	keyOperationName = attribute.Key("messaging.operation.name")
	keyDestination   = attribute.Key("messaging.destination.name")
	keyMessageID     = attribute.Key("messaging.message.id")
	keyErrorType     = attribute.Key("error.type")
)

// Observer is a [bus.Observer] that records spans and metrics. Create it
// with [New] and attach it with [bus.WithObserver]. It is safe for
// concurrent use, and may observe several buses.
type Observer struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	emitted  metric.Int64Counter
	calls    metric.Int64Counter
	failures metric.Int64Counter
	duration metric.Float64Histogram

	// handlerAttrs caches, per handler key, the attribute set of its
	// metrics, which would otherwise be built on every call.
	handlerAttrs sync.Map // string -> metric.MeasurementOption
}

// New returns an Observer that uses the global tracer and meter providers
// and the W3C trace context propagator, unless opts say otherwise.
func New(opts ...Option) (*Observer, error) {
	c := config{
		tracerProvider: otel.GetTracerProvider(),
		meterProvider:  otel.GetMeterProvider(),
		propagator:     propagation.TraceContext{},
	}
	for _, o := range opts {
		o.apply(&c)
	}
	meter := c.meterProvider.Meter(ScopeName)
	o := &Observer{tracer: c.tracerProvider.Tracer(ScopeName), propagator: c.propagator}
	var errs [4]error
	o.emitted, errs[0] = meter.Int64Counter("bus.events.emitted",
		metric.WithUnit("{event}"), metric.WithDescription("Events emitted, per topic."))
	o.calls, errs[1] = meter.Int64Counter("bus.handler.calls",
		metric.WithUnit("{call}"), metric.WithDescription("Handler calls, per handler key."))
	o.failures, errs[2] = meter.Int64Counter("bus.handler.failures",
		metric.WithUnit("{call}"), metric.WithDescription("Handler calls that returned an error or panicked, per handler key and error.type."))
	o.duration, errs[3] = meter.Float64Histogram("bus.handler.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of handler calls, per handler key."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, errors.Join(errors.New("busotel: creating instruments"), err)
	}
	return o, nil
}

// emitSpanKey holds, in the context an Observer's EmitStart returns, the
// Emit's span, so that its handler spans find their parent when another
// observer's span is the current one.
type emitSpanKey struct{ o *Observer }

// EmitStart starts the Emit's span and counts the event. It implements
// [bus.Observer].
func (o *Observer) EmitStart(ctx context.Context, e *bus.Event) context.Context {
	kind, op := trace.SpanKindProducer, "send"
	if trace.SpanContextFromContext(ctx).IsRemote() {
		kind, op = trace.SpanKindConsumer, "receive"
	}
	ctx, span := o.tracer.Start(ctx, op+" "+e.Topic, trace.WithSpanKind(kind), trace.WithAttributes(
		keySystem.String("gobus"),
		keyOperation.String(op),
		keyOperationName.String(op),
		keyDestination.String(e.Topic),
		keyMessageID.String(e.ID),
		KeyTxID.String(e.TxID),
	))
	o.emitted.Add(ctx, 1, metric.WithAttributes(keyDestination.String(e.Topic)))
	return context.WithValue(ctx, emitSpanKey{o}, span)
}

// HandlerStart starts the handler call's span, a child of the Emit's. It
// implements [bus.Observer].
func (o *Observer) HandlerStart(ctx context.Context, e *bus.Event, key string) context.Context {
	if parent, ok := ctx.Value(emitSpanKey{o}).(trace.Span); ok && trace.SpanContextFromContext(ctx).SpanID() != parent.SpanContext().SpanID() {
		ctx = trace.ContextWithSpan(ctx, parent) // another observer's span is the current one
	}
	kind, system, op, name := trace.SpanKindConsumer, "gobus", "process", "process"
	if strings.HasPrefix(key, "natsbus:") {
		kind, system, op, name = trace.SpanKindProducer, "nats", "send", "publish"
	}
	ctx, _ = o.tracer.Start(ctx, name+" "+e.Topic,
		trace.WithSpanKind(kind),
		trace.WithAttributes(
			keySystem.String(system),
			keyOperation.String(op),
			keyOperationName.String(name),
			keyDestination.String(e.Topic),
			keyMessageID.String(e.ID),
			KeyTxID.String(e.TxID),
			KeyHandler.String(key),
		))
	return ctx
}

// HandlerDone ends the handler call's span and records its metrics. It
// implements [bus.Observer].
func (o *Observer) HandlerDone(ctx context.Context, e *bus.Event, key string, start time.Time, took time.Duration, err error) {
	span := trace.SpanFromContext(ctx)
	attrs := o.attrsOf(key)
	if err != nil {
		fail(span, err)
		o.failures.Add(ctx, 1, attrs, metric.WithAttributes(keyErrorType.String(errorType(err))))
	}
	span.End()
	o.calls.Add(ctx, 1, attrs)
	o.duration.Record(ctx, took.Seconds(), attrs)
}

// EmitDone ends the Emit's span. It implements [bus.Observer].
func (o *Observer) EmitDone(ctx context.Context, e *bus.Event, err error) {
	span := trace.SpanFromContext(ctx)
	if err != nil {
		fail(span, err)
	}
	span.End()
}

// InjectHeader adds the trace context of ctx to header. Set it as
// natsbus.Config.InjectHeader on the publishing node.
func (o *Observer) InjectHeader(ctx context.Context, header map[string][]string) {
	o.propagator.Inject(ctx, propagation.HeaderCarrier(header))
}

// ExtractHeader returns ctx with the trace context in header. Set it as
// natsbus.Config.ExtractHeader on the receiving node.
func (o *Observer) ExtractHeader(ctx context.Context, header map[string][]string) context.Context {
	return o.propagator.Extract(ctx, propagation.HeaderCarrier(header))
}

func (o *Observer) attrsOf(key string) metric.MeasurementOption {
	if a, ok := o.handlerAttrs.Load(key); ok {
		return a.(metric.MeasurementOption)
	}
	a, _ := o.handlerAttrs.LoadOrStore(key, metric.WithAttributeSet(attribute.NewSet(KeyHandler.String(key))))
	return a.(metric.MeasurementOption)
}

// fail marks span as failed, as the conventions ask: Error status with
// the message, error.type, and the error recorded as an exception event.
func fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(keyErrorType.String(errorType(err)))
}

// errorType is the error.type of a handler's failure.
func errorType(err error) string {
	var pe *bus.PanicError
	if errors.As(err, &pe) {
		return "panic"
	}
	return "error"
}
