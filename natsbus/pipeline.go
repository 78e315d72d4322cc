package natsbus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gobus/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pipeline publishes asynchronously, at most cap(window) messages
// unconfirmed at a time. One goroutine confirms them in submission order:
// it waits for each acknowledgement and retries a publish that failed,
// synchronously, until its deadline; so the emitter never waits for a
// round trip unless the window is full.
type pipeline struct {
	br      *Bridge
	window  chan struct{}  // a token per unconfirmed publish
	pending chan *inflight // to the confirmer, in submission order
	done    chan struct{}  // closed when the confirmer has returned

	mu        sync.Mutex
	cond      *sync.Cond
	submitted uint64 // publishes handed to the confirmer
	confirmed uint64 // publishes confirmed or failed, in order
	failures  []failure
	closed    bool
}

type inflight struct {
	seq    uint64
	msg    *nats.Msg
	event  *bus.Event
	future jetstream.PubAckFuture // nil if the asynchronous publish was refused
	giveUp time.Time
}

// maxKeptFailures bounds the failures kept for Flush, should nobody call
// it: Flush returns the earliest, and every failure reaches OnError anyway.
const maxKeptFailures = 1024

type failure struct {
	seq uint64
	err error
}

func (br *Bridge) startPipeline(n int) *pipeline {
	p := &pipeline{br: br, window: make(chan struct{}, n), pending: make(chan *inflight, n), done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	go p.confirm()
	return p
}

// submit starts publishing msg, once the window has room.
func (p *pipeline) submit(ctx context.Context, msg *nats.Msg, e *bus.Event) error {
	select {
	case p.window <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("natsbus: publish event %s on %s: window of %d publishes full: %w", e.ID, e.Topic, cap(p.window), ctx.Err())
	case <-p.br.closing:
		return fmt.Errorf("%w: event %s on %s not published", ErrClosed, e.ID, e.Topic)
	}
	f := &inflight{msg: msg, event: e, giveUp: time.Now().Add(p.br.cfg.PublishTimeout)}
	f.future, _ = p.br.js.PublishMsgAsync(msg) // if refused, the confirmer retries synchronously

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.window
		return fmt.Errorf("%w: event %s on %s not published", ErrClosed, e.ID, e.Topic)
	}
	p.submitted++
	f.seq = p.submitted
	p.pending <- f // never blocks: pending has room for every token
	p.mu.Unlock()
	return nil
}

// confirm waits for each publish in turn.
func (p *pipeline) confirm() {
	defer close(p.done)
	for f := range p.pending {
		err := p.await(f)
		p.mu.Lock()
		if err != nil && len(p.failures) < maxKeptFailures {
			p.failures = append(p.failures, failure{f.seq, err})
		}
		p.confirmed = f.seq
		p.cond.Broadcast()
		p.mu.Unlock()
		<-p.window
		if err != nil {
			p.br.failed.Add(1)
			p.br.report(err)
		} else {
			p.br.published.Add(1)
		}
	}
}

// await returns nil once f is stored, or why it could not be.
func (p *pipeline) await(f *inflight) error {
	first := true
	if f.future != nil {
		select {
		case ack := <-f.future.Ok():
			if !ack.Duplicate {
				return nil
			}
		case <-f.future.Err():
			first = false // it may have been stored: a duplicate then is ours
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), f.giveUp)
	defer cancel()
	_, err := p.br.store(ctx, f.msg, f.event, f.giveUp, first)
	return err
}

// flush waits until every publish submitted before the call is confirmed,
// and returns the first failure among them not returned before.
func (p *pipeline) flush(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	target := p.submitted
	for p.confirmed < target {
		if ctx.Err() != nil {
			return fmt.Errorf("natsbus: flush: %d of %d publishes unconfirmed: %w", target-p.confirmed, target, ctx.Err())
		}
		p.cond.Wait()
	}
	for i, f := range p.failures {
		if f.seq <= target {
			p.failures = append(p.failures[:i:i], p.failures[i+1:]...)
			return f.err
		}
	}
	return nil
}

// close flushes, then stops the confirmer.
func (p *pipeline) close(ctx context.Context) error {
	err := p.flush(ctx)
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.pending)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// Flush returns once every event emitted before the call is stored in the
// stream, or returns the first failure among them not returned before, or
// ctx's error. It returns nil at once in confirm mode, where Emit itself
// waits.
func (br *Bridge) Flush(ctx context.Context) error {
	if br.out == nil {
		return nil
	}
	return br.out.flush(ctx)
}
