// Package natsbus carries the events of a local [bus.Bus] between processes
// over NATS JetStream, so that handlers written for one process keep working
// when an application is spread over several.
//
// A [Bridge] joins one bus to one JetStream stream. Events emitted locally on
// the topics its [Config.Publish] expression matches are published to the
// stream, with their ID, TxID, topic, source (this node) and time in message
// headers and their data encoded by a [Codec]. A durable consumer named
// after the node receives the events of other nodes on the topics
// [Config.Receive] matches, and emits them on the local bus with their
// original ID, TxID, topic, source and time.
//
// # Delivery
//
// The event ID is the JetStream message ID: the server drops a message it
// has already stored within the stream's duplicate window, so a publish that
// is retried after a lost acknowledgement is stored once. A message is
// acknowledged only after the local handlers ran; if it is redelivered
// anyway (its acknowledgement was lost), the bridge remembers the IDs it
// handled within [Config.DedupWindow] and acknowledges it without handling it
// again. The memory is per process: a redelivery that reaches a restarted
// node after its previous run handled the event is handled again.
//
// Publishing happens inside Emit, which waits until JetStream has stored the
// event, retrying through reconnects until the emit's context is done or
// [Config.PublishTimeout] passes. If it gives up, Emit returns the error.
//
// # Failures
//
// Nothing fails silently: what goes wrong outside an Emit call — a payload
// that cannot be decoded, a topic not registered on this bus, a handler that
// panicked on a received event — is passed to [Config.OnError], and the
// first two are counted as Rejected in [Bridge.Stats]. A message that
// cannot be decoded is terminated, so JetStream does not redeliver it
// forever.
//
// # Subjects
//
// A topic is published on the subject Prefix + "." + topic, so a topic's
// dots separate subject tokens. Topics that are not valid subjects (with an
// empty token, or the wildcards "*" and ">") are refused with an error that
// wraps [ErrSubject].
//
// # Security
//
// The bridge uses the *nats.Conn it is given: authentication (user and
// password, token, credentials file, NKeys) and TLS are configured when
// connecting, with the options of nats.go. Data crosses the network in clear
// text only over a plain nats:// connection.
package natsbus
