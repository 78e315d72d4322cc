package bus

import (
	"context"
	"sync/atomic"
	"time"
)

// Event is what Emit creates and hands to each matching handler. All handlers
// of one Emit receive the same *Event, and Emit returns it, so handlers must
// treat it as read-only.
type Event struct {
	ID         string // unique identifier, from the bus's IDGenerator
	TxID       string // transaction identifier, shared by the events of one flow
	Topic      string // topic the event was emitted on
	Source     string // optional origin of the event, such as a service or node name
	Data       any    // payload, as given to Emit
	OccurredAt int64  // creation time in Unix nanoseconds

	ctx   context.Context // the context given to Emit
	ownTx bool            // ctx does not carry TxID; Context must add it
	idBuf [16]byte        // holds the bytes of ID when a Generator made it
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

// clock turns wall-clock readings into timestamps that follow the wall clock
// but never go back. A timestamp is the monotonic time elapsed since base
// plus offset, the wall time at base. When the wall clock is found ahead (it
// was stepped forward), offset is raised to follow it; when it is stepped
// back, offset stays, so no goroutine ever sees its timestamps decrease.
type clock struct {
	base   time.Time // carries a monotonic reading
	offset atomic.Int64
}

func newClock() *clock {
	c := &clock{base: time.Now()}
	c.offset.Store(c.base.UnixNano())
	return c
}

// systemClock is shared by all buses, so timestamps never go back across
// buses either.
var systemClock = newClock()

// now returns the current time in Unix nanoseconds, reading the clock once.
func now() int64 {
	t := time.Now()
	return systemClock.at(t.UnixNano(), int64(t.Sub(systemClock.base)))
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
