package natsbus

import (
	"context"
	"sync/atomic"
	"time"
)

// publisher stores what the outbound handler gives it in the stream. There
// are two: confirm, which waits for the stream on the emitting goroutine,
// and pipeline, which does not. Each owns its counters and its failure
// records; the Bridge wires one in and reads its counts for Stats.
type publisher interface {
	// publish stores o, or starts to. o is the publisher's from then on,
	// whatever publish returns.
	publish(ctx context.Context, o *outgoing) error
	// flush waits for what publish started before the call, and returns
	// the failures among it that no flush returned before.
	flush(ctx context.Context) error
	// close refuses further publishes and waits for those under way.
	close(ctx context.Context) error
	// counts returns how many publishes were stored and how many failed
	// after publish returned.
	counts() (stored, failed uint64)
}

// confirm publishes synchronously: publish returns once the stream stored
// the event, or with why it did not.
type confirm struct {
	br     *Bridge
	stored atomic.Uint64
}

func (c *confirm) publish(ctx context.Context, o *outgoing) error {
	defer o.recycle()
	o.sent = time.Now()
	// Close stops an Emit waiting to retry.
	if err := c.br.store(ctx, o, c.br.closing); err != nil {
		return err
	}
	c.stored.Add(1)
	return nil
}

// flush has nothing to wait for: each publish waited for itself.
func (c *confirm) flush(context.Context) error { return nil }

// close has nothing to wait for: the Emits under way return on their own.
func (c *confirm) close(context.Context) error { return nil }

// counts never counts a failure: each is the Emit's error.
func (c *confirm) counts() (stored, failed uint64) { return c.stored.Load(), 0 }
