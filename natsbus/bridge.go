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

var (
	// ErrSubject is returned, wrapped, for a topic that is not a valid NATS
	// subject.
	ErrSubject = errors.New("natsbus: topic is not a valid NATS subject")
	// ErrMessage is reported, wrapped, for a received message that is not a
	// bus event: not a CloudEvent, one whose type disagrees with the topic
	// its subject names, or data the codec cannot decode.
	ErrMessage = errors.New("natsbus: bad message")
	// ErrTooLarge is returned, wrapped, for an event whose message exceeds
	// the server's maximum payload.
	ErrTooLarge = errors.New("natsbus: message too large")
	// ErrTimeout is returned, wrapped, for a publish the stream did not
	// confirm within PublishTimeout: the event may or may not be stored.
	// Unlike the caller's own context ending, it does not wrap
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("natsbus: publish not confirmed within PublishTimeout")
	// ErrDuplicate is returned, wrapped, when the stream reports the first
	// attempt to store an event as a duplicate: the message was not stored,
	// because one with its message ID already was.
	ErrDuplicate = errors.New("natsbus: duplicate message ID")
	// ErrClosed is returned, wrapped, for an event published after Close.
	ErrClosed = errors.New("natsbus: bridge closed")
)

// Config configures a [Bridge]. Node is required; the zero value of every
// other field selects its default.
type Config struct {
	// Node names this process among those sharing the stream: it is the
	// Source of the events it publishes and, without a Group, the name of
	// its durable consumer. Give every process its own Node. Letters,
	// digits, "-" and "_" only.
	Node string
	// Group, if set, makes this node one of a work-sharing group: the
	// nodes with the same Group share one durable consumer, named after
	// the Group, and each received event goes to one of them. Without a
	// Group, the node has a consumer of its own and receives every event:
	// fan-out. Letters, digits, "-" and "_" only.
	Group string
	// Publish is a regular expression, matched like bus.Handler.Matcher,
	// selecting the local topics whose events are published. Empty
	// publishes nothing.
	Publish string
	// Receive is a regular expression, matched the same way, selecting the
	// topics whose events from other nodes are emitted on the local bus.
	// The server sends only the subjects Receive can match, where the
	// expression allows telling (an anchored literal prefix such as
	// "^order\\." or name such as "^order\\.created$", or alternatives of
	// those); the bridge acknowledges and ignores the rest. Empty receives
	// nothing, and then the node has no consumer.
	Receive string
	// Stream is the JetStream stream to use. Default "BUS".
	Stream string
	// Prefix is the first subject token; the stream must hold Prefix + ".>".
	// Default "bus".
	Prefix string
	// Provision, if set, lets the bridge create the stream when it does not
	// exist, with these settings. An existing stream is used as it is: the
	// bridge never changes it, and refuses to start if Provision sets a
	// limit the stream does not have. Without Provision, the stream must
	// exist.
	Provision *StreamSettings
	// Replay selects where a new durable consumer starts: ReplayNew (the
	// default), ReplayAll or ReplaySince.
	Replay Replay
	// Codec encodes event data. Default JSON{}, which decodes the data of
	// a typed topic (one made with bus.NewTopic) into the topic's type.
	Codec Codec
	// MaxInFlight selects how Emit publishes. With 0, the default, Emit
	// returns once the stream has stored the event, or with the error.
	// With N > 0, Emit publishes without waiting for the stream's
	// confirmation and returns; at most N publishes await it at a
	// time, and a full window holds the emitter back until there is room
	// or the emit's context is done. Each publish is still confirmed and
	// retried until PublishTimeout; one that fails goes to OnError and is
	// counted in Stats.Failed. Flush waits for the confirmations.
	MaxInFlight int
	// AckWait is how long the server waits for this node to acknowledge a
	// message before delivering it again. The bridge signals progress
	// while its handlers run, so a slow handler does not cause a
	// redelivery; AckWait bounds how late a message lost in flight, or
	// held by a node that stopped without Close, is delivered again.
	// Default 30 seconds.
	AckWait time.Duration
	// MaxDeliver bounds how often a message is delivered to the consumer.
	// Redeliveries back off: AckWait, then twice and four times as long. A
	// message delivered MaxDeliver times without being acknowledged is
	// handled on that last delivery, as any other, and reported; JetStream
	// delivers it no more, so a message that crashes the process is not
	// retried forever. Default 5.
	MaxDeliver int
	// MaxBatch bounds how many messages the client buffers ahead of the
	// handlers; the consumer lets four times as many be unacknowledged.
	// The bridge buffers fewer while handlers are slow, so that no message
	// waits in the buffer for more than half of AckWait, and returns to
	// MaxBatch when they are fast again. Default 1024: with 256, a
	// receiver at full speed fell behind its publishers, and events
	// crossed 9 % slower end to end.
	MaxBatch int
	// PublishTimeout bounds how long a publish is retried through
	// transient failures, such as a reconnect or a cluster electing a new
	// leader. Permanent failures (a missing stream, an oversized message)
	// fail at once. Default 30 seconds. A publishing node refuses a stream
	// whose Duplicates window is shorter: a retry after the window could
	// be stored twice.
	PublishTimeout time.Duration
	// OnError receives every failure that happens outside an Emit call. It
	// may be called from several goroutines at once.
	OnError func(error)
	// InjectHeader, if set, is called with the context of each event the
	// bridge publishes (its [bus.Event.Context]) and the message's
	// headers, to add headers of its own, such as a W3C trace context. It
	// must not change the ce-* headers nor Nats-Msg-Id, nor keep the map after it
	// returns: the bridge reuses it for a later message.
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
	Failed     uint64 // pipelined publishes that failed, reported to OnError
	Received   uint64 // events of other nodes emitted on the local bus
	Own        uint64 // this node's own events read back, not handled again
	Duplicates uint64 // redelivered messages not handled again
	Rejected   uint64 // messages that could not be emitted: bad message, unknown topic
}

// Bridge carries events between a local bus and a JetStream stream. Create
// it with [New] and stop it with [Bridge.Close].
type Bridge struct {
	bus         *bus.Bus
	nc          *nats.Conn
	js          jetstream.JetStream
	cfg         Config
	key         string // handler key of the outbound handler
	publishRE   *regexp.Regexp
	receiveRE   *regexp.Regexp
	contentType string   // the codec's media type, as ce-datacontenttype says it
	ids         *msgIDs  // makes and recognises the message IDs this node publishes
	subjects    sync.Map // topic → subject, for the topics published so far
	closing     chan struct{}
	closeOnce   sync.Once
	failover    *failover // moves nc off a server that lost its cluster

	pub publisher // confirm, or a pipeline with MaxInFlight
	in  *receiver // nil if the node receives nothing

	received, own, duplicates, rejected atomic.Uint64
}

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// New connects b to the stream over nc: it opens the stream (creating it
// if it is missing and cfg.Provision is set), starts this node's durable
// consumer if cfg.Receive is set, and registers a handler on b that
// publishes the events of the topics cfg.Publish matches, under the key
// "natsbus:" and the Node (observers such as busotel tell a publish by that
// prefix). Receiving starts at once, so register b's handlers for the
// received topics first.
//
// Requests that JetStream does not answer, as during an election or on a
// server cut off from its cluster, are retried until ctx is done, moving
// the connection to another server if they go unanswered for long (see
// "Partitions" in the package documentation): give ctx a deadline.
func New(ctx context.Context, b *bus.Bus, nc *nats.Conn, cfg Config) (*Bridge, error) {
	if b == nil || nc == nil {
		return nil, errors.New("natsbus: nil bus or connection")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	publish, err := compileMatcher(cfg.Publish)
	if err != nil {
		return nil, fmt.Errorf("natsbus: publish matcher: %w", err)
	}
	receive, err := compileMatcher(cfg.Receive)
	if err != nil {
		return nil, fmt.Errorf("natsbus: receive matcher: %w", err)
	}
	if cfg.Publish != "" {
		// A topic registered later is checked at its first Emit.
		for _, topic := range b.Topics() {
			if publish.MatchString(topic) {
				if err := checkSubject(topic); err != nil {
					return nil, fmt.Errorf("natsbus: topic %q, which Publish %q matches: %w", topic, cfg.Publish, err)
				}
			}
		}
	}
	if c, ok := cfg.Codec.(JSON); ok && c.typeOf == nil {
		c.typeOf = b.DataType
		cfg.Codec = c
	}
	// The default timeout bounds each publish attempt; Emit retries failed
	// attempts until PublishTimeout.
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(ackTimeout))
	if err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	br := &Bridge{bus: b, nc: nc, js: js, cfg: cfg, publishRE: publish, receiveRE: receive, key: "natsbus:" + cfg.Node,
		contentType: cfg.Codec.ContentType(), ids: newMsgIDs(), closing: make(chan struct{})}
	br.failover = &failover{nc: nc, report: br.report}
	br.pub = &confirm{br: br}
	stream, err := br.openStream(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Receive != "" {
		if br.in, err = br.startReceiver(ctx, stream); err != nil {
			return nil, err
		}
	}
	if cfg.MaxInFlight > 0 {
		out := newPipeline(cfg.MaxInFlight)
		if err := out.start(br); err != nil {
			br.Close(ctx)
			return nil, err
		}
		br.pub = out
	}
	if cfg.Publish != "" {
		if err := b.RegisterHandler(br.key, &bus.Handler{Matcher: cfg.Publish, HandleErr: br.publish}); err != nil {
			br.Close(ctx)
			return nil, err
		}
	}
	return br, nil
}

func (c *Config) setDefaults() error {
	if !tokenPattern.MatchString(c.Node) {
		return fmt.Errorf("natsbus: node %q: want letters, digits, - and _ only", c.Node)
	}
	if c.Group != "" && !tokenPattern.MatchString(c.Group) {
		return fmt.Errorf("natsbus: group %q: want letters, digits, - and _ only", c.Group)
	}
	if c.Stream == "" {
		c.Stream = "BUS"
	}
	if c.Prefix == "" {
		c.Prefix = "bus"
	}
	if !tokenPattern.MatchString(c.Prefix) {
		return fmt.Errorf("natsbus: prefix %q: want letters, digits, - and _ only", c.Prefix)
	}
	if c.Codec == nil {
		c.Codec = JSON{}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if c.MaxDeliver < 2 {
		return fmt.Errorf("natsbus: MaxDeliver %d: want at least 2, or 0 for the default", c.MaxDeliver)
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1024
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 30 * time.Second
	}
	if c.MaxInFlight < 0 {
		return fmt.Errorf("natsbus: MaxInFlight %d is negative", c.MaxInFlight)
	}
	return nil
}

// Close stops publishing and receiving. It deregisters the outbound
// handler, waits until every pipelined publish is confirmed (as Flush
// does), and stops the consumer: the event being handled, if any, is
// finished and acknowledged, and the messages the client had fetched but
// not handled are negatively acknowledged, so that the server delivers
// them again at once, to another node of the group or to this one when it
// comes back. Close returns when all that is done and every goroutine the
// bridge started has returned, or, when ctx is done first, with ctx's
// error naming what is still running. It does not close the connection.
func (br *Bridge) Close(ctx context.Context) error {
	br.closeOnce.Do(func() {
		br.bus.DeregisterHandler(br.key)
		close(br.closing)
	})
	errs := []error{br.pub.close(ctx)}
	if br.in != nil {
		errs = append(errs, br.in.stop(ctx))
	}
	return errors.Join(errs...)
}

// Flush returns once every event emitted before the call is settled:
// nil if all of them are stored in the stream; otherwise every failure
// among them that no Flush returned before, joined (errors.Is finds each
// one's cause), and beyond the 1024 failures kept, their count; or ctx's
// error. Several callers may flush at once: each failure goes to one of
// them. It returns nil at once in confirm mode, where Emit itself waits.
func (br *Bridge) Flush(ctx context.Context) error {
	return br.pub.flush(ctx)
}

// Stats returns counts of what the bridge did so far.
func (br *Bridge) Stats() Stats {
	published, failed := br.pub.counts()
	return Stats{
		Published:  published,
		Failed:     failed,
		Received:   br.received.Load(),
		Own:        br.own.Load(),
		Duplicates: br.duplicates.Load(),
		Rejected:   br.rejected.Load(),
	}
}

func (br *Bridge) report(err error) {
	if br.cfg.OnError != nil {
		br.cfg.OnError(err)
	}
}

// publishes reports whether this node publishes the events of topic: only
// those can come back to it as its own, and must not be published again
// when received.
func (br *Bridge) publishes(topic string) bool {
	return br.cfg.Publish != "" && br.publishRE.MatchString(topic)
}

// compileMatcher compiles a Publish or Receive matcher the way
// bus.Handler.Matcher is read: a lone "*" means every topic.
func compileMatcher(m string) (*regexp.Regexp, error) {
	if m == "*" {
		m = ".*"
	}
	return regexp.Compile(m)
}

// subject returns the subject topic is published on. Topics are few, so
// their subjects are kept, checked once.
func (br *Bridge) subject(topic string) (string, error) {
	if s, ok := br.subjects.Load(topic); ok {
		return s.(string), nil
	}
	if err := checkSubject(topic); err != nil {
		return "", err
	}
	s := br.cfg.Prefix + "." + topic
	br.subjects.Store(topic, s)
	return s, nil
}

// checkSubject refuses a topic that cannot be a subject. Bus topics may hold
// inner spaces; subjects may not, and "*", ">" and empty tokens have other
// meanings there, so such topics cannot cross the bridge.
func checkSubject(topic string) error {
	for _, token := range strings.Split(topic, ".") {
		switch {
		case token == "":
			return fmt.Errorf("%w: %q has an empty token", ErrSubject, topic)
		case token == "*" || token == ">":
			return fmt.Errorf("%w: %q has the wildcard token %q", ErrSubject, topic, token)
		case strings.IndexFunc(token, unicode.IsSpace) >= 0:
			return fmt.Errorf("%w: %q contains whitespace", ErrSubject, topic)
		}
	}
	return nil
}
