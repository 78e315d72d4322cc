package bus_test

import (
	"context"
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
)

// counter is an IDGenerator that returns "1", "2", ... and counts its calls.
type counter struct{ n atomic.Int64 }

func (c *counter) Generate() string { return strconv.FormatInt(c.n.Add(1), 10) }

func newBus(t testing.TB, topics ...string) (*bus.Bus, *counter) {
	t.Helper()
	g := &counter{}
	b, err := bus.NewBus(g)
	if err != nil {
		t.Fatalf("NewBus() error = %v", err)
	}
	if err := b.RegisterTopics(topics...); err != nil {
		t.Fatalf("RegisterTopics(%q) error = %v", topics, err)
	}
	return b, g
}

// recorder returns a Handler that appends name to *log, and is safe for
// concurrent use.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) handler(name, matcher string) *bus.Handler {
	return &bus.Handler{Matcher: matcher, Handle: func(*bus.Event) {
		r.mu.Lock()
		r.log = append(r.log, name)
		r.mu.Unlock()
	}}
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	log := r.log
	r.log = nil
	return log
}

func mustRegister(t testing.TB, b *bus.Bus, key string, h *bus.Handler) {
	t.Helper()
	if err := b.RegisterHandler(key, h); err != nil {
		t.Fatalf("RegisterHandler(%q) error = %v", key, err)
	}
}

func mustEmit(t testing.TB, b *bus.Bus, ctx context.Context, topic string, data any, opts ...bus.EmitOption) *bus.Event {
	t.Helper()
	e, err := b.Emit(ctx, topic, data, opts...)
	if err != nil {
		t.Fatalf("Emit(%q) error = %v", topic, err)
	}
	return e
}

func TestNewBusRejectsNilGenerator(t *testing.T) {
	for _, g := range []bus.IDGenerator{nil, bus.Next(nil)} {
		b, err := bus.NewBus(g)
		if b != nil || err == nil || err.Error() != "bus: Next() id generator func can't be nil" {
			t.Errorf("NewBus(%#v) = %v, %v; want nil, the nil-generator error", g, b, err)
		}
	}
}

func TestEmitDeliversInRegistrationOrder(t *testing.T) {
	tests := []struct {
		name        string
		topicsFirst bool
		deregister  []string
		reregister  string
		want        []string
	}{
		{name: "topic first", topicsFirst: true, want: []string{"a", "b", "c", "d"}},
		{name: "handlers first", want: []string{"a", "b", "c", "d"}},
		{name: "after deregistration", topicsFirst: true, deregister: []string{"b"}, want: []string{"a", "c", "d"}},
		{name: "handlers first, after deregistration", deregister: []string{"a", "c"}, want: []string{"b", "d"}},
		{name: "re-registration keeps place", topicsFirst: true, reregister: "b", want: []string{"a", "b2", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newBus(t)
			if tt.topicsFirst {
				b.RegisterTopics("order.created", "user.created")
			}
			r := &recorder{}
			for _, k := range []string{"a", "b", "c", "d"} {
				mustRegister(t, b, k, r.handler(k, "^order"))
			}
			mustRegister(t, b, "other", r.handler("other", "^user"))
			if !tt.topicsFirst {
				b.RegisterTopics("order.created", "user.created")
			}
			for _, k := range tt.deregister {
				b.DeregisterHandler(k)
			}
			if tt.reregister != "" {
				mustRegister(t, b, tt.reregister, r.handler(tt.reregister+"2", "^order"))
			}
			mustEmit(t, b, context.Background(), "order.created", nil)
			if got := r.take(); !slices.Equal(got, tt.want) {
				t.Errorf("delivered to %q; want %q", got, tt.want)
			}
		})
	}
}

func TestMatcherIsUnanchoredRegexp(t *testing.T) {
	b, _ := newBus(t, "order.created", "reorder", "user.created")
	tests := []struct {
		matcher string
		want    []string
	}{
		{".*", []string{"order.created", "reorder", "user.created"}},
		{"", []string{"order.created", "reorder", "user.created"}},
		{"*", []string{"order.created", "reorder", "user.created"}},
		{"order", []string{"order.created", "reorder"}},
		{`^order\.`, []string{"order.created"}},
		{"created$", []string{"order.created", "user.created"}},
		{"nothing", []string{}},
	}
	for _, tt := range tests {
		key := "matcher " + tt.matcher
		mustRegister(t, b, key, &bus.Handler{Matcher: tt.matcher, Handle: func(*bus.Event) {}})
		if got := b.HandlerTopicSubscriptions(key); !slices.Equal(got, tt.want) {
			t.Errorf("HandlerTopicSubscriptions(%q) = %q; want %q", tt.matcher, got, tt.want)
		}
		for _, topic := range b.Topics() {
			subscribed := slices.Contains(tt.want, topic)
			registered := slices.ContainsFunc(b.TopicHandlers(topic), func(h *bus.Handler) bool { return h.Matcher == tt.matcher })
			if subscribed != registered {
				t.Errorf("matcher %q: TopicHandlers(%q) contains it = %v; want %v", tt.matcher, topic, registered, subscribed)
			}
		}
	}
}

func TestEmitUnknownTopic(t *testing.T) {
	b, _ := newBus(t, "known")
	called := false
	mustRegister(t, b, "all", &bus.Handler{Matcher: ".*", Handle: func(*bus.Event) { called = true }})
	e, err := b.Emit(context.Background(), "unknown", 1)
	if e != nil || !errors.Is(err, bus.ErrTopicNotFound) {
		t.Fatalf("Emit(unknown) = %v, %v; want nil, ErrTopicNotFound", e, err)
	}
	if got, want := err.Error(), "bus: topic(unknown) not found"; got != want {
		t.Errorf("err.Error() = %q; want %q", got, want)
	}
	if called {
		t.Error("a handler was called for an unknown topic")
	}
	b.DeregisterTopics("known")
	if _, err := b.Emit(context.Background(), "known", 1); !errors.Is(err, bus.ErrTopicNotFound) {
		t.Errorf("Emit on a deregistered topic: err = %v; want ErrTopicNotFound", err)
	}
}

func TestRegisterTopicsRefusesBadNames(t *testing.T) {
	tests := []struct {
		name, topic, wantErr string
	}{
		{"empty", "", `bus: invalid topic: empty name`},
		{"leading space", " order", `bus: invalid topic " order": leading or trailing whitespace`},
		{"trailing space", "order ", `bus: invalid topic "order ": leading or trailing whitespace`},
		{"trailing non-breaking space", "order\u00a0", `bus: invalid topic "order\u00a0": leading or trailing whitespace`},
		{"only spaces", "   ", `bus: invalid topic "   ": leading or trailing whitespace`},
		{"tab", "order\tcreated", `bus: invalid topic "order\tcreated": contains control character U+0009`},
		{"newline", "order\n", `bus: invalid topic "order\n": contains control character U+000A`},
		{"NUL", "a\x00", `bus: invalid topic "a\x00": contains control character U+0000`},
		{"invalid UTF-8", "a\xffb", `bus: invalid topic "a\xffb": invalid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newBus(t)
			err := b.RegisterTopics("valid", tt.topic, "also.valid")
			if !errors.Is(err, bus.ErrInvalidTopic) || err.Error() != tt.wantErr {
				t.Fatalf("RegisterTopics(%q) = %v; want %s", tt.topic, err, tt.wantErr)
			}
			if got := b.Topics(); len(got) != 0 {
				t.Errorf("after a refused RegisterTopics, Topics() = %q; want none", got)
			}
		})
	}
}

func TestNamesWithInnerSpaces(t *testing.T) {
	b, _ := newBus(t, "service added", "runtime begin", "service.removed")
	r := &recorder{}
	mustRegister(t, b, "all", r.handler("all", "*"))
	mustRegister(t, b, "services", r.handler("services", "^service "))
	mustEmit(t, b, nil, "service added", nil)
	mustEmit(t, b, nil, "runtime begin", nil)
	mustEmit(t, b, nil, "service.removed", nil)
	if got, want := r.take(), []string{"all", "services", "all", "all"}; !slices.Equal(got, want) {
		t.Errorf("deliveries = %q; want %q", got, want)
	}
	if got, want := b.HandlerTopicSubscriptions("services"), []string{"service added"}; !slices.Equal(got, want) {
		t.Errorf("HandlerTopicSubscriptions(services) = %q; want %q", got, want)
	}
}

func TestRegisterTopicsIsIdempotent(t *testing.T) {
	b, _ := newBus(t, "a", "b", "a")
	r := &recorder{}
	mustRegister(t, b, "h", r.handler("h", "a"))
	if err := b.RegisterTopics("a"); err != nil {
		t.Fatal(err)
	}
	mustEmit(t, b, nil, "a", nil)
	if got := r.take(); len(got) != 1 {
		t.Errorf("delivered %d times; want 1", len(got))
	}
	if got, want := b.Topics(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Topics() = %q; want %q", got, want)
	}
}

func TestRegisterHandlerRefusesBadInput(t *testing.T) {
	noop := func(*bus.Event) {}
	tests := []struct {
		name    string
		key     string
		h       *bus.Handler
		wantErr string
	}{
		{"empty key", "", &bus.Handler{Handle: noop}, `bus: invalid handler: empty key`},
		{"nil handler", "k", nil, `bus: invalid handler "k": nil *Handler`},
		{"neither Handle nor HandleErr", "k", &bus.Handler{Matcher: ".*"}, `bus: invalid handler "k": set exactly one of Handle and HandleErr`},
		{"both Handle and HandleErr", "k", &bus.Handler{Handle: noop, HandleErr: func(*bus.Event) error { return nil }},
			`bus: invalid handler "k": set exactly one of Handle and HandleErr`},
		{"bad regexp", "k", &bus.Handler{Matcher: "order.(", Handle: noop},
			"bus: invalid handler \"k\": matcher: error parsing regexp: missing closing ): `order.(`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newBus(t, "order.created")
			r := &recorder{}
			mustRegister(t, b, "k", r.handler("original", "order"))
			err := b.RegisterHandler(tt.key, tt.h)
			if !errors.Is(err, bus.ErrInvalidHandler) || err.Error() != tt.wantErr {
				t.Fatalf("RegisterHandler() = %v; want %s", err, tt.wantErr)
			}
			mustEmit(t, b, nil, "order.created", nil)
			if got, want := r.take(), []string{"original"}; !slices.Equal(got, want) {
				t.Errorf("after a refused registration, delivered to %q; want %q", got, want)
			}
			if got, want := b.HandlerKeys(), []string{"k"}; !slices.Equal(got, want) {
				t.Errorf("HandlerKeys() = %q; want %q", got, want)
			}
		})
	}
}

func TestRegisterHandlerBadRegexpUnwraps(t *testing.T) {
	b, _ := newBus(t)
	err := b.RegisterHandler("k", &bus.Handler{Matcher: "[", Handle: func(*bus.Event) {}})
	var syntaxErr *syntax.Error
	if !errors.As(err, &syntaxErr) {
		t.Errorf("errors.As(%v, *syntax.Error) = false; want true", err)
	}
}

func TestReRegisteringReplaces(t *testing.T) {
	b, _ := newBus(t, "order.created", "user.created")
	r := &recorder{}
	mustRegister(t, b, "k", r.handler("first", "order"))
	mustRegister(t, b, "k", r.handler("second", "order"))
	mustEmit(t, b, nil, "order.created", nil)
	if got, want := r.take(), []string{"second"}; !slices.Equal(got, want) {
		t.Errorf("delivered to %q; want %q", got, want)
	}

	// A new matcher moves the subscription.
	mustRegister(t, b, "k", r.handler("third", "user"))
	mustEmit(t, b, nil, "order.created", nil)
	mustEmit(t, b, nil, "user.created", nil)
	if got, want := r.take(), []string{"third"}; !slices.Equal(got, want) {
		t.Errorf("delivered to %q; want %q", got, want)
	}
}

func TestSameFuncUnderTwoKeys(t *testing.T) {
	b, _ := newBus(t, "t")
	var calls []string
	mk := func(name string) func(*bus.Event) {
		return func(*bus.Event) { calls = append(calls, name) }
	}
	h := &bus.Handler{Matcher: "t", Handle: mk("shared")}
	mustRegister(t, b, "one", h)
	mustRegister(t, b, "two", h)
	mustRegister(t, b, "three", &bus.Handler{Matcher: "t", Handle: mk("x")})
	mustRegister(t, b, "four", &bus.Handler{Matcher: "t", Handle: mk("y")})
	mustEmit(t, b, nil, "t", nil)
	if want := []string{"shared", "shared", "x", "y"}; !slices.Equal(calls, want) {
		t.Errorf("delivered to %q; want %q", calls, want)
	}
}

func TestEmitUsesSnapshot(t *testing.T) {
	b, _ := newBus(t, "t")
	r := &recorder{}
	mustRegister(t, b, "first", &bus.Handler{Matcher: "t", Handle: func(*bus.Event) {
		r.mu.Lock()
		r.log = append(r.log, "first")
		r.mu.Unlock()
		// Changes made while delivering apply from the next Emit.
		b.DeregisterHandler("second")
		if err := b.RegisterHandler("third", r.handler("third", "t")); err != nil {
			t.Error(err)
		}
	}})
	mustRegister(t, b, "second", r.handler("second", "t"))

	mustEmit(t, b, nil, "t", nil)
	if got, want := r.take(), []string{"first", "second"}; !slices.Equal(got, want) {
		t.Errorf("first Emit delivered to %q; want %q", got, want)
	}
	mustEmit(t, b, nil, "t", nil)
	if got, want := r.take(), []string{"first", "third"}; !slices.Equal(got, want) {
		t.Errorf("second Emit delivered to %q; want %q", got, want)
	}
}

func TestHandlersMayCallBackIntoTheBus(t *testing.T) {
	b, _ := newBus(t, "outer", "inner")
	r := &recorder{}
	mustRegister(t, b, "inner", r.handler("inner", "^inner$"))
	mustRegister(t, b, "outer", &bus.Handler{Matcher: "^outer$", Handle: func(e *bus.Event) {
		if _, err := b.Emit(e.Context(), "inner", nil); err != nil {
			t.Error(err)
		}
		if err := b.RegisterTopics("made.by.handler"); err != nil {
			t.Error(err)
		}
		_ = b.Topics()
		_ = b.HandlerKeys()
		_ = b.TopicHandlers("outer")
		_ = b.HandlerTopicSubscriptions("outer")
		if err := b.RegisterHandler("temp", r.handler("temp", "made")); err != nil {
			t.Error(err)
		}
		b.DeregisterHandler("temp")
		b.DeregisterTopics("made.by.handler")
	}})

	done := make(chan struct{})
	go func() {
		defer close(done)
		mustEmit(t, b, nil, "outer", nil)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Emit from a handler deadlocked")
	}
	if got, want := r.take(), []string{"inner"}; !slices.Equal(got, want) {
		t.Errorf("delivered to %q; want %q", got, want)
	}
}

var errBoom = errors.New("boom")

func TestPanickingHandlersAreIsolated(t *testing.T) {
	b, _ := newBus(t, "t")
	r := &recorder{}
	mustRegister(t, b, "a", r.handler("a", "t"))
	mustRegister(t, b, "p1", &bus.Handler{Matcher: "t", Handle: func(*bus.Event) { panic("first") }})
	mustRegister(t, b, "b", r.handler("b", "t"))
	mustRegister(t, b, "p2", &bus.Handler{Matcher: "t", Handle: func(*bus.Event) { panic(errBoom) }})
	mustRegister(t, b, "c", r.handler("c", "t"))

	e, err := b.Emit(context.Background(), "t", "data")
	if e == nil || e.Data != "data" {
		t.Fatalf("Emit() event = %v; want the event", e)
	}
	if got, want := r.take(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("delivered to %q; want %q", got, want)
	}
	if !errors.Is(err, errBoom) {
		t.Errorf("errors.Is(err, errBoom) = false; want true for a panic with an error value")
	}
	var pe *bus.PanicError
	if !errors.As(err, &pe) || pe.Key != "p1" || pe.Value != "first" || len(pe.Stack) == 0 {
		t.Errorf("errors.As(err, *PanicError) = %+v; want key p1, value first and a stack", pe)
	}
	want := "bus: handler \"p1\" panicked: first\nbus: handler \"p2\" panicked: boom"
	if err.Error() != want {
		t.Errorf("err.Error() = %q; want %q", err, want)
	}

	// The bus stays usable.
	b.DeregisterHandler("p1")
	b.DeregisterHandler("p2")
	if _, err := b.Emit(context.Background(), "t", nil); err != nil {
		t.Errorf("Emit after panics: err = %v; want nil", err)
	}
	if got, want := r.take(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("delivered to %q; want %q", got, want)
	}
}

func TestPanicOfLastHandler(t *testing.T) {
	b, _ := newBus(t, "t")
	mustRegister(t, b, "p", &bus.Handler{Matcher: "t", Handle: func(*bus.Event) { panic(nil) }})
	_, err := b.Emit(context.Background(), "t", nil)
	var pe *bus.PanicError
	if !errors.As(err, &pe) || pe.Key != "p" {
		t.Errorf("Emit() err = %v; want a *PanicError for key p", err)
	}
}

func TestTxID(t *testing.T) {
	type ctxKeyOther struct{}
	base := context.WithValue(context.Background(), ctxKeyOther{}, "kept")
	withTx := context.WithValue(base, bus.CtxKeyTxID, "tx-1")
	tests := []struct {
		name       string
		ctx        context.Context
		opts       []bus.EmitOption
		wantTxID   string // "" means the event's own ID
		wantSameCt bool
	}{
		{name: "new transaction", ctx: base},
		{name: "nil ctx", ctx: nil},
		{name: "empty TxID in ctx starts one", ctx: context.WithValue(base, bus.CtxKeyTxID, "")},
		{name: "non-string TxID in ctx is ignored", ctx: context.WithValue(base, bus.CtxKeyTxID, 42)},
		{name: "joined transaction", ctx: withTx, wantTxID: "tx-1", wantSameCt: true},
		{name: "option overrides ctx", ctx: withTx, opts: []bus.EmitOption{bus.WithTxID("tx-2")}, wantTxID: "tx-2"},
		{name: "option equal to ctx", ctx: withTx, opts: []bus.EmitOption{bus.WithTxID("tx-1")}, wantTxID: "tx-1", wantSameCt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, g := newBus(t, "t")
			var seen *bus.Event
			mustRegister(t, b, "h", &bus.Handler{Matcher: "t", Handle: func(e *bus.Event) { seen = e }})
			e := mustEmit(t, b, tt.ctx, "t", nil, tt.opts...)
			if seen != e {
				t.Errorf("Emit returned %p; handler saw %p", e, seen)
			}
			if n := g.n.Load(); n != 1 {
				t.Errorf("generator called %d times; want 1", n)
			}
			want := tt.wantTxID
			if want == "" {
				want = e.ID
			}
			if e.TxID != want {
				t.Errorf("TxID = %q; want %q", e.TxID, want)
			}
			ctx := e.Context()
			if got := ctx.Value(bus.CtxKeyTxID); got != want {
				t.Errorf("Context().Value(CtxKeyTxID) = %v; want %q", got, want)
			}
			if tt.wantSameCt && ctx != tt.ctx {
				t.Errorf("Context() = %v; want the ctx given to Emit", ctx)
			}
			if tt.ctx != nil && ctx.Value(ctxKeyOther{}) != "kept" {
				t.Errorf("Context() lost the values of the ctx given to Emit")
			}
		})
	}
}

func TestTxIDPropagatesThroughNestedEmits(t *testing.T) {
	b, _ := newBus(t, "first", "second", "third")
	var events []*bus.Event
	emitNext := map[string]string{"first": "second", "second": "third"}
	mustRegister(t, b, "chain", &bus.Handler{Matcher: ".*", Handle: func(e *bus.Event) {
		events = append(events, e)
		if next, ok := emitNext[e.Topic]; ok {
			mustEmit(t, b, e.Context(), next, nil)
		}
	}})
	root := mustEmit(t, b, context.Background(), "first", nil)
	if len(events) != 3 {
		t.Fatalf("delivered %d events; want 3", len(events))
	}
	for _, e := range events {
		if e.TxID != root.ID {
			t.Errorf("event %s on %s: TxID = %q; want the root's ID %q", e.ID, e.Topic, e.TxID, root.ID)
		}
	}
}

func TestEventContextCarriesCancellation(t *testing.T) {
	b, _ := newBus(t, "t")
	ctx, cancel := context.WithCancelCause(context.Background())
	var seen context.Context
	mustRegister(t, b, "h", &bus.Handler{Matcher: "t", Handle: func(e *bus.Event) { seen = e.Context() }})
	mustEmit(t, b, ctx, "t", nil)
	cancel(errBoom)
	select {
	case <-seen.Done():
	default:
		t.Fatal("Event.Context() is not cancelled with the Emit context")
	}
	if !errors.Is(seen.Err(), context.Canceled) || context.Cause(seen) != errBoom {
		t.Errorf("Err() = %v, Cause = %v; want Canceled, errBoom", seen.Err(), context.Cause(seen))
	}
}

func TestEmitOptions(t *testing.T) {
	b, g := newBus(t, "t")
	at := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	e := mustEmit(t, b, nil, "t", nil,
		bus.WithID("remote-id"), bus.WithSource("node-2"), bus.WithOccurredAt(at))
	if e.ID != "remote-id" || e.TxID != "remote-id" || e.Source != "node-2" || e.OccurredAt != at.UnixNano() {
		t.Errorf("Emit() = %+v; want the ID, TxID, Source and OccurredAt given", e)
	}
	if n := g.n.Load(); n != 0 {
		t.Errorf("generator called %d times; want 0 with WithID", n)
	}
	e = mustEmit(t, b, nil, "t", nil, bus.WithID(""), bus.WithOccurredAt(time.Time{}))
	if e.ID != "1" || e.OccurredAt == 0 {
		t.Errorf("empty options: ID = %q, OccurredAt = %d; want a generated ID and the current time", e.ID, e.OccurredAt)
	}
}

func TestEventFields(t *testing.T) {
	b, _ := newBus(t, "t")
	var last int64
	for i := range 1000 {
		before := time.Now().UnixNano()
		e := mustEmit(t, b, nil, "t", nil)
		after := time.Now().UnixNano()
		if e.OccurredAt < before || e.OccurredAt > after {
			t.Fatalf("OccurredAt = %d; want within [%d, %d]", e.OccurredAt, before, after)
		}
		if e.OccurredAt < last {
			t.Fatalf("emit %d: OccurredAt went back from %d to %d", i, last, e.OccurredAt)
		}
		last = e.OccurredAt
		if e.Topic != "t" || e.Data != nil || e.Source != "" {
			t.Fatalf("Emit() = %+v; want topic t, nil Data, no Source", e)
		}
	}
}

func TestQueriesOnUnknownNames(t *testing.T) {
	b, _ := newBus(t)
	b.DeregisterHandler("nope")
	b.DeregisterTopics("nope")
	if got := b.TopicHandlers("nope"); got == nil || len(got) != 0 {
		t.Errorf("TopicHandlers(unknown) = %#v; want an empty slice", got)
	}
	if got := b.HandlerTopicSubscriptions("nope"); got == nil || len(got) != 0 {
		t.Errorf("HandlerTopicSubscriptions(unknown) = %#v; want an empty slice", got)
	}
	if got := b.Topics(); got == nil || len(got) != 0 {
		t.Errorf("Topics() = %#v; want an empty slice", got)
	}
	if got := b.HandlerKeys(); got == nil || len(got) != 0 {
		t.Errorf("HandlerKeys() = %#v; want an empty slice", got)
	}
}

func TestQueries(t *testing.T) {
	b, _ := newBus(t, "user.created", "order.created", "order.paid")
	h1 := &bus.Handler{Matcher: "^order", Handle: func(*bus.Event) {}}
	h2 := &bus.Handler{Matcher: "created", Handle: func(*bus.Event) {}}
	mustRegister(t, b, "z-orders", h1)
	mustRegister(t, b, "a-created", h2)

	if got, want := b.Topics(), []string{"order.created", "order.paid", "user.created"}; !slices.Equal(got, want) {
		t.Errorf("Topics() = %q; want %q", got, want)
	}
	if got, want := b.HandlerKeys(), []string{"z-orders", "a-created"}; !slices.Equal(got, want) {
		t.Errorf("HandlerKeys() = %q; want %q (registration order)", got, want)
	}
	if got, want := b.TopicHandlers("order.created"), []*bus.Handler{h1, h2}; !slices.Equal(got, want) {
		t.Errorf("TopicHandlers(order.created) = %v; want %v", got, want)
	}
	if got, want := b.HandlerTopicSubscriptions("a-created"), []string{"order.created", "user.created"}; !slices.Equal(got, want) {
		t.Errorf("HandlerTopicSubscriptions(a-created) = %q; want %q", got, want)
	}
}

func TestZeroBusDoesNotPanic(t *testing.T) {
	var b bus.Bus
	if err := b.RegisterTopics("t"); err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterHandler("h", &bus.Handler{Handle: func(*bus.Event) {}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Emit(context.Background(), "t", nil); err == nil {
		t.Error("Emit on a zero Bus: err = nil; want an error asking for NewBus")
	}
	if e, err := b.Emit(context.Background(), "t", nil, bus.WithID("given")); err != nil || e.ID != "given" {
		t.Errorf("Emit on a zero Bus WithID = %v, %v; want the event", e, err)
	}
}

// TestConcurrentUse races emitters against writers. Handlers "stable-N" stay
// registered throughout and must see every event exactly once; churned
// handlers come and go and must never see an event twice.
func TestConcurrentUse(t *testing.T) {
	const (
		topics   = 8
		emitters = 8
		emits    = 2000
		stable   = 4
	)
	b, _ := newBus(t)
	for i := range topics {
		if err := b.RegisterTopics(fmt.Sprintf("t.%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var stableCount [stable]atomic.Int64
	for i := range stable {
		mustRegister(t, b, fmt.Sprintf("stable-%d", i), &bus.Handler{Matcher: `^t\.`, Handle: func(*bus.Event) { stableCount[i].Add(1) }})
	}

	var seen sync.Map // event ID + handler key → struct{}
	var dup atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("churn-%d-%d", w, i%5)
				err := b.RegisterHandler(key, &bus.Handler{Matcher: fmt.Sprintf(`\.%d$`, i%topics), Handle: func(e *bus.Event) {
					if _, loaded := seen.LoadOrStore(e.ID+"/"+key, struct{}{}); loaded {
						dup.Add(1)
					}
				}})
				if err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					b.DeregisterHandler(key)
				}
				extra := fmt.Sprintf("extra.%d.%d", w, i%7)
				b.RegisterTopics(extra)
				b.DeregisterTopics(extra)
				_ = b.Topics()
				_ = b.HandlerKeys()
				_ = b.TopicHandlers("t.0")
				_ = b.HandlerTopicSubscriptions(key)
			}
		}()
	}
	var emitWG sync.WaitGroup
	for w := range emitters {
		emitWG.Add(1)
		go func() {
			defer emitWG.Done()
			for i := range emits {
				if _, err := b.Emit(context.Background(), fmt.Sprintf("t.%d", (w+i)%topics), i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	emitWG.Wait()
	close(stop)
	wg.Wait()

	for i := range stable {
		if got := stableCount[i].Load(); got != emitters*emits {
			t.Errorf("stable-%d received %d events; want %d", i, got, emitters*emits)
		}
	}
	if n := dup.Load(); n != 0 {
		t.Errorf("%d events were delivered twice to the same handler", n)
	}
}

func TestEmitAllocations(t *testing.T) {
	b, err := bus.NewBus(bus.Next(func() string { return "id" }))
	if err != nil {
		t.Fatal(err)
	}
	b.RegisterTopics("t", "nested")
	for i := range 10 {
		mustRegister(t, b, strconv.Itoa(i), &bus.Handler{Matcher: "^t$", Handle: func(*bus.Event) {}})
	}
	mustRegister(t, b, "nest", &bus.Handler{Matcher: "^t$", Handle: func(e *bus.Event) {
		b.Emit(e.Context(), "nested", nil)
	}})
	withTx := context.WithValue(context.Background(), bus.CtxKeyTxID, "tx")
	tests := []struct {
		name  string
		ctx   context.Context
		topic string
		want  float64
	}{
		{"no TxID", context.Background(), "nested", 1},
		{"TxID in ctx", withTx, "nested", 1},
		{"nested emit with Event.Context", context.Background(), "t", 2},
	}
	for _, tt := range tests {
		got := testing.AllocsPerRun(1000, func() { b.Emit(tt.ctx, tt.topic, nil) })
		if got != tt.want {
			t.Errorf("%s: Emit makes %v allocations; want %v", tt.name, got, tt.want)
		}
	}
}
