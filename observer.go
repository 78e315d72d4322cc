package bus

import (
	"context"
	"time"
)

// An Observer watches the events of a [Bus] and the handler calls they
// cause, for tracing, metrics or a debugging view. Attach one with
// [WithObserver]; a Bus without one pays nothing for the hook.
//
// Several observers may watch one bus; each gets back, in HandlerDone and
// EmitDone, the contexts its own HandlerStart and EmitStart returned.
// Observers that do nothing add no allocation to Emit, for up to four of
// them, and about 165 ns with one, 195 ns with two, per Emit to one
// handler, and 95 ns and 115 ns per further handler (BenchmarkObserver on
// 2 vCPUs).
//
// The bus calls the methods synchronously on the emitting goroutine, so
// they add to the cost of every Emit and must be fast. They may be called
// concurrently, by Emits on several goroutines, and must be safe for that.
// They must not modify the event, and must not panic: a panic in an Observer
// is not recovered.
type Observer interface {
	// EmitStart is called once Emit has built e, before it calls any
	// handler, with the context Emit was given as the observers before
	// this one left it. The context it returns is this observer's for the
	// Emit: its HandlerDone and EmitDone calls for e receive it, so that
	// per-Emit state, such as a span, stays its own when several observers
	// watch one bus. The last observer's context becomes the one e carries,
	// from which [Event.Context] derives, so that the handlers' work and
	// the events they emit in turn carry every observer's additions, in
	// order. Returning ctx leaves it as it is.
	EmitStart(ctx context.Context, e *Event) context.Context
	// HandlerStart is called before each handler call with the handler's
	// key and the context of the call as the observers before this one
	// left it, starting from the event's context. It returns the context
	// for the call, derived from ctx, or nil when it adds nothing. If any
	// observer returns one, the handler receives a copy of e whose
	// [Event.Context] is the last one returned, so that what the handler
	// emits in turn carries it: a tracer's handler span becomes the parent
	// of the events the handler causes. Returning nil costs nothing.
	HandlerStart(ctx context.Context, e *Event, key string) context.Context
	// HandlerDone is called after each handler call with the context this
	// observer's HandlerStart returned (its EmitStart's when that was
	// nil), the handler's key, the time the call started, how long it
	// took, and how it ended: nil, a [*HandlerError] or a [*PanicError].
	HandlerDone(ctx context.Context, e *Event, key string, start time.Time, took time.Duration, err error)
	// EmitDone is called after the last handler returned, with the context
	// this observer's EmitStart returned and the error Emit returns.
	EmitDone(ctx context.Context, e *Event, err error)
}

// deliverObserved is deliver for a bus with observers. It recovers each
// handler's panic on its own, to time each call, and reads the clock once
// between two calls: the end of one call is the start of the next. It
// reads the bus's clock, which costs half of time.Now. Each observer's
// contexts are kept for it on the stack, for up to four observers.
func deliverObserved(obs []Observer, e *Event, subs []subscriber) error {
	var room, callRoom [4]context.Context
	own, call := room[:len(obs)], callRoom[:len(obs)]
	if len(obs) > len(room) {
		own, call = make([]context.Context, len(obs)), make([]context.Context, len(obs))
	}
	ctx := e.ctx
	for j, o := range obs {
		if c := o.EmitStart(ctx, e); c != nil {
			ctx = c
		}
		own[j] = ctx
	}
	e.ctx = ctx
	var errs []error
	start := now()
	for i := range subs {
		key := subs[i].reg.key
		ctx, changed := e.ctx, false
		for j, o := range obs {
			call[j] = own[j]
			if c := o.HandlerStart(ctx, e, key); c != nil {
				ctx, call[j], changed = c, c, true
			}
		}
		handed := e
		if changed {
			// A copy, not e with its context swapped: the handlers before
			// may hold e (an Async queue does) and read its context later.
			cp := *e
			cp.ctx = ctx
			handed = &cp
		}
		err := callOne(handed, &subs[i])
		end := now()
		began, took := time.Unix(0, start), time.Duration(end-start)
		for j, o := range obs {
			o.HandlerDone(call[j], e, key, began, took, err)
		}
		if err != nil {
			errs = append(errs, err)
		}
		start = end
	}
	err := joinErrors(errs)
	for j, o := range obs {
		o.EmitDone(own[j], e, err)
	}
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
