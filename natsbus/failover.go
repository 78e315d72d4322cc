package natsbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// failoverAfter is how long JetStream may go unanswered on the connection's
// server before the bridge moves the connection to another server, and the
// least time between two moves. An election takes a few seconds, and a move
// during one costs a reconnect (a few milliseconds, and the answers then
// under way): short enough that a node on the minority side of a partition
// leaves it well within PublishTimeout, long enough that a healthy cluster
// under load, which answers between its timeouts, is never left.
const failoverAfter = 3 * time.Second

// failover moves the connection to another server of the cluster when the
// one it is on stops answering for JetStream while the connection stays up.
// A server cut off from the rest of its cluster keeps its clients, but can
// neither store their messages nor deliver the stream's; nats.go sees a
// healthy connection and stays, so without a move a node on the minority
// side of a partition would wait for the heal, however long, while the
// majority could serve it. Publishing and receiving tell failover what
// JetStream answered; it keeps no goroutine and costs an atomic load per
// answer.
type failover struct {
	nc     *nats.Conn
	report func(error)
	since  atomic.Int64 // Unix nanoseconds of the first failure since the last answer; 0 after an answer
	moved  atomic.Int64 // Unix nanoseconds of the last move
}

// answered records that JetStream answered.
func (f *failover) answered() {
	if f.since.Load() != 0 {
		f.since.Store(0)
	}
}

// failed records a failure. If it says JetStream did not answer, and
// nothing answered for failoverAfter, the connection moves to another
// server, unless it moved less than failoverAfter ago, is reconnecting
// already, knows no other server, or may not reconnect.
func (f *failover) failed(err error) {
	if !unanswered(err) {
		return
	}
	now := time.Now().UnixNano()
	since := f.since.Load()
	if since == 0 {
		f.since.CompareAndSwap(0, now)
		return
	}
	last := f.moved.Load()
	if now-since < int64(failoverAfter) || now-last < int64(failoverAfter) || !f.moved.CompareAndSwap(last, now) {
		return
	}
	if f.nc.Status() != nats.CONNECTED || !f.nc.Opts.AllowReconnect || len(f.nc.Servers()) < 2 {
		return
	}
	server := f.nc.ConnectedServerName()
	f.since.Store(0) // the next server gets failoverAfter of its own
	if rerr := f.nc.ForceReconnect(); rerr != nil {
		f.report(fmt.Errorf("natsbus: server %s has not answered for JetStream for %v; reconnecting: %w", server, time.Duration(now-since).Round(time.Millisecond), rerr))
		return
	}
	f.report(fmt.Errorf("natsbus: server %s has not answered for JetStream for %v (last: %w): reconnecting to another server", server, time.Duration(now-since).Round(time.Millisecond), err))
}

// errIsolated is the failure of a consumer's leader that has heard from
// none of its replicas lately: for failover, JetStream did not answer.
var errIsolated = errors.New("the leader has heard from none of its replicas for 2s")

// replicaSilence is how long a raft leader may go without hearing from a
// replica before the replica counts as out of touch: twice raft's
// heartbeat.
const replicaSilence = 2 * time.Second

// inTouch reports whether a group's leader heard from replica r lately.
func inTouch(r *jetstream.PeerInfo) bool { return !r.Offline && r.Active <= replicaSilence }

// isolated reports whether ci is a replicated group's leader in touch with
// none of its replicas: it is on the minority side of a partition, or
// paused until just now. One replica down leaves the leader in touch with
// the other.
func isolated(ci *jetstream.ClusterInfo) bool {
	if ci == nil || ci.Leader == "" || len(ci.Replicas) == 0 {
		return false
	}
	return !slices.ContainsFunc(ci.Replicas, inTouch)
}

// unanswered reports whether err says that JetStream did not answer: a
// timeout, no responders, missed heartbeats, a server reporting JetStream
// unavailable, or a publish still in process. Those are what a server
// without its cluster gives: a stream leader cut off from its followers
// answers a retry with "in process" until it steps down, as it cannot
// replicate the first attempt. Any other refusal is an answer.
func unanswered(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoHeartbeat), errors.Is(err, errIsolated):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Code == 503 || apiErr.ErrorCode == errCodeInProcess
	}
	return false
}

// retry calls f with a context bounded by ackTimeout, and again, backing
// off, while JetStream does not answer (an election, a server restarting
// or cut off from its cluster), until ctx is done. It returns f's error
// once f is answered with one, or ctx's error and f's last.
func (f *failover) retry(ctx context.Context, call func(context.Context) error) error {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		attempt, cancel := context.WithTimeout(ctx, ackTimeout)
		err := call(attempt)
		cancel()
		switch {
		case err == nil:
			f.answered()
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("%w; the last attempt: %w", ctx.Err(), err)
		case !unanswered(err):
			return err
		}
		f.failed(err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; the last attempt: %w", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}
