package natsbus

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"

	"github.com/gobus/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// receivedKey marks the context of an event the bridge received, so that
// the outbound handler does not publish it back.
type receivedKey struct{}

// publish is the outbound handler. In confirm mode it returns once the
// stream has stored e; in pipelined mode once the publish is under way.
func (br *Bridge) publish(e *bus.Event) error {
	ctx := e.Context()
	if id, _ := ctx.Value(receivedKey{}).(string); id == e.ID {
		return nil // received from another node: it is in the stream already
	}
	msg, err := br.message(ctx, e)
	if err != nil {
		return err
	}
	if br.out != nil {
		return br.out.submit(ctx, msg, e)
	}
	if _, err := br.store(ctx, msg, e, time.Now().Add(br.cfg.PublishTimeout), true); err != nil {
		return err
	}
	br.published.Add(1)
	return nil
}

// message builds the message that carries e.
func (br *Bridge) message(ctx context.Context, e *bus.Event) (*nats.Msg, error) {
	subject, err := br.subject(e.Topic)
	if err != nil {
		return nil, err
	}
	payload, err := br.cfg.Codec.Encode(e.Topic, e.Data)
	if err != nil {
		return nil, fmt.Errorf("natsbus: encode event %s on %s: %w", e.ID, e.Topic, err)
	}
	source := e.Source
	if source == "" {
		source = br.cfg.Node
	}
	msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
	msg.Header.Set(HeaderID, e.ID)
	if e.TxID != e.ID { // a missing Bus-Tx-Id means the event starts its transaction
		msg.Header.Set(HeaderTxID, e.TxID)
	}
	msg.Header.Set(HeaderSource, source)
	msg.Header.Set(HeaderOccurredAt, strconv.FormatInt(e.OccurredAt, 10))
	msg.Header.Set(jetstream.MsgIDHeader, br.msgID(e.ID))
	if br.cfg.InjectHeader != nil {
		br.cfg.InjectHeader(ctx, msg.Header)
	}
	if size, limit := messageSize(msg), br.nc.MaxPayload(); size > limit {
		return nil, fmt.Errorf("%w: event %s on %s: the message is %d bytes, the server's max payload %d bytes", ErrTooLarge, e.ID, e.Topic, size, limit)
	}
	return msg, nil
}

// messageSize is the size the server counts against its max payload:
// the payload and the encoded headers.
func messageSize(msg *nats.Msg) int64 {
	size := len(msg.Data) + len("NATS/1.0\r\n\r\n")
	for k, vs := range msg.Header {
		for _, v := range vs {
			size += len(k) + len(": \r\n") + len(v)
		}
	}
	return int64(size)
}

// msgID returns the JetStream message ID of the event called id: the ID,
// and a MAC of it under this bridge's secret. The stream drops a message
// whose ID it holds already, so an ID that others could predict would let
// any client allowed to publish on the stream suppress this node's events
// by storing their IDs first. The MAC also tells this node's own messages
// from others without trusting the Bus-Source header.
func (br *Bridge) msgID(id string) string {
	m, _ := br.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, br.secret)
	}
	m.Reset()
	m.Write([]byte(id))
	var sum [sha256.Size]byte
	mac := base64.RawURLEncoding.EncodeToString(m.Sum(sum[:0])[:12]) // 96 bits
	br.macs.Put(m)
	return id + "." + mac
}

// isOwn reports whether a message carrying msgID and event id was
// published by this bridge.
func (br *Bridge) isOwn(msgID, id string) bool {
	return hmac.Equal([]byte(msgID), []byte(br.msgID(id)))
}

// store publishes msg synchronously, retrying transient failures until
// giveUp. first says whether no earlier attempt of this publish was made,
// elsewhere: a duplicate then means the message was not stored.
func (br *Bridge) store(ctx context.Context, msg *nats.Msg, e *bus.Event, giveUp time.Time, first bool) (*jetstream.PubAck, error) {
	wait := 10 * time.Millisecond
	for {
		ack, err := br.js.PublishMsg(ctx, msg)
		if err == nil {
			if ack.Duplicate && first {
				return nil, fmt.Errorf("%w: event %s on %s: the stream holds message ID %s already; not stored", ErrDuplicate, e.ID, e.Topic, msg.Header.Get(jetstream.MsgIDHeader))
			}
			return ack, nil
		}
		// A retry of an attempt that was stored, but whose acknowledgement
		// was lost, is a duplicate: success.
		first = false
		if perm := br.permanent(ctx, err); perm != nil {
			return nil, fmt.Errorf("natsbus: publish event %s on %s: %w", e.ID, e.Topic, perm)
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(giveUp) {
			return nil, fmt.Errorf("natsbus: publish event %s on %s: gave up after %v: %w", e.ID, e.Topic, br.cfg.PublishTimeout, err)
		}
		// Close stops an Emit waiting to retry; the pipeline's retries go
		// on, since Close waits for them.
		closing := br.closing
		if br.out != nil {
			closing = nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("natsbus: publish event %s on %s: %w", e.ID, e.Topic, ctx.Err())
		case <-closing:
			return nil, fmt.Errorf("%w: event %s on %s not stored: %w", ErrClosed, e.ID, e.Topic, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// permanent returns err, or what it means, if retrying cannot help; nil if
// it may be transient. A stream that does not answer may be electing a
// leader or restarting, so the bridge asks whether it still exists.
func (br *Bridge) permanent(ctx context.Context, err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadSubject), errors.Is(err, nats.ErrConnectionClosed):
		return err
	case errors.As(err, &apiErr) && apiErr.Code != 503:
		return err // the server refused the message itself
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		lookup, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, serr := br.js.Stream(lookup, br.cfg.Stream); errors.Is(serr, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("stream %s does not exist: %w", br.cfg.Stream, serr)
		}
	}
	return nil
}
