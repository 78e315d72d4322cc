// Package bus is a minimalist, synchronous, in-process event bus.
//
// A [Bus] keeps a set of registered topics and a set of handlers, each
// registered under a key with a regular expression that selects the topics
// it receives. [Bus.Emit] creates an [Event] carrying an ID, a transaction ID,
// a timestamp and the caller's data, and calls the matching handlers.
//
//	b, err := bus.NewBus(gen)
//	created, err := bus.NewTopic[Order](b, "order.created")
//	err = created.Handle("mailer", func(e *bus.Event, o Order) { ... })
//	b.RegisterHandler("audit", &bus.Handler{Matcher: "*", Handle: audit})
//	e, err := created.Emit(ctx, order)
//
// A [Topic] is typed on both sides: only an Order can be emitted on
// created, and its handlers receive an Order. Underneath it is an ordinary
// topic, and the untyped API, which follows github.com/mustafaturan/bus v1,
// works on it too: users of that package switch by changing the import
// path. Registration methods return errors where that package ignored bad
// input.
//
// Handler keys are the bus's, not a topic's: a key subscribed through one
// Topic's Handle is refused by another's, so that it cannot move silently;
// [Bus.RegisterHandler] replaces a key's handler, as in v1. A topic is made
// with one data type: [NewTopic] with another type for the same name fails,
// and [Bus.DataType] tells integrations such as natsbus the type, so that
// data decoded in another process arrives as a T.
//
// # Names and matchers
//
// A topic name is any valid UTF-8 string without control characters,
// leading or trailing whitespace; inner spaces are allowed ("service
// added"). A handler's Matcher is a regular expression matched anywhere in
// the name, as [regexp.MatchString] does; "", ".*" and a lone "*" match
// every topic.
//
// # Delivery and ordering
//
// Emit calls every handler whose matcher matches the topic exactly once,
// synchronously on the calling goroutine, in registration order, and returns
// after the last one returns. Handlers whose matchers do not match are never
// called. Registering a key again replaces its handler in place: it keeps the
// key's position in the order, and no event reaches both the old and the new
// handler. Deregistering a handler does not reorder the others.
//
// Each Emit works on a snapshot: it delivers to the handlers registered when
// it started. Registrations and deregistrations made meanwhile, by other
// goroutines or by the handlers of that very Emit, apply from the next Emit.
//
// Emits from one goroutine are delivered in the order they are made. Emits
// from different goroutines run concurrently, so a handler may be called by
// several goroutines at once and must be safe for that.
//
// A handler that needs slow work done should hand it to another goroutine,
// since the emitter waits for every handler: [NewAsync] wraps a handler in a
// bounded queue served by worker goroutines, with a join point ([Async.Wait])
// and a graceful [Async.Close].
//
// # Concurrency
//
// Every method of Bus is safe for concurrent use. Emit takes no lock: the
// handlers of each topic are resolved when handlers and topics are
// registered, and published as an immutable list that Emit reads with one
// atomic load. Writers serialize on a mutex that is never held while user
// code runs, so a handler may call any method of the bus, including Emit and
// the registration methods, without deadlock. The bus starts no goroutines.
//
// # Transactions
//
// Every event has a TxID. If the context given to Emit carries a non-empty
// string under [CtxKeyTxID], the event joins that transaction; otherwise it
// starts one, and its TxID is its own ID. [Event.Context] returns a context
// that carries the TxID, so handlers that emit with e.Context() keep the
// whole flow in one transaction.
//
// # Errors and panics
//
// Bad input is refused with an error whose message starts with "bus:" and
// names the problem; [ErrTopicNotFound], [ErrInvalidTopic] and
// [ErrInvalidHandler] can be tested with [errors.Is]. A refused call changes
// nothing.
//
// A handler that can fail is registered with a HandleErr func, or
// [Topic.HandleErr], and returns an error. A failing handler does not stop
// delivery to the others: Emit returns the event together with a
// [*HandlerError] that names the handler's key and unwraps to the error, so
// [errors.Is] and [errors.As] see it. Several failures are joined with
// [errors.Join], in delivery order.
//
// A handler that panics does not panic the emitter either: the bus recovers
// it, and Emit returns a [*PanicError] naming the handler's key and the
// panic value, unwrapping to it if it is an error. The bus stays usable.
// [Typed] and [Async.HandleErr] are HandleErr funcs: data of the wrong type
// and events that cannot be queued come back as errors, not panics.
//
// # Observing
//
// An [Observer], attached with [WithObserver], sees each Emit and each
// handler call with its duration and outcome; it is the hook for tracing
// and metrics, such as the OpenTelemetry adapter in the busotel module.
// The contexts it returns from EmitStart and HandlerStart come back to its
// EmitDone and HandlerDone, so that several observers keep their state
// apart, and the last observer's becomes the event's context for the Emit,
// and for each handler call, so that a handler that emits with
// [Event.Context] continues the trace under its own span. Without an
// Observer, Emit checks the length of a nil slice.
//
// # Performance considerations
//
// An Emit allocates only the Event (with a [Generator], the Event and its ID
// together), takes no lock, and reads the monotonic clock once; every 100 ms
// one Emit also reads the wall clock, to follow it if it is stepped forward.
// On a 2-core cloud VM an Emit to one handler takes about 120 ns besides the
// ID generator, a third of it the allocation and a quarter the clock read,
// and each further matching handler adds 2–3 ns: the cost of calling it.
// See BenchmarkEmit.
//
// Registering a topic or a handler matches it against every registered
// handler or topic; topics that do not contain a matcher's literal prefix
// are rejected without running the regular expression. Beyond that, a
// registration copies only the subscriber lists of the topics it changes;
// the topic index is copied only when more than half its slots are used,
// into a table with four slots per live topic, so that copying costs a
// constant amount per registered topic. See BenchmarkRegister.
package bus
