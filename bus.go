package bus

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// IDGenerator generates the unique identifiers of events. Generate must be
// safe for concurrent use: Emit calls it from every emitting goroutine.
type IDGenerator interface {
	Generate() string
}

// Next is a function that returns a new unique identifier on each call. It
// adapts a plain function, such as the Next method of a monoton generator, to
// [IDGenerator].
type Next func() string

// Generate calls n.
func (n Next) Generate() string { return n() }

// Bus delivers events to the handlers whose matchers match the event's
// topic. Create a Bus with [NewBus]; all of its methods are safe for
// concurrent use, including from inside handlers.
//
// A Bus must not be copied after first use.
type Bus struct {
	idgen IDGenerator

	// topics indexes the registered topics. Emit reads it without a lock;
	// writers, holding mu, change it in place and replace it only to grow it.
	topics atomic.Pointer[table]

	mu       sync.Mutex // used only by writers and queries; never held while user code runs
	handlers map[string]*registration
	lastSeq  uint64 // sequence number of the newest registration
}

var errNilGenerator = errors.New("bus: Next() id generator func can't be nil")

// NewBus returns a Bus that takes event IDs from g. It fails if g is nil.
func NewBus(g IDGenerator) (*Bus, error) {
	if g == nil {
		return nil, errNilGenerator
	}
	if n, ok := g.(Next); ok && n == nil {
		return nil, errNilGenerator
	}
	if gen, ok := g.(*Generator); ok && gen.seq == nil {
		return nil, errors.New("bus: Generator not created with NewGenerator")
	}
	return &Bus{idgen: g}, nil
}

// Emit creates an event on topic carrying data and calls every handler whose
// matcher matches topic, one after another on the calling goroutine, in
// registration order. It returns once all of them have returned.
//
// The event's ID comes from the bus's [IDGenerator]. Its TxID is the
// non-empty string stored in ctx under [CtxKeyTxID]; without one the event
// starts a transaction and its TxID is its own ID. A nil ctx is treated as
// [context.Background]. Options override these defaults, for example to
// re-emit an event received from another process.
//
// Emit fails with an error wrapping [ErrTopicNotFound], and returns a nil
// event, if topic is not registered. If handlers panic, the others still run
// and Emit returns the event together with one [*PanicError] per panic,
// joined with [errors.Join] when there are several.
func (b *Bus) Emit(ctx context.Context, topic string, data any, opts ...EmitOption) (*Event, error) {
	t := b.lookup(topic)
	if t == nil {
		return nil, &topicNotFoundError{topic: topic}
	}
	// The snapshot is taken before any handler runs: changes made while
	// delivering, by handlers or by other goroutines, apply from the next Emit.
	subs := *t.subs.Load()

	if ctx == nil {
		ctx = context.Background()
	}
	var e *Event
	var idBuf *[16]byte
	gen, _ := b.idgen.(*Generator)
	if gen != nil {
		ew := new(eventWithID)
		e, idBuf = &ew.Event, &ew.id
	} else {
		e = new(Event)
	}
	e.Topic, e.Data, e.ctx = topic, data, ctx
	for _, o := range opts {
		o.apply(e)
	}
	if e.ID == "" {
		switch {
		case gen != nil:
			e.ID = gen.generateInto(idBuf)
		case b.idgen != nil:
			e.ID = b.idgen.Generate()
		default:
			return nil, errors.New("bus: Bus has no ID generator: create it with NewBus")
		}
	}
	if e.OccurredAt == 0 {
		e.OccurredAt = now()
	}
	inherited := txIDFrom(ctx)
	if e.TxID == "" {
		e.TxID = inherited
		if e.TxID == "" {
			e.TxID = e.ID
		}
	}
	e.ownTx = e.TxID != inherited
	return e, deliver(e, subs)
}

// deliver calls each subscriber with e. A panicking handler is recorded and
// delivery resumes with the next one; see callFrom for why this costs one
// deferred call per Emit rather than one per handler.
func deliver(e *Event, subs []subscriber) error {
	next, perr := callFrom(e, subs, 0)
	if perr == nil {
		return nil // the common case: no handler panicked
	}
	errs := []error{perr}
	for next < len(subs) {
		next, perr = callFrom(e, subs, next)
		if perr != nil {
			errs = append(errs, perr)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// callFrom calls subs[i:] in order. If a handler panics, it stops there and
// returns the panic and the index of the next handler, so the caller can go
// on; otherwise it returns len(subs) and nil.
func callFrom(e *Event, subs []subscriber, i int) (next int, perr *PanicError) {
	defer func() {
		if r := recover(); r != nil {
			perr = newPanicError(subs[next].reg.key, r)
			next++
		}
	}()
	for next = i; next < len(subs); next++ {
		subs[next].handle(e)
	}
	return next, nil
}
