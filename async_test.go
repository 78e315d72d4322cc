package bus_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
)

// checkNoAsyncGoroutines fails t if any goroutine of an Async is still
// running: every test closes what it starts.
func checkNoAsyncGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "bus.(*Async)") && !strings.Contains(stacks, "bus.NewAsync") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Async goroutines still running after Close:\n%s", stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func asyncBus(t *testing.T, a *bus.Async) *bus.Bus {
	t.Helper()
	b, _ := newBus(t, "t")
	mustRegister(t, b, "async", &bus.Handler{Matcher: "t", HandleErr: a.HandleErr})
	return b
}

func TestAsyncHandlesEveryEventExactlyOnce(t *testing.T) {
	defer checkNoAsyncGoroutines(t)
	for _, workers := range []int{1, 4} {
		var mu sync.Mutex
		seen := map[string]int{}
		var order []int
		a := bus.NewAsync("async", func(e *bus.Event) {
			mu.Lock()
			seen[e.ID]++
			order = append(order, e.Data.(int))
			mu.Unlock()
		}, &bus.AsyncOptions{Workers: workers, QueueSize: 16})
		b := asyncBus(t, a)

		const events = 1000
		for i := range events {
			mustEmit(t, b, context.Background(), "t", i)
		}
		if err := a.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(seen) != events || len(order) != events {
			t.Errorf("workers=%d: %d distinct events, %d calls; want %d", workers, len(seen), len(order), events)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("workers=%d: event %s handled %d times", workers, id, n)
			}
		}
		if workers == 1 {
			for i, v := range order {
				if v != i {
					t.Fatalf("one worker handled event %d at position %d; want emit order", v, i)
				}
			}
		}
		mu.Unlock()
		if err := a.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := a.Stats(), (bus.AsyncStats{Queued: events, Handled: events}); got != want {
			t.Errorf("workers=%d: Stats() = %+v; want %+v", workers, got, want)
		}
	}
}

// TestAsyncWaitIsAJoinPoint checks that Wait covers exactly the events
// queued before it, even when later ones finish first.
func TestAsyncWaitIsAJoinPoint(t *testing.T) {
	defer checkNoAsyncGoroutines(t)
	release := make(chan struct{})
	var handled atomic.Int64
	a := bus.NewAsync("async", func(e *bus.Event) {
		if e.Data == "slow" {
			<-release
		}
		handled.Add(1)
	}, &bus.AsyncOptions{Workers: 2})
	defer a.Close(context.Background())
	b := asyncBus(t, a)

	mustEmit(t, b, context.Background(), "t", "slow")
	mustEmit(t, b, context.Background(), "t", "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a slow event pending = %v; want DeadlineExceeded", err)
	}
	close(release)
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 2 {
		t.Errorf("after Wait, %d events handled; want 2", n)
	}
}

func TestAsyncBackPressureStopsAtContextDone(t *testing.T) {
	defer checkNoAsyncGoroutines(t)
	release := make(chan struct{})
	var reported []error
	var mu sync.Mutex
	a := bus.NewAsync("async", func(*bus.Event) { <-release }, &bus.AsyncOptions{
		QueueSize: 1,
		OnError: func(_ *bus.Event, err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		},
	})
	b := asyncBus(t, a)
	mustEmit(t, b, context.Background(), "t", 1) // taken by the worker
	mustEmit(t, b, context.Background(), "t", 2) // fills the queue
	for a.Stats().Queued < 2 {
		runtime.Gosched()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	e, err := b.Emit(ctx, "t", 3) // blocks on the full queue until ctx is done
	var he *bus.HandlerError
	if e == nil || !errors.As(err, &he) || he.Key != "async" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Emit on a full queue = %v, %v; want the event and a *HandlerError wrapping DeadlineExceeded", e, err)
	}
	if pe := (*bus.PanicError)(nil); errors.As(err, &pe) {
		t.Errorf("Emit on a full queue = %v; want an error, not a panic", err)
	}
	close(release)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := a.Stats(), (bus.AsyncStats{Queued: 2, Handled: 2, Dropped: 1}); got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}
	if len(reported) != 1 || !errors.Is(reported[0], context.DeadlineExceeded) {
		t.Errorf("OnError got %v; want one DeadlineExceeded", reported)
	}
}

func TestAsyncPanicsAreRecoveredAndReported(t *testing.T) {
	defer checkNoAsyncGoroutines(t)
	var reported atomic.Pointer[bus.PanicError]
	a := bus.NewAsync("fragile", func(e *bus.Event) {
		if e.Data == "boom" {
			panic("boom")
		}
	}, &bus.AsyncOptions{OnError: func(_ *bus.Event, err error) {
		var pe *bus.PanicError
		if errors.As(err, &pe) {
			reported.Store(pe)
		}
	}})
	b := asyncBus(t, a)
	mustEmit(t, b, context.Background(), "t", "boom")
	mustEmit(t, b, context.Background(), "t", "fine")
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pe := reported.Load(); pe == nil || pe.Key != "fragile" || pe.Value != "boom" {
		t.Errorf("OnError got %+v; want a *PanicError for key fragile with value boom", pe)
	}
	if got, want := a.Stats(), (bus.AsyncStats{Queued: 2, Handled: 2, Panicked: 1}); got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}
}

func TestAsyncReturnedErrorsAreReported(t *testing.T) {
	defer checkNoAsyncGoroutines(t)
	var mu sync.Mutex
	var reported []error
	a := bus.NewAsync("mailer", func(e *bus.Event) error {
		if e.Data == "bounce" {
			return errDeclined
		}
		return nil
	}, &bus.AsyncOptions{OnError: func(_ *bus.Event, err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	b := asyncBus(t, a)
	mustEmit(t, b, context.Background(), "t", "bounce")
	mustEmit(t, b, context.Background(), "t", "fine")
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var he *bus.HandlerError
	if len(reported) != 1 || !errors.Is(reported[0], errDeclined) || !errors.As(reported[0], &he) || he.Key != "mailer" {
		t.Errorf("OnError got %v; want one *HandlerError for key mailer wrapping errDeclined", reported)
	}
	if got, want := a.Stats(), (bus.AsyncStats{Queued: 2, Handled: 2, Failed: 1}); got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}
}

func TestAsyncClose(t *testing.T) {
	defer checkNoAsyncGoroutines(t)
	var handled atomic.Int64
	a := bus.NewAsync("async", func(*bus.Event) { handled.Add(1) }, &bus.AsyncOptions{Workers: 4})
	b := asyncBus(t, a)

	// Close while emitting: every event is either handled or reported to
	// its emitter, never lost.
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if _, err := b.Emit(context.Background(), "t", i); err != nil {
					if !errors.Is(err, bus.ErrClosed) {
						t.Errorf("Emit during Close: err = %v; want ErrClosed", err)
					}
					refused.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := handled.Load() + refused.Load(); got != 2000 {
		t.Errorf("handled %d + refused %d = %d; want 2000", handled.Load(), refused.Load(), got)
	}
	st := a.Stats()
	if st.Handled != uint64(handled.Load()) || st.Dropped != uint64(refused.Load()) {
		t.Errorf("Stats() = %+v; want Handled %d, Dropped %d", st, handled.Load(), refused.Load())
	}

	// Close twice, then emit after Close.
	if err := a.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
	if _, err := b.Emit(context.Background(), "t", "late"); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Emit after Close: err = %v; want ErrClosed", err)
	}
	if err := a.Wait(context.Background()); err != nil {
		t.Errorf("Wait after Close = %v; want nil", err)
	}
}

func TestAsyncCloseHonoursDeadline(t *testing.T) {
	defer checkNoAsyncGoroutines(t)
	release := make(chan struct{})
	var dropped atomic.Int64
	a := bus.NewAsync("async", func(*bus.Event) { <-release }, &bus.AsyncOptions{
		OnError: func(_ *bus.Event, err error) {
			if errors.Is(err, bus.ErrClosed) {
				dropped.Add(1)
			}
		},
	})
	b := asyncBus(t, a)
	for i := range 10 {
		mustEmit(t, b, context.Background(), "t", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a stuck handler = %v; want DeadlineExceeded", err)
	}
	close(release) // the stuck handler returns; the worker drops the rest
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := dropped.Load(); got != 9 {
		t.Errorf("%d events reported dropped; want 9", got)
	}
	if st := a.Stats(); st.Handled+st.Dropped != 10 {
		t.Errorf("Stats() = %+v; want Handled + Dropped = 10", st)
	}
}
