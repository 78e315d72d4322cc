package bus

import (
	"context"
	"sync/atomic"
	"time"
)

// Event is what Emit creates and hands to each matching handler. All handlers
// of one Emit receive the same *Event, and Emit returns it, so handlers must
// treat it as read-only. An [Observer] that gives each handler call a
// context of its own (a tracer's handler span) makes each handler receive
// a copy, equal but for its Context.
type Event struct {
	ID         string // unique identifier, from the bus's IDGenerator
	TxID       string // transaction identifier, shared by the events of one flow
	Topic      string // topic the event was emitted on
	Source     string // optional origin of the event, such as a service or node name
	Data       any    // payload, as given to Emit
	OccurredAt int64  // creation time in Unix nanoseconds

	ctx   context.Context // the context given to Emit
	ownTx bool            // ctx does not carry TxID; Context must add it
}

// eventWithID is an Event with room for an ID made by a Generator, so that
// Emit allocates both at once. Without it, an Event fits a smaller size
// class.
type eventWithID struct {
	Event
	id [16]byte
}

type ctxKey string

// CtxKeyTxID is the context key under which a caller passes a transaction ID
// (a non-empty string) to Emit. Events emitted with such a context join that
// transaction instead of starting their own.
const CtxKeyTxID = ctxKey("bus.txID")

// Context returns the context of the Emit call that created e, carrying e's
// TxID under [CtxKeyTxID]: it is the context given to Emit if that already
// carried the TxID, and a context derived from it otherwise. A handler that
// emits with e.Context() thus keeps the event's transaction.
func (e *Event) Context() context.Context {
	if e.ctx == nil {
		return context.Background()
	}
	if e.ownTx {
		return (*txContext)(e)
	}
	return e.ctx
}

// txContext is the context an Event derives from its Emit context to carry
// its TxID. It is the Event itself under another type, so that deriving it
// costs no allocation on the Emit path.
type txContext Event

func (c *txContext) Deadline() (time.Time, bool) { return c.ctx.Deadline() }
func (c *txContext) Done() <-chan struct{}       { return c.ctx.Done() }
func (c *txContext) Err() error                  { return c.ctx.Err() }

func (c *txContext) Value(key any) any {
	if key == CtxKeyTxID {
		return c.TxID
	}
	return c.ctx.Value(key)
}

func (c *txContext) String() string {
	return "bus.txContext(" + c.TxID + ")"
}

// txIDFrom returns the transaction ID carried by ctx, or "".
func txIDFrom(ctx context.Context) string {
	// An event's own context answers directly: asking it through Value would
	// box the string and cost an allocation per nested Emit.
	if c, ok := ctx.(*txContext); ok {
		return c.TxID
	}
	id, _ := ctx.Value(CtxKeyTxID).(string)
	return id
}

// clock makes timestamps that follow the wall clock but never go back. A
// timestamp is the monotonic time elapsed since base plus offset, the wall
// time at base. Reading only the monotonic clock costs half of what time.Now
// costs, which reads both. To follow the wall clock when it is stepped
// forward, the first timestamp after each syncInterval reads the wall clock
// too, and raises offset if the wall clock is ahead. Offset is never
// lowered, so when the wall clock is stepped back, timestamps keep going
// forward from where they were.
type clock struct {
	base     time.Time    // carries a monotonic reading
	offset   atomic.Int64 // wall time of base in Unix nanoseconds; only raised
	nextSync atomic.Int64 // elapsed time at which to read the wall clock again
}

const syncInterval = int64(100 * time.Millisecond)

func newClock() *clock {
	c := &clock{base: time.Now()}
	c.offset.Store(c.base.UnixNano())
	return c
}

// systemClock is shared by all buses, so timestamps never go back across
// buses either.
var systemClock = newClock()

// now returns the current time in Unix nanoseconds.
func now() int64 { return systemClock.now() }

func (c *clock) now() int64 {
	elapsed := int64(time.Since(c.base)) // monotonic: immune to clock steps
	if elapsed >= c.nextSync.Load() {
		return c.sync()
	}
	return c.offset.Load() + elapsed
}

// sync reads the wall and monotonic clocks together and returns the
// timestamp for that instant, raising offset if the wall clock is ahead.
func (c *clock) sync() int64 {
	t := time.Now()
	elapsed := int64(t.Sub(c.base))
	c.nextSync.Store(elapsed + syncInterval)
	return c.at(t.UnixNano(), elapsed)
}

// at returns the timestamp for a reading of wall, the wall clock in Unix
// nanoseconds, taken elapsed monotonic nanoseconds after c.base.
func (c *clock) at(wall, elapsed int64) int64 {
	for {
		off := c.offset.Load()
		if ts := off + elapsed; ts >= wall {
			return ts
		}
		if c.offset.CompareAndSwap(off, wall-elapsed) {
			return wall
		}
	}
}
