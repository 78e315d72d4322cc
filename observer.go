package bus

import (
	"context"
	"time"
)

// An Observer watches the events of a [Bus] and the handler calls they
// cause, for tracing, metrics or a debugging view. Attach one with
// [WithObserver]; a Bus without one pays nothing for the hook.
//
// The bus calls the methods synchronously on the emitting goroutine, so
// they add to the cost of every Emit and must be fast. They may be called
// concurrently, by Emits on several goroutines, and must be safe for that.
// They must not modify the event, and must not panic: a panic in an Observer
// is not recovered.
type Observer interface {
	// EmitStart is called once Emit has built e, before it calls any
	// handler. The context it returns becomes the one e carries, from
	// which [Event.Context] derives, so that the handlers' work and the
	// events they emit in turn can be tied to this Emit, for example as
	// children of a span. Returning ctx leaves it as it is.
	EmitStart(ctx context.Context, e *Event) context.Context
	// HandlerDone is called after each handler call with the handler's key,
	// the time the call started, how long it took, and how it ended: nil,
	// a [*HandlerError] or a [*PanicError].
	HandlerDone(e *Event, key string, start time.Time, took time.Duration, err error)
	// EmitDone is called after the last handler returned, with the error
	// Emit returns.
	EmitDone(e *Event, err error)
}

// deliverObserved is deliver for a bus with an Observer. It recovers each
// handler's panic on its own, to time each call, and reads the clock once
// between two calls: the end of one call is the start of the next. It
// reads the bus's clock, which costs half of time.Now.
func deliverObserved(obs Observer, e *Event, subs []subscriber) error {
	if ctx := obs.EmitStart(e.ctx, e); ctx != nil {
		e.ctx = ctx
	}
	var errs []error
	start := now()
	for i := range subs {
		err := callOne(e, &subs[i])
		end := now()
		obs.HandlerDone(e, subs[i].reg.key, time.Unix(0, start), time.Duration(end-start), err)
		if err != nil {
			errs = append(errs, err)
		}
		start = end
	}
	err := joinErrors(errs)
	obs.EmitDone(e, err)
	return err
}

// callOne calls s with e and returns its failure, if any.
func callOne(e *Event, s *subscriber) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(s.reg.key, r)
		}
	}()
	return s.call(e)
}

// observers calls several Observers in turn, each seeing the context the
// one before it returned.
type observers []Observer

func (os observers) EmitStart(ctx context.Context, e *Event) context.Context {
	for _, o := range os {
		if c := o.EmitStart(ctx, e); c != nil {
			ctx = c
		}
	}
	return ctx
}

func (os observers) HandlerDone(e *Event, key string, start time.Time, took time.Duration, err error) {
	for _, o := range os {
		o.HandlerDone(e, key, start, took, err)
	}
}

func (os observers) EmitDone(e *Event, err error) {
	for _, o := range os {
		o.EmitDone(e, err)
	}
}
