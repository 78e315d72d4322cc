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

	obs []Observer // in the order WithObserver gave them

	mu       sync.Mutex // used only by writers and queries; never held while user code runs
	handlers map[string]*registration
	lastSeq  uint64 // sequence number of the newest registration
}

var errNilGenerator = errors.New("bus: Next() id generator func can't be nil")

// NewBus returns a Bus that takes event IDs from g, configured by opts. It
// fails if g is nil.
func NewBus(g IDGenerator, opts ...Option) (*Bus, error) {
	if g == nil {
		return nil, errNilGenerator
	}
	if n, ok := g.(Next); ok && n == nil {
		return nil, errNilGenerator
	}
	if gen, ok := g.(*Generator); ok && gen.seq == nil {
		return nil, errors.New("bus: Generator not created with NewGenerator")
	}
	b := &Bus{idgen: g}
	for _, o := range opts {
		o.apply(b)
	}
	return b, nil
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
// event, if topic is not registered. If handlers fail, by returning an
// error or by panicking, the others still run and Emit returns the event
// together with one [*HandlerError] or [*PanicError] per failure, joined
// with [errors.Join] when there are several.
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
	if len(b.obs) > 0 {
		return e, deliverObserved(b.obs, e, subs)
	}
	return e, deliver(e, subs)
}

// deliver calls each subscriber with e. A failing handler is recorded and
// delivery resumes with the next one; see callFrom for why this costs one
// deferred call per Emit rather than one per handler.
func deliver(e *Event, subs []subscriber) error {
	next, err := callFrom(e, subs, 0)
	if err == nil {
		return nil // the common case: every handler succeeded
	}
	errs := []error{err}
	for next < len(subs) {
		if next, err = callFrom(e, subs, next); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

// callFrom calls subs[i:] in order. If a handler fails, it stops there and
// returns its [*HandlerError] or [*PanicError] and the index of the next
// handler, so the caller can go on; otherwise it returns len(subs) and nil.
// Recovering here, once for a run of handlers, rather than in a deferred
// call around each, keeps the common case to one deferred call per Emit.
func callFrom(e *Event, subs []subscriber, i int) (next int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(subs[next].reg.key, r)
			next++
		}
	}()
	for next = i; next < len(subs); next++ {
		// subscriber.call, by hand: it is too large to inline, and a plain
		// handler should cost one indirect call.
		s := &subs[next]
		if s.handle != nil {
			s.handle(e)
		} else if err := s.callErr(e); err != nil {
			return next + 1, err
		}
	}
	return next, nil
}

// joinErrors returns nil, the one error, or all of them joined.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}
