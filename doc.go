// Package bus is a minimalist, synchronous, in-process event bus.
//
// A [Bus] keeps a set of registered topics and a set of handlers, each
// registered under a key with a regular expression that selects the topics
// it receives. [Bus.Emit] creates an [Event] carrying an ID, a transaction ID,
// a timestamp and the caller's data, and calls the matching handlers.
//
//	b, err := bus.NewBus(bus.Next(idgen.Next))
//	b.RegisterTopics("order.created")
//	b.RegisterHandler("audit", &bus.Handler{Matcher: ".*", Handle: audit})
//	e, err := b.Emit(ctx, "order.created", order)
//
// The API follows github.com/mustafaturan/bus v1, so its users can switch by
// changing the import path; registration methods return errors where that
// package ignored bad input.
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
// and a graceful [Async.Close]. [Typed] gives a handler its data as a
// concrete type.
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
// A handler that panics does not stop delivery to the others and does not
// panic the emitter: the bus recovers it, and Emit returns the event together
// with a [*PanicError] naming the handler's key and the panic value. The bus
// stays usable.
//
// This is also how a handler fails an event on purpose, as net/http
// handlers abort with http.ErrAbortHandler: it panics with an error, and the
// emitter receives a *PanicError that unwraps to that error. [Typed] and
// [Async] report data of the wrong type and events they cannot queue this
// way.
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
// registration copies only the subscriber lists of the topics it changes,
// and the topic index grows by doubling. See BenchmarkRegister.
package bus
