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

// events is the application's one bus, the singleton style: configured once,
// used from every package through small functions like emit.
var events = func() *bus.Bus {
	b, err := bus.NewBus(sequence())
	if err != nil {
		panic(err) // only for a nil generator: a programming error
	}
	if err := b.RegisterTopics("order.created", "order.paid"); err != nil {
		panic(err)
	}
	return b
}()

func emit(ctx context.Context, topic string, data any) error {
	_, err := events.Emit(ctx, topic, data)
	return err
}

// An application with one bus, kept in a package-level variable.
func Example_singleton() {
	events.RegisterHandler("printer", &bus.Handler{
		Matcher: `^order\.`,
		Handle: func(e *bus.Event) {
			fmt.Printf("%s %s: %v\n", e.Topic, e.ID, e.Data)
		},
	})
	defer events.DeregisterHandler("printer")

	emit(context.Background(), "order.created", "order #1")
	emit(context.Background(), "order.paid", "order #1")
	// Output:
	// order.created 1: order #1
	// order.paid 2: order #1
}

// OrderService gets its bus from whoever builds it: the dependency-injected
// style, which lets tests give each service a bus of its own.
type OrderService struct {
	bus *bus.Bus
}

func (s *OrderService) Create(ctx context.Context, id string) error {
	_, err := s.bus.Emit(ctx, "order.created", id)
	return err
}

// A bus created by the caller and passed to the service that emits on it.
func Example_dependencyInjection() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("order.created")
	b.RegisterHandler("mailer", &bus.Handler{
		Matcher: "^order.created$",
		Handle:  func(e *bus.Event) { fmt.Println("mail confirmation for", e.Data) },
	})

	svc := &OrderService{bus: b}
	if err := svc.Create(context.Background(), "A-42"); err != nil {
		fmt.Println(err)
	}
	// Output: mail confirmation for A-42
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
