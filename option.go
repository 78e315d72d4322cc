package bus

import "time"

// An EmitOption sets a field of the event that Emit creates, in place of the
// value Emit would otherwise choose. Options serve re-emitting an event that
// was created elsewhere, such as one received from another process, with its
// original identity. An option given an empty or zero value has no effect.
type EmitOption interface {
	apply(*Event)
}

type emitOptionFunc func(*Event)

func (f emitOptionFunc) apply(e *Event) { f(e) }

// WithID sets the event's ID; the bus's IDGenerator is then not called.
func WithID(id string) EmitOption {
	return emitOptionFunc(func(e *Event) { e.ID = id })
}

// WithTxID sets the event's TxID, taking precedence over a TxID in the
// context given to Emit.
func WithTxID(txID string) EmitOption {
	return emitOptionFunc(func(e *Event) { e.TxID = txID })
}

// WithSource sets the event's Source.
func WithSource(source string) EmitOption {
	return emitOptionFunc(func(e *Event) { e.Source = source })
}

// WithOccurredAt sets the event's OccurredAt to t instead of the time of the
// Emit call.
func WithOccurredAt(t time.Time) EmitOption {
	return emitOptionFunc(func(e *Event) {
		if !t.IsZero() {
			e.OccurredAt = t.UnixNano()
		}
	})
}
