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
		b.obs = append(b.obs[:len(b.obs):len(b.obs)], o)
	})
}

// An EmitOption sets a field of the event that Emit creates, in place of the
// value Emit would otherwise choose. Options serve re-emitting an event that
// was created elsewhere, such as one received from another process, with its
// original identity. An option given an empty or zero value has no effect,
// and so has the zero EmitOption. An EmitOption is a small value, not an
// interface or a func, so that passing options allocates nothing.
type EmitOption struct {
	field eventField
	s     string // ID, TxID or Source
	t     int64  // OccurredAt
}

type eventField uint8

const (
	_ eventField = iota
	fieldID
	fieldTxID
	fieldSource
	fieldOccurredAt
)

func (o EmitOption) apply(e *Event) {
	switch o.field {
	case fieldID:
		e.ID = o.s
	case fieldTxID:
		e.TxID = o.s
	case fieldSource:
		e.Source = o.s
	case fieldOccurredAt:
		e.OccurredAt = o.t
	}
}

// WithID sets the event's ID; the bus's IDGenerator is then not called.
func WithID(id string) EmitOption { return EmitOption{field: fieldID, s: id} }

// WithTxID sets the event's TxID, taking precedence over a TxID in the
// context given to Emit.
func WithTxID(txID string) EmitOption { return EmitOption{field: fieldTxID, s: txID} }

// WithSource sets the event's Source.
func WithSource(source string) EmitOption { return EmitOption{field: fieldSource, s: source} }

// WithOccurredAt sets the event's OccurredAt to t instead of the time of the
// Emit call.
func WithOccurredAt(t time.Time) EmitOption {
	if t.IsZero() {
		return EmitOption{}
	}
	return EmitOption{field: fieldOccurredAt, t: t.UnixNano()}
}
