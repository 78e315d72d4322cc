package natsbus

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/gobus/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Message headers that carry an event's fields.
const (
	HeaderID         = "Bus-Id"
	HeaderTxID       = "Bus-Tx-Id"
	HeaderTopic      = "Bus-Topic"
	HeaderSource     = "Bus-Source"
	HeaderOccurredAt = "Bus-Occurred-At" // Unix nanoseconds, in decimal
)

var (
	// ErrSubject is returned, wrapped, for a topic that is not a valid NATS
	// subject.
	ErrSubject = errors.New("natsbus: topic is not a valid NATS subject")
	// ErrMessage is reported, wrapped, for a received message that is not a
	// bus event: missing headers or a payload the codec cannot decode.
	ErrMessage = errors.New("natsbus: bad message")
)

// Config configures a [Bridge]. Node is required; the zero value of every
// other field selects its default.
type Config struct {
	// Node names this process among those sharing the stream: it is the
	// Source of the events it publishes and the name of its durable
	// consumer. Letters, digits, "-" and "_" only.
	Node string
	// Publish is a regular expression, matched like bus.Handler.Matcher,
	// selecting the local topics whose events are published. Empty
	// publishes nothing.
	Publish string
	// Receive is a regular expression, matched the same way, selecting the
	// topics whose events from other nodes are emitted on the local bus;
	// the bridge acknowledges and ignores the others. Empty receives
	// nothing, and then the node has no consumer: a node that only
	// publishes does not pay for reading the stream back.
	Receive string
	// Stream is the JetStream stream to use, created if missing. Default
	// "BUS".
	Stream string
	// Prefix is the first subject token; the stream holds Prefix + ".>".
	// Default "bus".
	Prefix string
	// Codec encodes event data. Default JSON{}.
	Codec Codec
	// DedupWindow is how long the server, and each node, remember event IDs
	// to drop duplicates. Default two minutes.
	DedupWindow time.Duration
	// AckWait is how long the server waits for this node to acknowledge a
	// message before delivering it again. A message lost in flight, for
	// example when the connection drops, arrives this much later. It must
	// exceed the time the local handlers take. Default 30 seconds.
	AckWait time.Duration
	// PublishTimeout bounds how long Emit retries a publish that fails, for
	// example while the client reconnects. Default 30 seconds.
	PublishTimeout time.Duration
	// OnError receives every failure that happens outside an Emit call. It
	// may be called from several goroutines at once.
	OnError func(error)
	// InjectHeader, if set, is called with the context of each event the
	// bridge publishes (its [bus.Event.Context]) and the message's
	// headers, to add headers of its own, such as a W3C trace context. It
	// must not change the Bus-* headers.
	InjectHeader func(ctx context.Context, header map[string][]string)
	// ExtractHeader, if set, is called with the headers of each received
	// message; the context it returns, derived from ctx, is the one the
	// bridge emits the event with on the local bus. With InjectHeader on
	// the publishing node, it carries a trace across processes; see the
	// busotel module.
	ExtractHeader func(ctx context.Context, header map[string][]string) context.Context
}

// Stats counts what a Bridge did.
type Stats struct {
	Published  uint64 // local events stored in the stream
	Received   uint64 // events of other nodes emitted on the local bus
	Duplicates uint64 // redelivered events not handled again
	Rejected   uint64 // messages that could not be emitted: bad message or unknown topic
}

// Bridge carries events between a local bus and a JetStream stream. Create
// it with [New] and stop it with [Bridge.Close].
type Bridge struct {
	bus       *bus.Bus
	js        jetstream.JetStream
	cfg       Config
	key       string                   // handler key of the outbound handler
	consume   jetstream.ConsumeContext // nil if the node receives nothing
	stopped   <-chan struct{}          // closed when the consumer has stopped
	receiveRE *regexp.Regexp
	ctx       context.Context // for emits of received events; cancelled by Close
	cancel    context.CancelFunc
	seen      *seenIDs
	once      sync.Once

	// receiving holds the IDs of the events the bridge is emitting, so that
	// the outbound handler does not publish them back. Events that handlers
	// emit in turn are new events, and are published.
	receiving sync.Map

	published, received, duplicates, rejected atomic.Uint64
}

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// New connects b to the stream over nc: it creates the stream if needed,
// starts this node's durable consumer if cfg.Receive is set, and registers a
// handler on b that publishes the events of the topics cfg.Publish matches.
func New(ctx context.Context, b *bus.Bus, nc *nats.Conn, cfg Config) (*Bridge, error) {
	if b == nil || nc == nil {
		return nil, errors.New("natsbus: nil bus or connection")
	}
	if !tokenPattern.MatchString(cfg.Node) {
		return nil, fmt.Errorf("natsbus: node %q: want letters, digits, - and _ only", cfg.Node)
	}
	if cfg.Stream == "" {
		cfg.Stream = "BUS"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "bus"
	}
	if !tokenPattern.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("natsbus: prefix %q: want letters, digits, - and _ only", cfg.Prefix)
	}
	if cfg.Codec == nil {
		cfg.Codec = JSON{}
	}
	if cfg.DedupWindow <= 0 {
		cfg.DedupWindow = 2 * time.Minute
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 30 * time.Second
	}
	if _, err := compileMatcher(cfg.Publish); err != nil {
		return nil, fmt.Errorf("natsbus: publish matcher: %w", err)
	}
	receive, err := compileMatcher(cfg.Receive)
	if err != nil {
		return nil, fmt.Errorf("natsbus: receive matcher: %w", err)
	}

	// The default timeout bounds each publish attempt; Emit retries failed
	// attempts until PublishTimeout.
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(2*time.Second))
	if err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       cfg.Stream,
		Subjects:   []string{cfg.Prefix + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: cfg.DedupWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: stream %s: %w", cfg.Stream, err)
	}

	br := &Bridge{bus: b, js: js, cfg: cfg, receiveRE: receive, key: "natsbus:" + cfg.Node, seen: newSeenIDs(cfg.DedupWindow)}
	br.ctx, br.cancel = context.WithCancel(context.Background())
	if cfg.Receive != "" {
		if err := br.startConsumer(ctx, stream); err != nil {
			br.cancel()
			return nil, err
		}
	}
	if cfg.Publish != "" {
		if err := b.RegisterHandler(br.key, &bus.Handler{Matcher: cfg.Publish, HandleErr: br.publish}); err != nil {
			br.stopConsumer()
			br.cancel()
			return nil, err
		}
	}
	return br, nil
}

// startConsumer creates or resumes this node's durable consumer and starts
// receiving. A new node starts with the events published from then on; an
// existing one resumes after the last event it acknowledged.
func (br *Bridge) startConsumer(ctx context.Context, stream jetstream.Stream) error {
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       br.cfg.Node,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy,
		FilterSubject: br.cfg.Prefix + ".>",
		AckWait:       br.cfg.AckWait,
	})
	if err != nil {
		return fmt.Errorf("natsbus: consumer %s: %w", br.cfg.Node, err)
	}
	br.consume, err = cons.Consume(br.receive, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		br.report(fmt.Errorf("natsbus: consume: %w", err))
	}))
	if err != nil {
		return fmt.Errorf("natsbus: consume: %w", err)
	}
	return nil
}

// stopConsumer stops receiving and returns a channel closed once the
// message being handled, if any, is done.
func (br *Bridge) stopConsumer() <-chan struct{} {
	if br.consume == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	// Stop rather than Drain: draining waits for the pending pull request
	// to expire, seconds after a server restart, and what it would deliver
	// is redelivered to the durable consumer anyway.
	br.consume.Stop()
	return br.consume.Closed()
}

// Close stops publishing and receiving: it deregisters the outbound
// handler, stops the consumer, and returns once the event being received, if
// any, has been handled, or when ctx is done. Messages the client had
// fetched but not yet handed to the bridge are not acknowledged, so the
// server delivers them again when the node comes back. Close does not close
// the connection.
func (br *Bridge) Close(ctx context.Context) error {
	br.once.Do(func() {
		br.bus.DeregisterHandler(br.key)
		br.stopped = br.stopConsumer()
	})
	select {
	case <-br.stopped:
		br.cancel()
		return nil
	case <-ctx.Done():
		br.cancel()
		return ctx.Err()
	}
}

// Stats returns counts of what the bridge did so far.
func (br *Bridge) Stats() Stats {
	return Stats{
		Published:  br.published.Load(),
		Received:   br.received.Load(),
		Duplicates: br.duplicates.Load(),
		Rejected:   br.rejected.Load(),
	}
}

func (br *Bridge) report(err error) {
	if br.cfg.OnError != nil {
		br.cfg.OnError(err)
	}
}

// compileMatcher compiles a Publish or Receive matcher the way
// bus.Handler.Matcher is read: a lone "*" means every topic.
func compileMatcher(m string) (*regexp.Regexp, error) {
	if m == "*" {
		m = ".*"
	}
	return regexp.Compile(m)
}

// subject returns the subject topic is published on. Bus topics may hold
// inner spaces; subjects may not, and "*", ">" and empty tokens have other
// meanings there, so such topics cannot cross the bridge.
func (br *Bridge) subject(topic string) (string, error) {
	for _, token := range strings.Split(topic, ".") {
		switch {
		case token == "":
			return "", fmt.Errorf("%w: %q has an empty token", ErrSubject, topic)
		case token == "*" || token == ">":
			return "", fmt.Errorf("%w: %q has the wildcard token %q", ErrSubject, topic, token)
		case strings.IndexFunc(token, unicode.IsSpace) >= 0:
			return "", fmt.Errorf("%w: %q contains whitespace", ErrSubject, topic)
		}
	}
	return br.cfg.Prefix + "." + topic, nil
}
