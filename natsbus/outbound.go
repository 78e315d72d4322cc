package natsbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	o, err := br.outgoing(ctx, e)
	if err != nil {
		return err
	}
	return br.pub.publish(ctx, o)
}

// outgoing is one publish of an event: its message, and what a retry and
// an error report need. It is recycled once the publish is settled, so
// that publishing allocates little beyond the payload: the message, its
// header map and the header values' slices are reused.
type outgoing struct {
	msg       nats.Msg
	values    [8]string // backing the header values, one slice each
	id, topic string
	sent      time.Time // when the first attempt was sent; retries stop PublishTimeout after
	first     bool      // no attempt was made yet: a duplicate means not stored
	err       error     // set when the stream refused the first attempt

	seq        uint64    // in pipelined mode, the submission order
	prev, next *outgoing // in pipelined mode, the unsettled publishes
}

// outgoing builds the publish of e.
func (br *Bridge) outgoing(ctx context.Context, e *bus.Event) (*outgoing, error) {
	subject, err := br.subject(e.Topic)
	if err != nil {
		return nil, err
	}
	payload, err := br.cfg.Codec.Encode(e.Topic, e.Data)
	if err != nil {
		return nil, fmt.Errorf("natsbus: encode event %s on %s: %w", e.ID, e.Topic, err)
	}
	o, _ := outgoings.Get().(*outgoing)
	if o == nil {
		o = &outgoing{msg: nats.Msg{Header: make(nats.Header, 9)}} // 8 and a trace context
	}
	o.msg.Subject, o.msg.Data = subject, payload
	o.id, o.topic, o.first, o.err = e.ID, e.Topic, true, nil

	source := e.Source
	if source == "" {
		source = br.cfg.Node
	}
	// The message ID and the time share one allocation.
	var buf [128]byte
	b := br.ids.append(buf[:0], e.ID)
	split := len(b)
	b = time.Unix(0, e.OccurredAt).UTC().AppendFormat(b, time.RFC3339Nano)
	both := string(b)

	h := o.msg.Header
	o.set(0, ceSpecVersion, "1.0")
	o.set(1, ceID, escape(e.ID))
	o.set(2, ceSource, escape(source))
	o.set(3, ceType, escape(e.Topic))
	o.set(4, ceTime, both[split:])
	if e.TxID != e.ID { // none: the event starts its transaction
		o.set(5, ceTxID, escape(e.TxID))
	}
	if br.contentType != "" {
		o.set(6, ceDataContentType, escape(br.contentType))
	}
	o.set(7, jetstream.MsgIDHeader, both[:split])
	if br.cfg.InjectHeader != nil {
		br.cfg.InjectHeader(ctx, h)
	}
	if size, limit := messageSize(&o.msg), br.nc.MaxPayload(); size > limit {
		o.recycle()
		return nil, fmt.Errorf("%w: event %s on %s: the message is %d bytes, the server's max payload %d bytes", ErrTooLarge, e.ID, e.Topic, size, limit)
	}
	return o, nil
}

// set sets header key to v, in the value slice that slot i backs.
func (o *outgoing) set(i int, key, v string) {
	o.values[i] = v
	o.msg.Header[key] = o.values[i : i+1 : i+1]
}

// outgoings holds the settled publishes of every bridge for reuse: an
// outgoing keeps nothing of the bridge that made it once recycled.
var outgoings sync.Pool // of *outgoing

// recycle makes o available to the next publish, keeping the header map's
// room but none of what it or o referred to. Nothing may use o after.
func (o *outgoing) recycle() {
	clear(o.msg.Header)
	o.msg.Data, o.msg.Reply, o.values, o.err, o.prev, o.next = nil, "", [8]string{}, nil, nil, nil
	outgoings.Put(o)
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

// store publishes o synchronously, retrying transient failures until
// PublishTimeout after o.sent. Each attempt waits at most ackTimeout for
// the stream's acknowledgement, and none waits past that, so that store returns
// within PublishTimeout of the publish, give or take the scheduler. A
// close of closing (nil: never) stops it between attempts.
func (br *Bridge) store(ctx context.Context, o *outgoing, closing <-chan struct{}) error {
	giveUp := o.sent.Add(br.cfg.PublishTimeout)
	bounded, cancel := context.WithDeadline(ctx, giveUp)
	defer cancel()
	// The caller's context ended, not PublishTimeout.
	canceled := func(attempts int, last error) error {
		return fmt.Errorf("natsbus: publish event %s on %s: %w (the last of %d attempts: %v)", o.id, o.topic, ctx.Err(), attempts, last)
	}
	wait := 10 * time.Millisecond
	for attempts := 1; ; attempts++ {
		attempt, cancelAttempt := context.WithTimeout(bounded, ackTimeout)
		ack, err := br.js.PublishMsg(attempt, &o.msg)
		cancelAttempt()
		if err == nil {
			br.failover.answered()
			if ack.Duplicate && o.first {
				return o.duplicate()
			}
			return nil
		}
		// A retry of an attempt that was stored, but whose acknowledgement
		// was lost, is a duplicate: success.
		o.first = false
		if perm := br.permanent(bounded, err); perm != nil {
			return fmt.Errorf("natsbus: publish event %s on %s: %w", o.id, o.topic, perm)
		}
		if ctx.Err() != nil {
			return canceled(attempts, err)
		}
		br.failover.failed(err)
		if time.Now().Add(wait).After(giveUp) {
			waited := time.Since(o.sent).Round(time.Millisecond)
			return fmt.Errorf("%w: event %s on %s, after %v and %d attempts; the last: %v",
				ErrTimeout, o.id, o.topic, waited, attempts, err)
		}
		select {
		case <-ctx.Done():
			return canceled(attempts, err)
		case <-closing:
			return fmt.Errorf("%w: event %s on %s not stored: %w", ErrClosed, o.id, o.topic, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// duplicate is the error for a first attempt the stream reported as a
// duplicate: a message with o's ID was stored before, so o was not.
func (o *outgoing) duplicate() error {
	return fmt.Errorf("%w: event %s on %s: the stream holds message ID %s already; not stored", ErrDuplicate, o.id, o.topic, o.msg.Header.Get(jetstream.MsgIDHeader))
}

// errCodeInProcess is the server's answer to a publish whose message ID
// belongs to a message still being replicated (409, "duplicate message id
// is in process"): a retry that overtook the first attempt. The first
// attempt may be stored or lost with a leader, so the publish is retried
// with the same ID until the stream answers one way or the other; nats.go
// has no name for the code.
const errCodeInProcess jetstream.ErrorCode = 10158

// permanent returns err, or what it means, if retrying cannot help; nil if
// it may be transient. A stream that does not answer may be electing a
// leader or restarting, so the bridge asks whether it still exists.
func (br *Bridge) permanent(ctx context.Context, err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadSubject), errors.Is(err, nats.ErrConnectionClosed):
		return err
	case errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeInProcess:
		return nil // the first attempt is still being replicated: it may yet be stored
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
