package natsbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gobus/bus"
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

// consumer looks up the durable consumer, or creates it with the node's
// settings. An existing consumer keeps where it is in the stream; only its
// filter and delivery limits follow the configuration.
func (r *receiver) consumer(ctx context.Context) (jetstream.Consumer, error) {
	cfg := r.br.cfg
	want := jetstream.ConsumerConfig{
		Durable:        r.name,
		AckPolicy:      jetstream.AckExplicitPolicy,
		FilterSubjects: filterSubjects(cfg.Prefix, cfg.Receive),
		AckWait:        cfg.AckWait,
		MaxDeliver:     cfg.MaxDeliver,
		BackOff:        backOff(cfg.AckWait, cfg.MaxDeliver),
		MaxAckPending:  4 * cfg.MaxBatch,
	}
	var cons jetstream.Consumer
	err := r.br.failover.retry(ctx, func(ctx context.Context) (err error) {
		cons, err = r.stream.Consumer(ctx, r.name)
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		var info *jetstream.StreamInfo
		if err := r.br.failover.retry(ctx, func(ctx context.Context) (err error) {
			info, err = r.stream.Info(ctx)
			return err
		}); err != nil {
			return nil, fmt.Errorf("natsbus: consumer %s: stream %s: %w", r.name, cfg.Stream, err)
		}
		cfg.Replay.apply(&want, info.State.LastSeq)
	case err != nil:
		return nil, fmt.Errorf("natsbus: consumer %s: %w", r.name, err)
	default:
		have := cons.CachedInfo().Config
		if same(have, want) {
			return cons, nil
		}
		want.DeliverPolicy, want.OptStartTime, want.OptStartSeq = have.DeliverPolicy, have.OptStartTime, have.OptStartSeq
	}
	err = r.br.failover.retry(ctx, func(ctx context.Context) (err error) {
		cons, err = r.stream.CreateOrUpdateConsumer(ctx, want)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: consumer %s: %w", r.name, err)
	}
	return cons, nil
}

func same(have, want jetstream.ConsumerConfig) bool {
	filters := have.FilterSubjects
	if have.FilterSubject != "" {
		filters = []string{have.FilterSubject}
	}
	return slices.Equal(filters, want.FilterSubjects) && have.AckWait == want.AckWait &&
		have.MaxDeliver == want.MaxDeliver && slices.Equal(have.BackOff, want.BackOff) &&
		have.MaxAckPending == want.MaxAckPending && have.AckPolicy == want.AckPolicy
}

// backOff is the redelivery schedule: AckWait, doubling for each further
// delivery.
func backOff(ackWait time.Duration, maxDeliver int) []time.Duration {
	if maxDeliver < 2 {
		return nil
	}
	b := make([]time.Duration, maxDeliver-1)
	for i := range b {
		b[i] = ackWait << min(i, 4)
	}
	return b
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

func (r *receiver) reopen() (jetstream.MessagesContext, error) {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	stream, err := r.br.js.Stream(ctx, r.br.cfg.Stream)
	if err != nil {
		return nil, err
	}
	r.stream = stream
	cons, err := r.consumer(ctx)
	if err != nil {
		return nil, err
	}
	renewed := !cons.CachedInfo().Created.Equal(r.consumerNow().CachedInfo().Created)
	// Installed before the reset: see seenSeqs.prune.
	r.setConsumer(cons)
	if renewed {
		// A new consumer, maybe on a new stream whose sequences start
		// again at 1: what the old one delivered says nothing about it.
		r.seen.reset()
	}
	return r.open()
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

// handleBacklog handles what a drained iterator still holds. Those
// messages are marked waiting, so that signalProgress keeps the server
// from delivering them again while they wait their turn.
func (r *receiver) handleBacklog(iter jetstream.MessagesContext) {
	var backlog []jetstream.Msg
	for {
		msg, err := iter.Next()
		if err != nil {
			break
		}
		backlog = append(backlog, msg)
	}
	r.mu.Lock()
	r.waiting = backlog
	r.mu.Unlock()
	for i, msg := range backlog {
		r.mu.Lock()
		r.waiting = backlog[i+1:]
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			r.nak(msg)
			continue
		}
		r.handle(msg, time.Now())
	}
}

// resize keeps the buffer small enough that no message waits in it for
// more than half of AckWait, and lets it grow back, up to MaxBatch, once
// handlers are fast again. It reports whether the iterator must be
// reopened with the new size.
func (r *receiver) resize(took time.Duration) bool {
	if r.slow == 0 {
		r.slow = took
	}
	r.slow = (7*r.slow + took) / 8
	if r.slow <= 0 {
		return false
	}
	fits := int(min(r.br.cfg.AckWait/2/r.slow, 1<<20))
	switch {
	case fits < r.batch && r.batch > 1:
		r.batch = max(1, fits/2)
	case fits >= 4*r.batch && r.batch < r.br.cfg.MaxBatch: // hysteresis: no flapping
		r.batch = min(r.br.cfg.MaxBatch, fits/2)
	default:
		return false
	}
	return true
}

// giveBack stops iter and negatively acknowledges what it buffered, so the
// server delivers it again at once.
func (r *receiver) giveBack(iter jetstream.MessagesContext) {
	iter.Drain()
	for {
		msg, err := iter.Next()
		if err != nil {
			return
		}
		r.nak(msg)
	}
}

func (r *receiver) nak(msg jetstream.Msg) {
	if err := msg.Nak(); err != nil {
		r.br.report(fmt.Errorf("natsbus: nak: %w", err))
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

// signalProgress tells the server that the message being handled, if it
// has been for a third of AckWait, and those waiting their turn after a
// resize, are in progress, so a handler slower than AckWait does not cause
// a redelivery. It runs every third of AckWait.
func (r *receiver) signalProgress() {
	var busy []jetstream.Msg
	r.mu.Lock()
	if r.current != nil && time.Since(r.since) >= r.br.cfg.AckWait/3 {
		busy = append(busy, r.current)
	}
	busy = append(busy, r.waiting...)
	r.mu.Unlock()
	for _, msg := range busy {
		if err := msg.InProgress(); err != nil {
			r.br.report(fmt.Errorf("natsbus: in progress: %w", err))
		}
	}
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

// handle emits the event msg carries on the local bus, then acknowledges
// msg. The topic is the subject's: NATS permissions are per subject, so a
// client allowed to publish only on some subjects cannot make its messages
// pass for events of other topics. start is when handling began, as the
// caller measured it: progress signals count from there.
func (r *receiver) handle(msg jetstream.Msg, start time.Time) {
	br := r.br
	meta, err := msg.Metadata()
	if err != nil {
		br.rejected.Add(1)
		br.report(fmt.Errorf("%w on %s: %w", ErrMessage, msg.Subject(), err))
		r.ack(msg)
		return
	}
	seq := meta.Sequence.Stream
	if r.seen.has(seq) {
		br.duplicates.Add(1)
		r.ack(msg)
		return
	}
	topic := strings.TrimPrefix(msg.Subject(), br.cfg.Prefix+".")
	h := msg.Headers()
	w, err := parseEvent(h, msg.Data())
	switch {
	case err != nil:
		r.reject(msg, seq, fmt.Errorf("%w on %s (stream sequence %d): %w", ErrMessage, msg.Subject(), seq, err))
		return
	case w.topic != topic:
		r.reject(msg, seq, fmt.Errorf("%w: event %s on subject %s has type %q, not the subject's topic: refused", ErrMessage, w.id, msg.Subject(), w.topic))
		return
	case !br.receiveRE.MatchString(topic):
		r.ack(msg) // not asked for, and the server could not filter it out
		return
	case br.publishes(topic) && br.isOwn(h.Get(jetstream.MsgIDHeader), w.id):
		// This node's own event, handled when it was emitted here.
		br.own.Add(1)
		r.done1(msg, seq)
		return
	case w.contentType != "" && br.contentType != "" && mediaType(w.contentType) != mediaType(br.contentType):
		r.reject(msg, seq, fmt.Errorf("%w: event %s on %s has datacontenttype %q; the codec decodes %s", ErrMessage, w.id, topic, w.contentType, br.contentType))
		return
	}
	id, source, txID := w.id, w.source, w.txID
	if txID == "" {
		txID = id // the event starts its transaction
	}
	occurredAt := w.time
	if occurredAt.IsZero() {
		occurredAt = meta.Timestamp // when the stream stored it
	}
	data, err := br.cfg.Codec.Decode(topic, w.data)
	if err != nil {
		r.reject(msg, seq, fmt.Errorf("%w: event %s on %s: decode: %w", ErrMessage, id, topic, err))
		return
	}
	if meta.NumDelivered >= uint64(br.cfg.MaxDeliver) {
		// The last delivery: JetStream sends the message no more. It is
		// handled all the same, since this node never did (or seen would
		// know it): deliveries are also used up by faults, such as the
		// negative acknowledgements of a buffer handed back on a reconnect,
		// and terminating it unhandled lost 299 events in the fault suite's
		// seed 8. A message that crashes the process gets no further try.
		br.report(fmt.Errorf("natsbus: event %s on %s (stream sequence %d): delivered %d times without being acknowledged; handling it on its last delivery", id, topic, seq, meta.NumDelivered))
	}

	ctx := r.ctx
	if br.cfg.ExtractHeader != nil {
		ctx = br.cfg.ExtractHeader(ctx, h)
	}
	if br.publishes(topic) {
		ctx = context.WithValue(ctx, receivedKey{}, id)
	}
	r.mu.Lock()
	r.current, r.since = msg, start
	r.mu.Unlock()
	_, err = br.bus.Emit(ctx, topic, data,
		bus.WithID(id), bus.WithTxID(txID), bus.WithSource(source),
		bus.WithOccurredAt(occurredAt))
	r.mu.Lock()
	r.current = nil
	r.mu.Unlock()
	switch {
	case errors.Is(err, bus.ErrTopicNotFound):
		// Not for this node: acknowledge, so it is not redelivered.
		br.rejected.Add(1)
		br.report(fmt.Errorf("natsbus: event %s from %s: %w", id, source, err))
		r.done1(msg, seq)
		return
	case err != nil:
		// The handlers ran, and some failed. Redelivering would run the
		// others again, so the event counts as handled.
		br.report(fmt.Errorf("natsbus: event %s from %s: %w", id, source, err))
	}
	br.received.Add(1)
	r.done1(msg, seq)
}

// done1 records that the message at seq was dealt with and acknowledges it.
func (r *receiver) done1(msg jetstream.Msg, seq uint64) {
	r.seen.add(seq)
	r.ack(msg)
}

// reject terminates a message that can never be emitted, so that JetStream
// stops redelivering it, and reports why.
func (r *receiver) reject(msg jetstream.Msg, seq uint64, err error) {
	r.br.rejected.Add(1)
	r.br.report(err)
	r.seen.add(seq)
	if err := msg.TermWithReason(err.Error()); err != nil {
		r.br.report(fmt.Errorf("natsbus: terminate message: %w", err))
	}
}

func (r *receiver) ack(msg jetstream.Msg) {
	// Asynchronous: no round trip per message. A lost acknowledgement
	// means a redelivery, which seen absorbs.
	if err := msg.Ack(); err != nil {
		r.br.report(fmt.Errorf("natsbus: ack: %w", err))
	}
}
