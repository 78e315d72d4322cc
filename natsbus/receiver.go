package natsbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// receiver runs this node's durable consumer: one goroutine reads the
// messages and emits their events on the local bus one at a time,
// acknowledging each after its handlers returned.
type receiver struct {
	br     *Bridge
	name   string // durable consumer: the Group, or the Node
	stream jetstream.Stream
	seen   *seenSeqs
	ctx    context.Context // for the emits; cancelled by stop
	cancel context.CancelFunc

	mu      sync.Mutex
	cons    jetstream.Consumer        // replaced when the consumer is recreated
	iter    jetstream.MessagesContext // the open iterator, drained by stop
	waiting []jetstream.Msg           // fetched messages waiting their turn
	current jetstream.Msg             // the message being handled, for progress
	since   time.Time                 // when handling current began

	slow  time.Duration // moving average of handling time
	batch int           // current buffer size

	done chan struct{} // closed when the loop has returned
	g    group         // the loop, and the goroutines that run beside it
}

func (br *Bridge) startReceiver(ctx context.Context, stream jetstream.Stream) (*receiver, error) {
	r := &receiver{br: br, name: br.cfg.Node, stream: stream, seen: &seenSeqs{}, batch: br.cfg.MaxBatch, done: make(chan struct{})}
	if br.cfg.Group != "" {
		r.name = br.cfg.Group
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	cons, err := r.consumer(ctx)
	if err != nil {
		r.cancel()
		return nil, err
	}
	r.setConsumer(cons)
	iter, err := r.open()
	if err != nil {
		r.cancel()
		return nil, err
	}
	r.g.Go("progress signals", func() { r.every(br.cfg.AckWait/3, r.signalProgress) })
	// Watching waits for the server, and neither handling nor progress
	// signals should: it has a goroutine of its own.
	r.g.Go("consumer watch", func() { r.every(pruneInterval, r.watch) })
	r.g.Go("receive loop", func() { r.loop(iter) })
	return r, nil
}

// open starts reading the consumer. The iterator is where stop finds it: an
// iterator opened after stop began is drained at once.
func (r *receiver) open() (jetstream.MessagesContext, error) {
	cons := r.consumerNow()
	if cons == nil {
		return nil, fmt.Errorf("natsbus: consumer %s: not found", r.name)
	}
	// Short pull requests with frequent heartbeats: after a server or a
	// consumer leader goes away, the next pull reaches the new one within
	// seconds, and a dead connection is noticed as quickly.
	// Missed heartbeats are reported, for failover: a server cut off from
	// its cluster keeps the connection but sends none.
	iter, err := cons.Messages(jetstream.PullMaxMessages(r.batch), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second),
		jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return nil, fmt.Errorf("natsbus: consumer %s: %w", r.name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.iter = iter
	if r.ctx.Err() != nil {
		iter.Drain()
	}
	return iter, nil
}

func (r *receiver) setConsumer(c jetstream.Consumer) {
	r.mu.Lock()
	r.cons = c
	r.mu.Unlock()
}

func (r *receiver) consumerNow() jetstream.Consumer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cons
}

// loop receives until stop. When the iterator fails (the consumer or the
// stream was deleted, or the server stopped answering), it hands back what
// it buffered and reopens the consumer, recreating it with the node's
// settings if it is gone, backing off and reporting each attempt.
func (r *receiver) loop(iter jetstream.MessagesContext) {
	defer close(r.done)
	for {
		err := r.drain(iter)
		if r.ctx.Err() != nil {
			return
		}
		r.br.report(fmt.Errorf("natsbus: consumer %s: receiving stopped: %w", r.name, err))
		for attempt, wait := 1, 50*time.Millisecond; ; attempt, wait = attempt+1, min(2*wait, 5*time.Second) {
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(wait):
			}
			if iter, err = r.reopen(); err == nil {
				r.br.failover.answered()
				break
			}
			r.br.failover.failed(err)
			r.br.report(fmt.Errorf("natsbus: consumer %s: reopen attempt %d: %w", r.name, attempt, err))
		}
	}
}

// drain handles messages until the iterator closes or fails. Once stop has
// begun, what the iterator still holds is negatively acknowledged instead.
func (r *receiver) drain(iter jetstream.MessagesContext) error {
	for {
		msg, err := iter.Next()
		if errors.Is(err, jetstream.ErrNoHeartbeat) {
			r.br.failover.failed(err) // the iterator goes on, asking again
			continue
		}
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				r.giveBack(iter)
			}
			return err
		}
		r.br.failover.answered()
		if r.ctx.Err() != nil {
			r.nak(msg)
			continue
		}
		start := time.Now()
		r.handle(msg, start)
		if r.resize(time.Since(start)) {
			// Handle what the old buffer holds, signalling progress for
			// it, before the new one fills up.
			iter.Drain()
			r.handleBacklog(iter)
			if r.ctx.Err() != nil {
				return jetstream.ErrMsgIteratorClosed
			}
			if iter, err = r.open(); err != nil {
				return err
			}
		}
	}
}

// every calls f every d, on the goroutine that calls every, until the
// receiver has stopped.
func (r *receiver) every(d time.Duration, f func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
			f()
		}
	}
}

// watch asks for the consumer's state: the dedup prunes with its floor,
// and a leader that has heard from none of its replicas lately is cut off
// from its cluster, as is then this node's server, which forwards its
// requests to that leader alone. Its pull requests get heartbeats and no
// messages, so nothing else tells the node to move to the majority.
func (r *receiver) watch() {
	_, gen := r.seen.generation()
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	info, err := r.consumerNow().Info(ctx)
	if err != nil {
		return // try again later
	}
	if isolated(info.Cluster) {
		r.br.failover.failed(fmt.Errorf("consumer %s: leader %s: %w", r.name, info.Cluster.Leader, errIsolated))
	}
	r.seen.prune(gen, info)
}

// stop stops receiving: the message being handled is finished, the rest
// negatively acknowledged. It returns once the loop and the goroutines
// beside it have returned, or with ctx's error naming those still running.
func (r *receiver) stop(ctx context.Context) error {
	r.cancel()
	r.mu.Lock()
	if r.iter != nil {
		r.iter.Drain()
	}
	r.mu.Unlock()
	if err := r.g.wait(ctx); err != nil {
		return fmt.Errorf("natsbus: stop consumer %s: %w", r.name, err)
	}
	return nil
}
