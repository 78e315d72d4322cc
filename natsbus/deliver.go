package natsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gobus/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// handle emits the event msg carries on the local bus, if judge admits
// it, then acknowledges msg. start is when handling began, as the caller
// measured it: progress signals count from there.
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
	h := msg.Headers()
	w, v, err := br.judge(msg.Subject(), h, msg.Data())
	switch v {
	case refuse:
		r.reject(msg, seq, fmt.Errorf("%w on %s (stream sequence %d): %w", ErrMessage, msg.Subject(), seq, err))
		return
	case notAsked:
		r.ack(msg)
		return
	case ownEvent:
		br.own.Add(1)
		r.done1(msg, seq)
		return
	}
	topic := w.topic
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
