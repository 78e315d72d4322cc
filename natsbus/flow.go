package natsbus

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

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
