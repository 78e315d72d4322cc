package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobus/bus"
)

// Handle funcs are plain funcs, so cross-cutting concerns are wrappers:
// functions from a Handle func to a Handle func, composed by calling them.

// counted counts the events h receives.
func counted(n *atomic.Int64, h func(*bus.Event)) func(*bus.Event) {
	return func(e *bus.Event) {
		n.Add(1)
		h(e)
	}
}

// audited logs every event h receives.
func audited(log *slog.Logger, h func(*bus.Event)) func(*bus.Event) {
	return func(e *bus.Event) {
		log.Info("event", "topic", e.Topic, "id", e.ID, "tx", e.TxID)
		h(e)
	}
}

// errRateLimited is what a rate-limited handler reports to the emitter.
var errRateLimited = errors.New("rate limited")

// limited lets h take at most burst events at once, refilled at rate per
// second: a token bucket. Refused events are reported to the emitter by
// panicking with an error, which the bus recovers and returns from Emit.
func limited(rate float64, burst int, now func() time.Time, h func(*bus.Event)) func(*bus.Event) {
	var mu sync.Mutex
	tokens, last := float64(burst), now()
	return func(e *bus.Event) {
		mu.Lock()
		t := now()
		tokens = min(float64(burst), tokens+t.Sub(last).Seconds()*rate)
		last = t
		ok := tokens >= 1
		if ok {
			tokens--
		}
		mu.Unlock()
		if !ok {
			panic(fmt.Errorf("%w: event %s dropped", errRateLimited, e.ID))
		}
		h(e)
	}
}

// recovered stops h's panics at the handler and logs them, for a handler
// whose failures the emitter should not hear about.
func recovered(log *slog.Logger, h func(*bus.Event)) func(*bus.Event) {
	return func(e *bus.Event) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("handler panicked", "event", e.ID, "panic", r)
			}
		}()
		h(e)
	}
}

func Example_wrappers() {
	// A logger without timestamps, so the output is stable.
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }

	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("sms.requested")

	var sent atomic.Int64
	send := func(e *bus.Event) { fmt.Println("sms to", e.Data) }
	b.RegisterHandler("sms", &bus.Handler{
		Matcher: "^sms\\.",
		Handle:  counted(&sent, audited(log, limited(1, 2, now, send))),
	})
	b.RegisterHandler("flaky", &bus.Handler{
		Matcher: "^sms\\.",
		Handle:  recovered(log, func(*bus.Event) { panic("provider down") }),
	})

	for _, to := range []string{"ada", "grace", "linus"} {
		if _, err := b.Emit(context.Background(), "sms.requested", to); errors.Is(err, errRateLimited) {
			fmt.Println("emitter:", err)
		}
	}
	fmt.Println(sent.Load(), "events reached the sms handler")
	// Output:
	// level=INFO msg=event topic=sms.requested id=1 tx=1
	// sms to ada
	// level=ERROR msg="handler panicked" event=1 panic="provider down"
	// level=INFO msg=event topic=sms.requested id=2 tx=2
	// sms to grace
	// level=ERROR msg="handler panicked" event=2 panic="provider down"
	// level=INFO msg=event topic=sms.requested id=3 tx=3
	// level=ERROR msg="handler panicked" event=3 panic="provider down"
	// emitter: bus: handler "sms" panicked: rate limited: event 3 dropped
	// 3 events reached the sms handler
}

// retried calls h again, up to attempts times in all, while it fails: a
// wrapper of an error-returning handler sees its error, and may act on it.
func retried(attempts int, h func(*bus.Event) error) func(*bus.Event) error {
	return func(e *bus.Event) error {
		var err error
		for range attempts {
			if err = h(e); err == nil {
				return nil
			}
		}
		return fmt.Errorf("%d attempts: %w", attempts, err)
	}
}

// A wrapper around a handler that returns errors: the retries are the
// wrapper's business, and what is left reaches the emitter.
func ExampleHandlerError() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("invoice.created")
	calls := 0
	errUnavailable := errors.New("ledger unavailable")
	b.RegisterHandler("ledger", &bus.Handler{Matcher: "^invoice", HandleErr: retried(3, func(e *bus.Event) error {
		calls++
		if e.Data == "down" || calls == 1 {
			return errUnavailable
		}
		return nil
	})})

	_, err := b.Emit(context.Background(), "invoice.created", "up")
	fmt.Println(calls, err)

	_, err = b.Emit(context.Background(), "invoice.created", "down")
	var he *bus.HandlerError
	fmt.Println(calls, errors.As(err, &he), he.Key, errors.Is(err, errUnavailable))
	fmt.Println(err)
	// Output:
	// 2 <nil>
	// 5 true ledger true
	// bus: handler "ledger" failed: 3 attempts: ledger unavailable
}
