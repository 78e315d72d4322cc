package natsbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamSettings are the limits of a stream the bridge creates. A zero
// field selects its default.
type StreamSettings struct {
	// MaxAge is how long the stream keeps an event. Default 24 hours.
	MaxAge time.Duration
	// MaxBytes bounds the stream's size; the oldest events go first.
	// Default 1 GiB: at about 300 bytes an event, some 3.5 million events.
	MaxBytes int64
	// Replicas is the number of servers holding the stream, in a cluster.
	// Default 1; use 3 in production clusters.
	Replicas int
	// Duplicates is how long the server remembers message IDs, within
	// which a retried publish is stored once. It must be at least
	// PublishTimeout. Default 2 minutes, as in NATS. The server holds
	// about 140 bytes per remembered ID: at high rates, keep the window
	// close to PublishTimeout.
	Duplicates time.Duration
}

func (s StreamSettings) withDefaults() StreamSettings {
	if s.MaxAge <= 0 {
		s.MaxAge = 24 * time.Hour
	}
	if s.MaxBytes <= 0 {
		s.MaxBytes = 1 << 30
	}
	if s.Replicas <= 0 {
		s.Replicas = 1
	}
	if s.Duplicates <= 0 {
		s.Duplicates = 2 * time.Minute
	}
	return s
}

// Replay selects where a node's new durable consumer starts in the stream.
// It applies only when the consumer is created: an existing consumer
// resumes after the last event it acknowledged.
type Replay struct {
	all   bool
	since time.Time
}

var (
	// ReplayNew starts with the events stored from then on. It is the zero
	// Replay, and the default.
	ReplayNew = Replay{}
	// ReplayAll starts with the oldest event the stream retains, for a node
	// that builds its state from history.
	ReplayAll = Replay{all: true}
)

// ReplaySince starts with the first event stored at or after t.
func ReplaySince(t time.Time) Replay { return Replay{since: t} }

// apply sets where c starts. ReplayNew starts after last, the stream's last
// sequence when the bridge started, rather than with NATS's "new" policy:
// that resolves when the consumer's leader is elected, which in a cluster
// under an election can be seconds after the consumer was created, and
// would skip the events stored meanwhile.
func (r Replay) apply(c *jetstream.ConsumerConfig, last uint64) {
	switch {
	case r.all:
		c.DeliverPolicy = jetstream.DeliverAllPolicy
	case !r.since.IsZero():
		c.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		since := r.since
		c.OptStartTime = &since
	default:
		c.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		c.OptStartSeq = last + 1
	}
}

// openStream looks the stream up and checks that it suits the bridge. It
// creates the stream only if it is missing and cfg.Provision is set; an
// existing stream is used as its operator provisioned it, never updated.
// Requests JetStream does not answer are retried until ctx is done: a node
// started while the cluster elects a leader waits for it.
func (br *Bridge) openStream(ctx context.Context) (jetstream.Stream, error) {
	cfg := &br.cfg
	var stream jetstream.Stream
	err := br.failover.retry(ctx, func(ctx context.Context) (err error) {
		stream, err = br.js.Stream(ctx, cfg.Stream)
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound) && cfg.Provision != nil:
		s := cfg.Provision.withDefaults()
		err = br.failover.retry(ctx, func(ctx context.Context) (err error) {
			stream, err = br.js.CreateStream(ctx, jetstream.StreamConfig{
				Name:       cfg.Stream,
				Subjects:   []string{cfg.Prefix + ".>"},
				Storage:    jetstream.FileStorage,
				Retention:  jetstream.LimitsPolicy,
				Discard:    jetstream.DiscardOld,
				MaxAge:     s.MaxAge,
				MaxBytes:   s.MaxBytes,
				Replicas:   s.Replicas,
				Duplicates: s.Duplicates,
			})
			return err
		})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("natsbus: create stream %s: %w", cfg.Stream, err)
		}
		if err != nil { // another node created it meanwhile
			return br.openStream(ctx)
		}
		return stream, checkStream(stream.CachedInfo().Config, cfg)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("natsbus: stream %s does not exist: provision it, or set Config.Provision to let the bridge create it: %w", cfg.Stream, err)
	case err != nil:
		return nil, fmt.Errorf("natsbus: stream %s: %w", cfg.Stream, err)
	}
	return stream, checkStream(stream.CachedInfo().Config, cfg)
}

// checkStream refuses a stream that does not hold the bridge's subjects,
// that forgets message IDs while a publish may still be retried, or whose
// limits differ from those cfg.Provision sets explicitly.
func checkStream(sc jetstream.StreamConfig, cfg *Config) error {
	if !slices.Contains(sc.Subjects, cfg.Prefix+".>") && !slices.Contains(sc.Subjects, ">") {
		return fmt.Errorf("natsbus: stream %s holds the subjects %q, not %s.>", cfg.Stream, sc.Subjects, cfg.Prefix)
	}
	if cfg.Publish != "" && sc.Duplicates < cfg.PublishTimeout {
		return fmt.Errorf("natsbus: stream %s remembers message IDs for %v, less than PublishTimeout %v: a publish retried later would be stored twice; lower PublishTimeout or raise the stream's Duplicates window", cfg.Stream, sc.Duplicates, cfg.PublishTimeout)
	}
	p := cfg.Provision
	if p == nil {
		return nil
	}
	var conflicts []error
	check := func(name string, want, have any, set bool) {
		if set && want != have {
			conflicts = append(conflicts, fmt.Errorf("%s is %v, Config.Provision asks for %v", name, have, want))
		}
	}
	check("MaxAge", p.MaxAge, sc.MaxAge, p.MaxAge > 0)
	check("MaxBytes", p.MaxBytes, sc.MaxBytes, p.MaxBytes > 0)
	check("Replicas", p.Replicas, sc.Replicas, p.Replicas > 0)
	check("Duplicates", p.Duplicates, sc.Duplicates, p.Duplicates > 0)
	if len(conflicts) > 0 {
		return fmt.Errorf("natsbus: stream %s exists with other settings (the bridge does not change them): %w", cfg.Stream, errors.Join(conflicts...))
	}
	return nil
}
