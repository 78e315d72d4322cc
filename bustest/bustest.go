// Package bustest records the events a [bus.Bus] delivers, for tests of code
// that emits them.
//
//	rec := bustest.Record(t, b, `^order\.created$`)
//	svc.Create(ctx, order)
//	e := rec.Wait(1, time.Second)[0]
//
// It uses only the standard library, like the bus itself.
package bustest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
)

// Recorder records the events a bus delivers to it, in delivery order.
// Create one with [Record]. Its methods are safe for concurrent use, and
// events may arrive from any goroutine, as they do with [bus.Async]
// handlers or events received from another process.
type Recorder struct {
	t       testing.TB
	bus     *bus.Bus
	key     string
	matcher string

	mu     sync.Mutex
	events []*bus.Event
	more   chan struct{} // closed, and replaced, when an event arrives
}

// keys makes each Recorder's handler key unique, also across parallel
// tests sharing a bus.
var keys atomic.Uint64

// Record registers a handler on b that records the events of every topic
// matcher matches, read like [bus.Handler]'s Matcher: "" or "*" records
// every event. The handler is deregistered when the test ends. Record fails
// the test if matcher is not a valid regular expression.
func Record(t testing.TB, b *bus.Bus, matcher string) *Recorder {
	t.Helper()
	key := fmt.Sprintf("bustest.Recorder#%d(%s)", keys.Add(1), t.Name())
	r := &Recorder{t: t, bus: b, key: key, matcher: matcher, more: make(chan struct{})}
	if err := b.RegisterHandler(key, &bus.Handler{Matcher: matcher, Handle: r.record}); err != nil {
		t.Fatalf("bustest.Record: %v", err)
	}
	t.Cleanup(func() { b.DeregisterHandler(key) })
	return r
}

func (r *Recorder) record(e *bus.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	close(r.more)
	r.more = make(chan struct{})
}

// Events returns the events recorded so far, in the order they arrived.
func (r *Recorder) Events() []*bus.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*bus.Event(nil), r.events...)
}

// Wait waits until at least n events have been recorded and returns the
// first n. If they have not all arrived within timeout, it fails the test,
// listing the events that did, with t.Fatalf; so, like t.Fatalf, it must be
// called from the goroutine running the test.
func (r *Recorder) Wait(n int, timeout time.Duration) []*bus.Event {
	r.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, more := r.events, r.more
		r.mu.Unlock()
		if len(got) >= n {
			return append([]*bus.Event(nil), got[:n]...)
		}
		select {
		case <-more:
		case <-deadline.C:
			r.t.Fatalf("bustest: %d of %d events matching %q after %v%s", len(got), n, r.matcher, timeout, r.describe(got))
			return nil
		}
	}
}

// describe lists events one a line, for failure messages; with none, it
// says whether the matcher matches any registered topic, the usual cause.
func (r *Recorder) describe(events []*bus.Event) string {
	if len(events) == 0 {
		if len(r.bus.HandlerTopicSubscriptions(r.key)) == 0 {
			return fmt.Sprintf("; the matcher matches none of the registered topics %q", r.bus.Topics())
		}
		return "; none arrived"
	}
	var b strings.Builder
	b.WriteString("; these arrived:")
	for _, e := range events {
		fmt.Fprintf(&b, "\n\t%s %s (tx %s): %v", e.Topic, e.ID, e.TxID, e.Data)
	}
	return b.String()
}
