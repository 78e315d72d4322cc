package busotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busotel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// telemetry is a real SDK pipeline kept in memory: finished spans in a
// recorder, metrics behind a manual reader.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	obs    *busotel.Observer
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		tel.tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	obs, err := busotel.New(busotel.WithTracerProvider(tel.tp), busotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	tel.obs = obs
	return tel
}

func newBus(t *testing.T, obs bus.Observer, topics ...string) *bus.Bus {
	t.Helper()
	var n int
	b, err := bus.NewBus(bus.Next(func() string { n++; return fmt.Sprint("e", n) }), bus.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterTopics(topics...); err != nil {
		t.Fatal(err)
	}
	return b
}

// find returns the one ended span named name for which keep is true.
func find(t *testing.T, spans []sdktrace.ReadOnlySpan, name string, keep func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name && (keep == nil || keep(s)) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %q; want 1 (all: %s)", len(found), name, names(spans))
	}
	return found[0]
}

func names(spans []sdktrace.ReadOnlySpan) string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name())
	}
	return strings.Join(n, ", ")
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

func withHandler(key string) func(sdktrace.ReadOnlySpan) bool {
	return func(s sdktrace.ReadOnlySpan) bool { return attr(s, busotel.KeyHandler) == key }
}

func checkParent(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("span %q (%s) has parent %s; want %q (%s)", child.Name(), attr(child, busotel.KeyHandler),
			child.Parent().SpanID(), parent.Name(), parent.SpanContext().SpanID())
	}
}

var errDeclined = errors.New("declined")

func TestSpans(t *testing.T) {
	tel := newTelemetry(t)
	b := newBus(t, tel.obs, "order.created", "mail.sent")
	b.RegisterHandler("mailer", &bus.Handler{Matcher: "^order", Handle: func(e *bus.Event) {
		b.Emit(e.Context(), "mail.sent", "to ada")
	}})
	b.RegisterHandler("ledger", &bus.Handler{Matcher: "^order", HandleErr: func(*bus.Event) error { return errDeclined }})
	b.RegisterHandler("fragile", &bus.Handler{Matcher: "^order", Handle: func(*bus.Event) { panic("oops") }})
	b.RegisterHandler("audit", &bus.Handler{Matcher: "^mail", Handle: func(*bus.Event) {}})

	ctx, root := tel.tp.Tracer("test").Start(context.Background(), "request")
	e, err := b.Emit(ctx, "order.created", "A-1")
	root.End()
	if err == nil {
		t.Fatal("Emit() err = nil; want the ledger's and fragile's failures")
	}

	spans := tel.spans.Ended()
	request := find(t, spans, "request", nil)
	send := find(t, spans, "send order.created", nil)
	checkParent(t, send, request)
	if send.SpanKind() != trace.SpanKindProducer || send.Status().Code != codes.Error {
		t.Errorf("send span: kind %v, status %v; want producer, error", send.SpanKind(), send.Status())
	}
	for key, want := range map[attribute.Key]string{
		"messaging.system": "gobus", "messaging.operation.type": "send", "messaging.operation.name": "send", "error.type": "panic",
		"messaging.destination.name": "order.created", "messaging.message.id": e.ID, busotel.KeyTxID: e.TxID,
	} {
		if got := attr(send, key); got != want {
			t.Errorf("send span %s = %q; want %q", key, got, want)
		}
	}

	tests := []struct {
		key        string
		wantStatus codes.Code
		wantError  string
		wantType   string // error.type
	}{
		{"mailer", codes.Unset, "", ""},
		{"ledger", codes.Error, `bus: handler "ledger" failed: declined`, "error"},
		{"fragile", codes.Error, `bus: handler "fragile" panicked: oops`, "panic"},
	}
	for _, tt := range tests {
		s := find(t, spans, "process order.created", withHandler(tt.key))
		checkParent(t, s, send)
		if s.SpanKind() != trace.SpanKindConsumer || s.Status().Code != tt.wantStatus || s.Status().Description != tt.wantError {
			t.Errorf("%s span: kind %v, status %+v; want consumer, %v %q", tt.key, s.SpanKind(), s.Status(), tt.wantStatus, tt.wantError)
		}
		if got := attr(s, "error.type"); got != tt.wantType {
			t.Errorf("%s span error.type = %q; want %q", tt.key, got, tt.wantType)
		}
		if got := attr(s, "messaging.operation.name"); got != "process" {
			t.Errorf("%s span messaging.operation.name = %q; want process", tt.key, got)
		}
		if got := attr(s, "messaging.message.id"); got != e.ID {
			t.Errorf("%s span message id = %q; want %q", tt.key, got, e.ID)
		}
		if recorded := len(s.Events()) > 0 && s.Events()[0].Name == "exception"; recorded != (tt.wantError != "") {
			t.Errorf("%s span recorded an exception: %v; want %v", tt.key, recorded, tt.wantError != "")
		}
		if s.EndTime().Before(s.StartTime()) || s.StartTime().Before(send.StartTime()) || s.EndTime().After(send.EndTime()) {
			t.Errorf("%s span [%v, %v] is not within the send span [%v, %v]", tt.key, s.StartTime(), s.EndTime(), send.StartTime(), send.EndTime())
		}
	}

	// The mailer's Emit with e.Context() continues the trace under the
	// mailer's own span, which caused it, and stays in the transaction.
	nested := find(t, spans, "send mail.sent", nil)
	checkParent(t, nested, find(t, spans, "process order.created", withHandler("mailer")))
	if attr(nested, busotel.KeyTxID) != e.TxID {
		t.Errorf("nested send TxID = %q; want %q", attr(nested, busotel.KeyTxID), e.TxID)
	}
	checkParent(t, find(t, spans, "process mail.sent", withHandler("audit")), nested)
}

func TestMetrics(t *testing.T) {
	tel := newTelemetry(t)
	b := newBus(t, tel.obs, "order.created", "order.paid")
	b.RegisterHandler("all", &bus.Handler{Matcher: "*", Handle: func(*bus.Event) {}})
	b.RegisterHandler("payments", &bus.Handler{Matcher: "paid", HandleErr: func(e *bus.Event) error {
		if e.Data == "bounce" {
			return errDeclined
		}
		return nil
	}})
	b.RegisterHandler("fragile", &bus.Handler{Matcher: "created", Handle: func(e *bus.Event) {
		if e.Data == "boom" {
			panic("boom")
		}
	}})
	for _, ev := range []struct{ topic, data string }{
		{"order.created", "ok"}, {"order.created", "boom"}, {"order.created", "ok"},
		{"order.paid", "ok"}, {"order.paid", "bounce"},
	} {
		b.Emit(context.Background(), ev.topic, ev.data)
	}

	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					got[m.Name+"{"+labels(dp.Attributes)+"}"] = dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					got[m.Name+"{"+labels(dp.Attributes)+"}"] = int64(dp.Count)
				}
			}
		}
	}
	want := map[string]int64{
		"bus.events.emitted{messaging.destination.name=order.created}":    3,
		"bus.events.emitted{messaging.destination.name=order.paid}":       2,
		"bus.handler.calls{bus.handler.key=all}":                          5,
		"bus.handler.calls{bus.handler.key=payments}":                     2,
		"bus.handler.calls{bus.handler.key=fragile}":                      3,
		"bus.handler.failures{bus.handler.key=payments,error.type=error}": 1,
		"bus.handler.failures{bus.handler.key=fragile,error.type=panic}":  1,
		"bus.handler.duration{bus.handler.key=all}":                       5,
		"bus.handler.duration{bus.handler.key=payments}":                  2,
		"bus.handler.duration{bus.handler.key=fragile}":                   3,
	}
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("metrics:\n%v\nwant\n%v", sorted(got), sorted(want))
	}
}

func labels(set attribute.Set) string {
	var l []string
	for _, kv := range set.ToSlice() {
		l = append(l, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(l, ",")
}

func sorted(m map[string]int64) []string {
	var s []string
	for k, v := range m {
		s = append(s, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(s)
	return s
}
