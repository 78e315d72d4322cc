package natsbus

// PROTOTYPE for issue 17 item 2: the pipelined publisher on nats.go's
// PublishMsgAsync, to be measured against the pipeline's own inbox.

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// usePublishMsgAsync selects the prototype; set by tests only.
var usePublishMsgAsync bool

// startAsync makes p publish through PublishMsgAsync: nats.go's reply
// subscription, futures' bookkeeping, timeout and reconnect reset replace
// the inbox, the expiry scan and the reconnect listener.
func (p *pipeline) startAsync(br *Bridge) error {
	p.br = br
	js, err := jetstream.New(br.nc,
		jetstream.WithPublishAsyncMaxPending(cap(p.window)),
		jetstream.WithPublishAsyncTimeout(ackTimeout),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
			o := p.takeMsg(m)
			if o == nil {
				return
			}
			if ack.Duplicate && o.first {
				o.err = o.duplicate()
				p.retry <- o
				return
			}
			p.settle(o, nil)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			// Called with nats.go's lock held on a timeout: never block.
			if o := p.takeMsg(m); o != nil {
				o.first = false
				p.retry <- o
			}
		}))
	if err != nil {
		return fmt.Errorf("natsbus: %w", err)
	}
	p.async = js
	go p.retrier()
	return nil
}

func (p *pipeline) takeMsg(m *nats.Msg) *outgoing {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.byMsg[m]
	delete(p.byMsg, m)
	return o
}

func (p *pipeline) submitAsync(ctx context.Context, o *outgoing) error {
	closed := func() error { return fmt.Errorf("%w: event %s on %s not published", ErrClosed, o.id, o.topic) }
	select {
	case p.window <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("natsbus: publish event %s on %s: window of %d publishes full: %w", o.id, o.topic, cap(p.window), ctx.Err())
	case <-p.br.closing:
		return closed()
	}
	o.sent = time.Now()
	p.mu.Lock()
	if p.closed {
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
	p.byMsg[&o.msg] = o
	p.mu.Unlock()
	if _, err := p.async.PublishMsgAsync(&o.msg); err != nil {
		if p.takeMsg(&o.msg) != nil {
			p.retry <- o
		}
	}
	return nil
}
