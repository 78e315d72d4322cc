package natsbus

import (
	"context"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pipeline publishes asynchronously, with at most cap(window) publishes
// unsettled at a time. nats.go reports the outcome of each through the
// callbacks the bridge's JetStream context was made with: an
// acknowledgement settles its publish where it arrives, without waking a
// goroutine per message; a failure goes to the retrier, which publishes
// again synchronously until the publish's deadline, so that nats.go's
// acknowledgement goroutine never waits.
type pipeline struct {
	br     *Bridge
	window chan struct{}  // a token per unsettled publish
	retry  chan *outgoing // to the retrier; never full, as it has room for every token
	quit   chan struct{}  // closed when closed and nothing is left unsettled
	done   chan struct{}  // closed when the retrier has returned

	mu             sync.Mutex
	cond           *sync.Cond              // broadcast when a publish settles
	unsettled      map[*nats.Msg]*outgoing // by the message nats.go reports back
	oldest, newest *outgoing               // unsettled, in submission order
	submitted      uint64
	failures       []failure
	closed         bool
	quitOnce       sync.Once
}

// maxKeptFailures bounds the failures kept for Flush, should nobody call
// it: Flush returns the earliest, and every failure reaches OnError anyway.
const maxKeptFailures = 1024

type failure struct {
	seq uint64
	err error
}

func newPipeline(n int) *pipeline {
	p := &pipeline{window: make(chan struct{}, n), retry: make(chan *outgoing, n),
		quit: make(chan struct{}), done: make(chan struct{}), unsettled: make(map[*nats.Msg]*outgoing, n)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// options are the JetStream options that report outcomes to p.
func (p *pipeline) options() []jetstream.JetStreamOpt {
	return []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncAckHandler(p.acked),
		jetstream.WithPublishAsyncErrHandler(p.failed),
		jetstream.WithPublishAsyncMaxPending(cap(p.window)),
	}
}

func (p *pipeline) start(br *Bridge) {
	p.br = br
	go p.retrier()
}

// submit starts publishing o, once the window has room. From then on, o
// is the pipeline's; if submit returns an error, it is still the caller's.
func (p *pipeline) submit(ctx context.Context, o *outgoing) error {
	closed := func() error { return fmt.Errorf("%w: event %s on %s not published", ErrClosed, o.id, o.topic) }
	select {
	case p.window <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("natsbus: publish event %s on %s: window of %d publishes full: %w", o.id, o.topic, cap(p.window), ctx.Err())
	case <-p.br.closing:
		return closed()
	}
	p.mu.Lock()
	if p.closed { // Close began after the window had room
		p.mu.Unlock()
		<-p.window
		return closed()
	}
	p.submitted++
	o.seq = p.submitted
	o.prev = p.newest
	if p.newest != nil {
		p.newest.next = o
	} else {
		p.oldest = o
	}
	p.newest = o
	// Registered before publishing: the acknowledgement may come first.
	p.unsettled[&o.msg] = o
	p.mu.Unlock()

	if _, err := p.br.js.PublishMsgAsync(&o.msg); err != nil {
		// Not sent, and nats.go will not report on it: the retrier
		// publishes it synchronously.
		if p.take(&o.msg) != nil {
			p.retry <- o
		}
	}
	return nil
}

// take returns the unsettled publish of msg, and forgets it, so that only
// the first outcome reported for a message counts; nil if there is none.
func (p *pipeline) take(msg *nats.Msg) *outgoing {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.unsettled[msg]
	delete(p.unsettled, msg)
	return o
}

// acked is nats.go's acknowledgement callback.
func (p *pipeline) acked(_ jetstream.JetStream, msg *nats.Msg, ack *jetstream.PubAck) {
	o := p.take(msg)
	switch {
	case o == nil:
	case ack.Duplicate:
		// The first attempt found the ID stored already. Reporting is left
		// to the retrier: OnError must not hold up acknowledgements.
		o.err = o.duplicate()
		p.retry <- o
	default:
		p.settle(o, nil)
	}
}

// failed is nats.go's error callback: a publish timed out, was refused, or
// was lost in a reconnect. nats.go may hold its own lock while calling it.
func (p *pipeline) failed(_ jetstream.JetStream, msg *nats.Msg, _ error) {
	if o := p.take(msg); o != nil {
		o.first = false // it may have been stored: a duplicate then is ours
		p.retry <- o
	}
}

// retrier publishes again, synchronously, what failed, until each
// publish's deadline, and reports what failed for good.
func (p *pipeline) retrier() {
	defer close(p.done)
	for {
		select {
		case o := <-p.retry:
			err := o.err
			if err == nil {
				ctx, cancel := context.WithDeadline(context.Background(), o.giveUp)
				err = p.br.store(ctx, o)
				cancel()
			}
			p.settle(o, err)
		case <-p.quit:
			return
		}
	}
}

// settle records the outcome of o, frees its place in the window and
// recycles it. A failure is counted and reported before Flush can see the
// publish settled, so that what Flush returns has reached OnError and
// Stats already.
func (p *pipeline) settle(o *outgoing, err error) {
	if err != nil {
		p.br.failed.Add(1)
		p.br.report(err)
	} else {
		p.br.published.Add(1)
	}
	p.mu.Lock()
	if o.prev != nil {
		o.prev.next = o.next
	} else {
		p.oldest = o.next
	}
	if o.next != nil {
		o.next.prev = o.prev
	} else {
		p.newest = o.prev
	}
	if err != nil && len(p.failures) < maxKeptFailures {
		p.failures = append(p.failures, failure{o.seq, err})
	}
	last := p.closed && p.oldest == nil
	p.cond.Broadcast()
	p.mu.Unlock()
	p.br.recycle(o)
	<-p.window
	if last {
		p.quitOnce.Do(func() { close(p.quit) })
	}
}

// flush waits until every publish submitted before the call is settled,
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
	for p.oldest != nil && p.oldest.seq <= target {
		if ctx.Err() != nil {
			var left uint64
			for o := p.oldest; o != nil && o.seq <= target; o = o.next {
				left++
			}
			return fmt.Errorf("natsbus: flush: %d of %d publishes unconfirmed: %w", left, target, ctx.Err())
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

// close refuses new publishes, flushes, and stops the retrier once nothing
// is left unsettled, even if ctx ends first.
func (p *pipeline) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	idle := p.oldest == nil
	p.mu.Unlock()
	if idle {
		p.quitOnce.Do(func() { close(p.quit) })
	}
	err := p.flush(ctx)
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
