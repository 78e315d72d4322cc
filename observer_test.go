package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobus/bus"
)

// callLog is an Observer that records what it sees as lines of text. Its
// EmitStart and HandlerStart put its name under one key that every callLog
// shares, as tracing observers share the current span's key: each must
// still get its own value back in HandlerDone and EmitDone.
type callLog struct {
	name  string
	mu    sync.Mutex
	lines []string
}

type ctxKeyObserved struct{}

func (l *callLog) add(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *callLog) EmitStart(ctx context.Context, e *bus.Event) context.Context {
	l.add("start %s %s", e.Topic, e.ID)
	return context.WithValue(ctx, ctxKeyObserved{}, l.name+"emit "+e.ID)
}

// HandlerStart marks the call's context, as a tracer's handler span would.
func (l *callLog) HandlerStart(ctx context.Context, e *bus.Event, key string) context.Context {
	return context.WithValue(ctx, ctxKeyObserved{}, l.name+"handler "+key)
}

func (l *callLog) HandlerDone(ctx context.Context, e *bus.Event, key string, start time.Time, took time.Duration, err error) {
	if start.IsZero() || took < 0 {
		l.add("bad timing for %s: %v %v", key, start, took)
	}
	if got, want := ctx.Value(ctxKeyObserved{}), l.name+"handler "+key; got != want {
		l.add("HandlerDone got the context of %v; want its own, %s", got, want)
	}
	l.add("handler %s %s: %v", e.ID, key, err)
}

func (l *callLog) EmitDone(ctx context.Context, e *bus.Event, err error) {
	if got, want := ctx.Value(ctxKeyObserved{}), l.name+"emit "+e.ID; got != want {
		l.add("EmitDone got the context of %v; want its own, %s", got, want)
	}
	l.add("done %s: %v", e.ID, err)
}

func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	l.lines = nil
	return lines
}

var errDeclined = errors.New("declined")

type limitError struct{ limit int }

func (e *limitError) Error() string { return fmt.Sprintf("over limit %d", e.limit) }

// TestHandlerFailures runs handlers that succeed, return errors and panic,
// on a bus without and with an Observer: both delivery paths must call
// every handler in order and report the same failures.
func TestHandlerFailures(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(fmt.Sprintf("observed=%v", observed), func(t *testing.T) {
			log := &callLog{}
			var opts []bus.Option
			if observed {
				opts = append(opts, bus.WithObserver(log))
			}
			b, err := bus.NewBus(&counter{}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			b.RegisterTopics("order.created")
			r := &recorder{}
			fail := func(name string, err error) *bus.Handler {
				return &bus.Handler{Matcher: "order", HandleErr: func(*bus.Event) error {
					r.mu.Lock()
					r.log = append(r.log, name)
					r.mu.Unlock()
					return err
				}}
			}
			mustRegister(t, b, "a", r.handler("a", "order"))
			mustRegister(t, b, "declines", fail("declines", errDeclined))
			mustRegister(t, b, "ok", fail("ok", nil))
			mustRegister(t, b, "panics", &bus.Handler{Matcher: "order", Handle: func(*bus.Event) { panic(errBoom) }})
			mustRegister(t, b, "limits", fail("limits", fmt.Errorf("charge: %w", &limitError{100})))
			mustRegister(t, b, "z", r.handler("z", "order"))

			e, err := b.Emit(context.Background(), "order.created", nil)
			if e == nil {
				t.Fatal("Emit returned no event")
			}
			if got, want := r.take(), []string{"a", "declines", "ok", "limits", "z"}; !slices.Equal(got, want) {
				t.Errorf("called %q; want %q", got, want)
			}
			want := "bus: handler \"declines\" failed: declined\n" +
				"bus: handler \"panics\" panicked: boom\n" +
				"bus: handler \"limits\" failed: charge: over limit 100"
			if err == nil || err.Error() != want {
				t.Fatalf("Emit() err = %v; want %q", err, want)
			}
			var he *bus.HandlerError
			var le *limitError
			var pe *bus.PanicError
			switch {
			case !errors.Is(err, errDeclined) || !errors.Is(err, errBoom):
				t.Errorf("errors.Is(err, errDeclined/errBoom) = false; want true")
			case !errors.As(err, &he) || he.Key != "declines":
				t.Errorf("errors.As(err, *HandlerError) = %+v; want the first failure, key declines", he)
			case !errors.As(err, &le) || le.limit != 100:
				t.Errorf("errors.As(err, *limitError) = %v; want limit 100", le)
			case !errors.As(err, &pe) || pe.Key != "panics":
				t.Errorf("errors.As(err, *PanicError) = %+v; want key panics", pe)
			}

			lines := log.take()
			if !observed {
				if len(lines) != 0 {
					t.Errorf("observer saw %q without being attached", lines)
				}
				return
			}
			wantLines := []string{
				"start order.created 1",
				"handler 1 a: <nil>",
				`handler 1 declines: bus: handler "declines" failed: declined`,
				"handler 1 ok: <nil>",
				`handler 1 panics: bus: handler "panics" panicked: boom`,
				`handler 1 limits: bus: handler "limits" failed: charge: over limit 100`,
				"handler 1 z: <nil>",
				"done 1: " + want,
			}
			if !slices.Equal(lines, wantLines) {
				t.Errorf("observer saw\n%q\nwant\n%q", lines, wantLines)
			}
		})
	}
}

// TestObserverContext checks that the context the last Observer returns is
// the one handlers see through Event.Context, from EmitStart for the Emit
// and from HandlerStart for each call, so that nested Emits hang under the
// handler that made them; that several observers are called in order; and
// that each gets back the contexts its own methods returned (callLog
// checks that).
func TestObserverContext(t *testing.T) {
	first, second := &callLog{name: "first "}, &callLog{name: "second "}
	b, err := bus.NewBus(&counter{}, bus.WithObserver(first), bus.WithObserver(nil), bus.WithObserver(second))
	if err != nil {
		t.Fatal(err)
	}
	b.RegisterTopics("order.created", "mail.sent")
	var seen, nestedParent string
	var kept *bus.Event
	mustRegister(t, b, "keeper", &bus.Handler{Matcher: "^order", Handle: func(e *bus.Event) { kept = e }})
	mustRegister(t, b, "mailer", &bus.Handler{Matcher: "^order", Handle: func(e *bus.Event) {
		seen = e.Context().Value(ctxKeyObserved{}).(string)
		if _, err := b.Emit(e.Context(), "mail.sent", nil); err != nil {
			t.Error(err)
		}
	}})
	mustRegister(t, b, "audit", &bus.Handler{Matcher: "^mail", Handle: func(e *bus.Event) {
		nestedParent = e.Context().Value(ctxKeyObserved{}).(string)
	}})
	e := mustEmit(t, b, context.Background(), "order.created", nil)
	if want := "second handler mailer"; seen != want {
		t.Errorf("handler saw context value %q; want the last observer's for its call, %q", seen, want)
	}
	if want := "second handler audit"; nestedParent != want {
		t.Errorf("nested handler saw %q; want %q", nestedParent, want)
	}
	// The keeper's event is a copy that keeps its call's context after the
	// next handler ran, as an Async queue needs; Emit returns the original.
	if kept == e || kept.ID != e.ID || kept.Context().Value(ctxKeyObserved{}) != "second handler keeper" {
		t.Errorf("kept event %p (context %v); want a copy of %p with the keeper's context", kept, kept.Context().Value(ctxKeyObserved{}), e)
	}
	if got := e.Context().Value(ctxKeyObserved{}); got != "second emit "+e.ID {
		t.Errorf("the returned event's context holds %v; want the Emit's", got)
	}
	if got, want := first.take(), second.take(); !slices.Equal(got, want) || len(got) != 7 {
		t.Errorf("observers saw\n%q\nand\n%q\nwant the same 7 lines", got, want)
	}
	if e.Context().Value(bus.CtxKeyTxID) != e.TxID || kept.Context().Value(bus.CtxKeyTxID) != e.TxID {
		t.Errorf("Event.Context() lost the TxID")
	}
}

// TestEmitAllocationsWithObserver checks that observers that allocate
// nothing add no allocation to Emit, one or several: each one's context is
// kept on the stack.
func TestEmitAllocationsWithObserver(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		var opts []bus.Option
		for range n {
			opts = append(opts, bus.WithObserver(nopObserver{}))
		}
		b, err := bus.NewBus(bus.Next(func() string { return "id" }), opts...)
		if err != nil {
			t.Fatal(err)
		}
		b.RegisterTopics("t")
		mustRegister(t, b, "h", &bus.Handler{Matcher: "t", Handle: func(*bus.Event) {}})
		if got := testing.AllocsPerRun(1000, func() { b.Emit(context.Background(), "t", nil) }); got != 1 {
			t.Errorf("Emit with %d observers: %v allocations; want 1", n, got)
		}
	}
}

type nopObserver struct{}

func (nopObserver) EmitStart(ctx context.Context, _ *bus.Event) context.Context      { return ctx }
func (nopObserver) HandlerStart(context.Context, *bus.Event, string) context.Context { return nil }
func (nopObserver) HandlerDone(context.Context, *bus.Event, string, time.Time, time.Duration, error) {
}
func (nopObserver) EmitDone(context.Context, *bus.Event, error) {}
