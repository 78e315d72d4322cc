package natsbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// consumer looks up the durable consumer, or creates it with the node's
// settings. An existing consumer keeps where it is in the stream; only its
// filter and delivery limits follow the configuration.
func (r *receiver) consumer(ctx context.Context) (jetstream.Consumer, error) {
	cfg := r.br.cfg
	want := jetstream.ConsumerConfig{
		Durable:        r.name,
		AckPolicy:      jetstream.AckExplicitPolicy,
		FilterSubjects: filterSubjects(cfg.Prefix, cfg.Receive),
		AckWait:        cfg.AckWait,
		MaxDeliver:     cfg.MaxDeliver,
		BackOff:        backOff(cfg.AckWait, cfg.MaxDeliver),
		MaxAckPending:  4 * cfg.MaxBatch,
	}
	var cons jetstream.Consumer
	err := r.br.failover.retry(ctx, func(ctx context.Context) (err error) {
		cons, err = r.stream.Consumer(ctx, r.name)
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		var info *jetstream.StreamInfo
		if err := r.br.failover.retry(ctx, func(ctx context.Context) (err error) {
			info, err = r.stream.Info(ctx)
			return err
		}); err != nil {
			return nil, fmt.Errorf("natsbus: consumer %s: stream %s: %w", r.name, cfg.Stream, err)
		}
		cfg.Replay.apply(&want, info.State.LastSeq)
	case err != nil:
		return nil, fmt.Errorf("natsbus: consumer %s: %w", r.name, err)
	default:
		have := cons.CachedInfo().Config
		if same(have, want) {
			return cons, nil
		}
		want.DeliverPolicy, want.OptStartTime, want.OptStartSeq = have.DeliverPolicy, have.OptStartTime, have.OptStartSeq
	}
	err = r.br.failover.retry(ctx, func(ctx context.Context) (err error) {
		cons, err = r.stream.CreateOrUpdateConsumer(ctx, want)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: consumer %s: %w", r.name, err)
	}
	return cons, nil
}

func same(have, want jetstream.ConsumerConfig) bool {
	filters := have.FilterSubjects
	if have.FilterSubject != "" {
		filters = []string{have.FilterSubject}
	}
	return slices.Equal(filters, want.FilterSubjects) && have.AckWait == want.AckWait &&
		have.MaxDeliver == want.MaxDeliver && slices.Equal(have.BackOff, want.BackOff) &&
		have.MaxAckPending == want.MaxAckPending && have.AckPolicy == want.AckPolicy
}

// backOff is the redelivery schedule: AckWait, doubling for each further
// delivery.
func backOff(ackWait time.Duration, maxDeliver int) []time.Duration {
	if maxDeliver < 2 {
		return nil
	}
	b := make([]time.Duration, maxDeliver-1)
	for i := range b {
		b[i] = ackWait << min(i, 4)
	}
	return b
}

func (r *receiver) reopen() (jetstream.MessagesContext, error) {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	stream, err := r.br.js.Stream(ctx, r.br.cfg.Stream)
	if err != nil {
		return nil, err
	}
	r.stream = stream
	cons, err := r.consumer(ctx)
	if err != nil {
		return nil, err
	}
	renewed := !cons.CachedInfo().Created.Equal(r.consumerNow().CachedInfo().Created)
	// Installed before the reset: see seenSeqs.prune.
	r.setConsumer(cons)
	if renewed {
		// A new consumer, maybe on a new stream whose sequences start
		// again at 1: what the old one delivered says nothing about it.
		r.seen.reset()
	}
	return r.open()
}
