package natsbus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gobus/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publish is the outbound handler: it stores e in the stream, and returns
// once JetStream has acknowledged it. A failure is returned to the emitter.
func (br *Bridge) publish(e *bus.Event) error {
	if _, ok := br.receiving.Load(e.ID); ok {
		return nil // received from another node: it is in the stream already
	}
	if err := br.store(e.Context(), e); err != nil {
		return err
	}
	br.published.Add(1)
	return nil
}

func (br *Bridge) store(ctx context.Context, e *bus.Event) error {
	subject, err := br.subject(e.Topic)
	if err != nil {
		return err
	}
	payload, err := br.cfg.Codec.Encode(e.Topic, e.Data)
	if err != nil {
		return fmt.Errorf("natsbus: encode event %s on %s: %w", e.ID, e.Topic, err)
	}
	source := e.Source
	if source == "" {
		source = br.cfg.Node
	}
	msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
	msg.Header.Set(HeaderID, e.ID)
	msg.Header.Set(HeaderTxID, e.TxID)
	msg.Header.Set(HeaderTopic, e.Topic)
	msg.Header.Set(HeaderSource, source)
	msg.Header.Set(HeaderOccurredAt, strconv.FormatInt(e.OccurredAt, 10))
	if br.cfg.InjectHeader != nil {
		br.cfg.InjectHeader(ctx, msg.Header)
	}

	// Retry through disconnects and server restarts. The event ID is the
	// message ID, so a retry of a publish that was stored, but whose
	// acknowledgement was lost, is dropped by the server as a duplicate.
	// Each attempt is bounded by the JetStream client's default timeout
	// unless ctx has a deadline of its own.
	giveUp := time.Now().Add(br.cfg.PublishTimeout)
	wait := 10 * time.Millisecond
	for {
		_, err = br.js.PublishMsg(ctx, msg, jetstream.WithMsgID(e.ID), jetstream.WithExpectStream(br.cfg.Stream))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(giveUp) {
			return fmt.Errorf("natsbus: publish event %s on %s: gave up: %w", e.ID, e.Topic, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsbus: publish event %s on %s: gave up: %w", e.ID, e.Topic, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
