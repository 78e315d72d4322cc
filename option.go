package bus

import "time"

// An Option configures a [Bus] created by [NewBus].
type Option interface {
	apply(*Bus)
}

type optionFunc func(*Bus)

func (f optionFunc) apply(b *Bus) { f(b) }

// WithObserver attaches o to the bus. Repeated use is additive: observers
// are called in the order given. A nil o is ignored.
func WithObserver(o Observer) Option {
	return optionFunc(func(b *Bus) {
		if o == nil {
			return
		}
		switch cur := b.obs.(type) {
		case nil:
			b.obs = o
		case observers:
			b.obs = append(cur[:len(cur):len(cur)], o)
		default:
			b.obs = observers{cur, o}
		}
	})
}

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
