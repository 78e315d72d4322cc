package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gobus/bus"
)

// sequence is a simple IDGenerator for the examples: it returns "1", "2", ...
func sequence() bus.Next {
	var n atomic.Int64
	return func() string { return strconv.FormatInt(n.Add(1), 10) }
}

// Order is the data of the order events in these examples.
type Order struct {
	ID    string
	Cents int
}

// events is the application's one bus, the singleton style: configured once,
// used from every package through its typed topics.
var events = must(bus.NewBus(sequence()))

// orderCreated and orderPaid are the application's topics. Emitting on them
// takes an Order, and their handlers receive one: a mismatch does not
// compile.
var (
	orderCreated = must(bus.NewTopic[Order](events, "order.created"))
	orderPaid    = must(bus.NewTopic[Order](events, "order.paid"))
)

// must stops the program on a configuration error at start-up.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// An application with one bus and its typed topics, kept in package-level
// variables.
func Example_singleton() {
	orderCreated.Handle("mailer", func(e *bus.Event, o Order) {
		fmt.Printf("mail %s: order %s for %d cents\n", e.ID, o.ID, o.Cents)
	})
	defer events.DeregisterHandler("mailer")
	// Untyped handlers see the same events, with an Order as Data.
	events.RegisterHandler("printer", &bus.Handler{
		Matcher: `^order\.`,
		Handle:  func(e *bus.Event) { fmt.Printf("%s %s: %v\n", e.Topic, e.ID, e.Data) },
	})
	defer events.DeregisterHandler("printer")

	orderCreated.Emit(context.Background(), Order{"A-1", 250})
	orderPaid.Emit(context.Background(), Order{"A-1", 250})
	// Output:
	// mail 1: order A-1 for 250 cents
	// order.created 1: {A-1 250}
	// order.paid 2: {A-1 250}
}

// OrderService gets its topic, and so its bus, from whoever builds it: the
// dependency-injected style, which lets tests give each service a bus of
// its own (see TestOrderService).
type OrderService struct {
	created *bus.Topic[Order]
}

// NewOrderService registers the service's topic on b.
func NewOrderService(b *bus.Bus) (*OrderService, error) {
	created, err := bus.NewTopic[Order](b, "order.created")
	if err != nil {
		return nil, err
	}
	return &OrderService{created: created}, nil
}

func (s *OrderService) Create(ctx context.Context, o Order) error {
	// Validation, storage... then tell whoever listens.
	_, err := s.created.Emit(ctx, o)
	return err
}

// A bus created by the caller and passed to the service that emits on it.
func Example_dependencyInjection() {
	b, _ := bus.NewBus(sequence())
	svc, err := NewOrderService(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Typed handlers that can fail return an error; Emit reports it.
	svc.created.HandleErr("mailer", func(_ *bus.Event, o Order) error {
		if o.Cents <= 0 {
			return fmt.Errorf("order %s: nothing to confirm", o.ID)
		}
		fmt.Println("mail confirmation for", o.ID)
		return nil
	})

	fmt.Println(svc.Create(context.Background(), Order{"A-42", 990}))
	fmt.Println(svc.Create(context.Background(), Order{"A-43", 0}))
	// Output:
	// mail confirmation for A-42
	// <nil>
	// bus: handler "mailer" failed: order A-43: nothing to confirm
}

func ExampleBus_Emit() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("user.signed_up", "mail.sent")
	b.RegisterHandler("welcome", &bus.Handler{
		Matcher: "^user\\.",
		Handle: func(e *bus.Event) {
			// Emitting with e.Context() keeps the transaction.
			b.Emit(e.Context(), "mail.sent", "welcome mail")
		},
	})
	b.RegisterHandler("log", &bus.Handler{
		Matcher: ".*",
		Handle: func(e *bus.Event) {
			fmt.Printf("id=%s tx=%s topic=%s\n", e.ID, e.TxID, e.Topic)
		},
	})

	b.Emit(context.Background(), "user.signed_up", "ada")

	_, err := b.Emit(context.Background(), "user.deleted", "ada")
	fmt.Println(err, errors.Is(err, bus.ErrTopicNotFound))
	// Output:
	// id=2 tx=1 topic=mail.sent
	// id=1 tx=1 topic=user.signed_up
	// bus: topic(user.deleted) not found true
}

func ExampleBus_Emit_transaction() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("payment.captured")

	ctx := context.WithValue(context.Background(), bus.CtxKeyTxID, "checkout-7")
	e, _ := b.Emit(ctx, "payment.captured", 100)
	fmt.Println(e.ID, e.TxID)
	// Output: 1 checkout-7
}

func ExampleWithID() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("order.created")

	// Re-emit an event received from another process with its identity.
	e, _ := b.Emit(context.Background(), "order.created", "A-42",
		bus.WithID("remote-9"), bus.WithTxID("remote-1"), bus.WithSource("node-b"))
	fmt.Println(e.ID, e.TxID, e.Source)
	// Output: remote-9 remote-1 node-b
}

func ExampleBus_RegisterHandler() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("order.created", "order.paid", "user.created")

	err := b.RegisterHandler("orders", &bus.Handler{
		Matcher: `^order\.`,
		Handle:  func(*bus.Event) {},
	})
	fmt.Println(err, b.HandlerTopicSubscriptions("orders"))

	err = b.RegisterHandler("broken", &bus.Handler{Matcher: "order(", Handle: func(*bus.Event) {}})
	fmt.Println(err)
	// Output:
	// <nil> [order.created order.paid]
	// bus: invalid handler "broken": matcher: error parsing regexp: missing closing ): `order(`
}

func ExamplePanicError() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("t")
	b.RegisterHandler("fragile", &bus.Handler{Matcher: "t", Handle: func(*bus.Event) { panic("oops") }})
	b.RegisterHandler("sturdy", &bus.Handler{Matcher: "t", Handle: func(*bus.Event) { fmt.Println("sturdy ran") }})

	e, err := b.Emit(context.Background(), "t", nil)
	var pe *bus.PanicError
	if errors.As(err, &pe) {
		fmt.Println(e.ID, pe.Key, pe.Value)
	}
	// Output:
	// sturdy ran
	// 1 fragile oops
}

func ExampleNewGenerator() {
	// Take the node from configuration: each process needs its own.
	const node = 7
	g, err := bus.NewGenerator(node, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := bus.NewBus(g)
	b.RegisterTopics("order.created")

	first, _ := b.Emit(context.Background(), "order.created", nil)
	second, _ := b.Emit(context.Background(), "order.created", nil)
	fmt.Println(len(first.ID), first.ID[12:], first.ID < second.ID)
	// Output: 16 0007 true
}

// ledger stands for a store that can fail.
type ledger struct{ full bool }

func (l *ledger) Record(data any) error {
	if l.full {
		return fmt.Errorf("ledger full, %v not recorded", data)
	}
	return nil
}

// Handlers that can fail return an error: the other handlers still run,
// and Emit returns the event with every handler's error.
func ExampleHandler_handleErr() {
	b := must(bus.NewBus(sequence()))
	created := must(bus.NewTopic[Order](b, "order.created"))
	ledger := &ledger{full: true}
	mail := func(o Order) error { fmt.Println("mail about", o.ID); return nil }

	b.RegisterHandler("ledger", &bus.Handler{Matcher: `^order\.`, HandleErr: func(e *bus.Event) error {
		return ledger.Record(e.Data)
	}})
	created.HandleErr("mailer", func(e *bus.Event, o Order) error { return mail(o) })

	_, err := created.Emit(context.Background(), Order{"A-1", 250})
	var he *bus.HandlerError
	fmt.Println(errors.As(err, &he), he.Key)
	fmt.Println(err)
	// Output:
	// mail about A-1
	// true ledger
	// bus: handler "ledger" failed: ledger full, {A-1 250} not recorded
}
