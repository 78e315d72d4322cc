// Package natsbus carries the events of a local [bus.Bus] between processes
// over NATS JetStream, so that handlers written for one process keep working
// when an application is spread over several.
//
// A [Bridge] joins one bus to one JetStream stream. Events emitted locally on
// the topics its [Config.Publish] expression matches are published to the
// stream on the subject Prefix.TOPIC as CloudEvents (see "Wire format"),
// their data encoded by a [Codec]. A durable
// consumer receives the events of other nodes on the topics
// [Config.Receive] matches, and emits them on the local bus with their
// original ID, TxID, topic, source and time.
//
// # Publishing
//
// In confirm mode, the default, Emit returns once the stream has stored the
// event, retrying transient failures (a reconnect, a cluster electing a new
// leader) until [Config.PublishTimeout]; permanent ones (a missing stream,
// a message over the server's max payload, which Emit names with both
// sizes) fail at once. A publish the stream has not confirmed by then fails
// with [ErrTimeout]: Emit returns within PublishTimeout, give or take the
// scheduler, and wraps the caller's context error only when that context
// ended first. The default of 30 seconds rides out a cluster's elections
// and restarts; a caller that answers a request, such as an HTTP handler,
// should set PublishTimeout below the request's own deadline. With
// [Config.MaxInFlight] set, Emit publishes and
// returns without waiting: the stream's confirmations are awaited in the
// background, a publish not confirmed within 2 seconds (or under way when
// the connection was lost) is published again, failures go to
// [Config.OnError], and [Bridge.Flush] waits for the confirmations.
//
// Each message carries a JetStream message ID made of the event ID and a
// MAC under a secret of the publishing bridge, so the stream stores a
// retried publish once, and no other client can suppress an event by
// storing its predictable ID first. A publish whose first attempt the
// stream reports as a duplicate was not stored, and fails with
// [ErrDuplicate].
//
// # Wire format
//
// Messages are CloudEvents 1.0 in the NATS protocol binding, so that a
// service in another language publishes and consumes them with a
// CloudEvents SDK or the nats command line tool. The bridge publishes in
// binary content mode, each attribute in a header of its own, with lower
// case keys as NATS header keys are case sensitive, and the codec's output
// as the payload:
//
//	ce-specversion      1.0
//	ce-id               Event.ID
//	ce-source           Event.Source, or Config.Node when it is empty
//	ce-type             Event.Topic, which the subject names too
//	ce-time             Event.OccurredAt, RFC 3339 in UTC, to the nanosecond
//	ce-txid             Event.TxID, an extension; absent when it is the ID
//	ce-datacontenttype  the Codec's ContentType
//	Nats-Msg-Id         the event ID and its MAC, for the stream's dedup
//
// Values are percent-encoded as the CloudEvents HTTP binding asks (space,
// '"', '%' and bytes outside printable ASCII); the bus's IDs, node names
// and subjects need none. The bridge receives binary mode and structured
// mode (a JSON CloudEvent as the payload, with data or data_base64).
// specversion, id, source and type are required; a missing time becomes
// the time the stream stored the message, a missing txid the event's ID,
// as for an event that starts its transaction. A datacontenttype other
// than the codec's is refused. [Config.ExtractHeader] sees every header,
// for other extensions.
//
// # Receiving
//
// The topic of a received event is the one its subject names: NATS
// permissions are per subject, so a client allowed to publish on some
// subjects cannot pass its messages off as events of others. A message
// whose CloudEvents type disagrees, or that is no CloudEvent, is
// terminated, counted in [Stats] as rejected and reported with
// [ErrMessage]; it never reaches a handler. The CloudEvents source is
// carried as the event's Source and proves nothing:
// any client allowed to publish can set it. A node recognises its own
// events by their message ID's MAC, never by Source.
//
// The consumer pulls messages in batches and handles them one at a time;
// each is acknowledged, without waiting for a round trip, after the local
// handlers returned. A handler that fails (returns an error or panics) does
// not change that: the event counts as handled, is acknowledged, and the
// error goes to [Config.OnError]; it is not redelivered, so that one
// failing handler does not run the others again. A handler that wants a
// retry retries itself (wrapping its func, or behind a [bus.Async] queue),
// or records the event for later. While a handler runs, and while fetched messages wait
// their turn, the bridge tells the server they are in progress, so that
// slow handlers do not cause redeliveries. The buffer shrinks when
// handlers are slow. Close hands back what was fetched but not handled, so
// it is delivered again at once. A redelivery of a message this node
// handled already (its acknowledgement was lost) is recognised by its
// stream sequence and not handled again. The memory this takes follows
// what can still be redelivered, not the rate of events over a time
// window: 8 bytes per sequence, pruned every second to the consumer's
// acknowledgement floor as its leader reported it a second before (a
// leader counts an acknowledgement before its replicas have it, so a
// floor is trusted only once the same leader, in touch with every
// replica, still leads), so at most the
// messages above the floor and the last two seconds' (1.6 MB at 100,000
// events/s, twice that with the slice's room to grow). A message delivered
// [Config.MaxDeliver] times is handled on that last delivery and reported;
// JetStream delivers it no more. If the consumer or the stream is deleted, the
// bridge recreates its consumer, backing off and reporting each attempt.
//
// Without a [Config.Group], each node has a durable consumer of its own and
// receives every event (fan-out); nodes with the same Group share one
// consumer, and each event goes to one of them. [Config.Replay] lets a new
// consumer start with the stream's history.
//
// Register the handlers of the received topics before [New]. The consumer
// starts delivering at once, and an event that no local handler matches is
// handled (by nobody) and acknowledged like any other: the backlog of a
// replay or of a restarted node would be gone before handlers registered
// later could see it.
//
// # Guarantees
//
// Delivery is at least once: an event stored in the stream reaches the
// handlers of every receiving node (or group), unless the stream's limits
// discard it first. It is handled once per node unless the node stops
// between handling an event and acknowledging it, or a redelivery reaches
// another member of a group. Events from one publisher arrive in the order
// they were stored; events from several publishers interleave.
//
// # Partitions
//
// A server cut off from the rest of its cluster keeps its clients
// connected, but can neither store their messages nor deliver the
// stream's. When JetStream has not answered on the connection for 3
// seconds (timeouts, no responders, missed heartbeats, JetStream
// unavailable, a publish stuck "in process", or a consumer whose leader,
// on that server, has heard from none of its replicas for 2 seconds, as it
// goes on answering with heartbeats and no messages until it learns
// better), and nothing answered in between, the bridge moves the connection to another of the servers it
// knows, with [nats.Conn.ForceReconnect], reports the move to
// [Config.OnError], and does not move again for 3 seconds. A node on the
// minority side of a partition thus reaches the majority in about 4 to 7
// seconds, in both modes, instead of waiting for the heal. The move is the
// connection's: requests of others on it that are under way fail, as in
// any reconnect. A connection that knows one server only, or may not
// reconnect, is never moved. [New] also retries the requests JetStream
// does not answer, such as those made during an election, until its
// context is done.
//
// # Failures
//
// Nothing fails silently: what goes wrong outside an Emit call — a message
// that is not an event, a topic not registered on this bus, a message
// handled on its last delivery, a pipelined publish that failed, a handler that
// failed on a received event, a lost consumer — is passed to
// [Config.OnError], and counted in [Bridge.Stats].
//
// # Security
//
// The bridge uses the *nats.Conn it is given: authentication and TLS are
// configured when connecting, with the options of nats.go. The README lists
// the permissions each role needs.
package natsbus

// Where a change goes, for those who maintain this package. Each part owns
// its state; the Bridge wires them together and sums their counts.
//
//	bridge.go        Config, New, Close, Stats: the wiring
//	stream.go        opening or provisioning the stream
//	outbound.go      the outbound handler: an event becomes a message (outgoing)
//	msgid.go         message IDs: an event ID and a MAC under this node's secret
//	publisher.go     the publisher interface, and confirm mode
//	pipeline.go      pipelined mode: its window, inbox, retrier and failure records
//	puback.go        the stream's acknowledgement, read without a JSON decoder
//	receiver.go      the consumer's goroutines and their stop
//	consumer.go      looking up, creating, reconciling and reopening the consumer
//	message.go       judge: what a received message is, decided without a server
//	deliver.go       one received message emitted and acknowledged
//	flow.go          the fetch buffer's size and progress signals
//	seen.go          the bounded set of stream sequences already handled
//	failover.go      moving the connection off a server cut off from its cluster
//	cloudevents.go   the wire format (codec.go: the payload's)
//	filter.go        server-side consumer filters from the Receive matcher
//	group.go         goroutines an owner starts and waits for
