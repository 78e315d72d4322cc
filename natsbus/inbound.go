package natsbus

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gobus/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// receive handles one message of the durable consumer: it emits the event
// on the local bus, then acknowledges the message.
func (br *Bridge) receive(msg jetstream.Msg) {
	h := msg.Headers()
	id, topic, source := h.Get(HeaderID), h.Get(HeaderTopic), h.Get(HeaderSource)
	if source == br.cfg.Node {
		// The stream holds this node's own events too, handled here when
		// they were emitted.
		br.ack(msg)
		return
	}
	occurredAt, err := strconv.ParseInt(h.Get(HeaderOccurredAt), 10, 64)
	if id == "" || topic == "" || err != nil {
		br.reject(msg, fmt.Errorf("%w on %s: missing or malformed event headers", ErrMessage, msg.Subject()))
		return
	}
	if !br.receiveRE.MatchString(topic) {
		br.ack(msg) // not asked for
		return
	}
	if br.seen.has(id) {
		br.duplicates.Add(1)
		br.ack(msg)
		return
	}
	data, err := br.cfg.Codec.Decode(topic, msg.Data())
	if err != nil {
		br.reject(msg, fmt.Errorf("%w: event %s on %s: decode: %w", ErrMessage, id, topic, err))
		return
	}

	ctx := br.ctx
	if br.cfg.ExtractHeader != nil {
		ctx = br.cfg.ExtractHeader(ctx, h)
	}
	br.receiving.Store(id, struct{}{})
	_, err = br.bus.Emit(ctx, topic, data,
		bus.WithID(id), bus.WithTxID(h.Get(HeaderTxID)), bus.WithSource(source),
		bus.WithOccurredAt(time.Unix(0, occurredAt)))
	br.receiving.Delete(id)
	switch {
	case errors.Is(err, bus.ErrTopicNotFound):
		// Not for this node: acknowledge, so it is not redelivered.
		br.rejected.Add(1)
		br.report(fmt.Errorf("natsbus: event %s from %s: %w", id, source, err))
		br.ack(msg)
		return
	case err != nil:
		// The handlers ran, and some failed. Redelivering would run the
		// others again, so the event counts as handled.
		br.report(fmt.Errorf("natsbus: event %s from %s: %w", id, source, err))
	}
	br.seen.add(id)
	br.received.Add(1)
	br.ack(msg)
}

// reject terminates a message that can never be emitted, so that JetStream
// stops redelivering it.
func (br *Bridge) reject(msg jetstream.Msg, err error) {
	br.rejected.Add(1)
	br.report(err)
	if err := msg.TermWithReason(err.Error()); err != nil {
		br.report(fmt.Errorf("natsbus: terminate message: %w", err))
	}
}

func (br *Bridge) ack(msg jetstream.Msg) {
	// A lost acknowledgement means a redelivery, which seen absorbs.
	if err := msg.Ack(); err != nil {
		br.report(fmt.Errorf("natsbus: ack: %w", err))
	}
}
