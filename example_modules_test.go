package bus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gobus/bus"
)

// module is an independent part of an application. Modules talk to each
// other only through the bus: each registers its topics and handlers in
// Init, and the application starts them in order and stops them in reverse.
type module interface {
	Init(b *bus.Bus) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// shop emits an order event for each order it takes.
type shop struct {
	bus    *bus.Bus
	orders []int
}

func (s *shop) Init(b *bus.Bus) error {
	s.bus = b
	return b.RegisterTopics("order.placed")
}

func (s *shop) Start(ctx context.Context) error {
	for _, cents := range s.orders {
		if _, err := s.bus.Emit(ctx, "order.placed", cents); err != nil {
			return err
		}
	}
	return nil
}

func (s *shop) Stop(context.Context) error { return nil }

// billing invoices orders on its own worker, so that the shop does not wait
// for it, and emits an invoice event in the order's transaction.
type billing struct {
	bus     *bus.Bus
	worker  *bus.Async
	mu      sync.Mutex
	billed  int
	invoice int
}

func (m *billing) Init(b *bus.Bus) error {
	m.bus = b
	m.worker = bus.NewAsync("billing", bus.Typed(func(e *bus.Event, cents int) {
		m.mu.Lock()
		m.billed += cents
		m.invoice++
		m.mu.Unlock()
		b.Emit(e.Context(), "invoice.created", cents)
	}), nil)
	if err := b.RegisterTopics("invoice.created"); err != nil {
		return err
	}
	return b.RegisterHandler("billing", &bus.Handler{Matcher: `^order\.placed$`, HandleErr: m.worker.HandleErr})
}

func (m *billing) Start(context.Context) error { return nil }

// Stop drains the worker: no order is left unbilled.
func (m *billing) Stop(ctx context.Context) error {
	m.bus.DeregisterHandler("billing")
	return m.worker.Close(ctx)
}

// audit records every event on the bus.
type audit struct {
	mu     sync.Mutex
	topics map[string]int
}

func (a *audit) Init(b *bus.Bus) error {
	a.topics = map[string]int{}
	return b.RegisterHandler("audit", &bus.Handler{Matcher: ".*", Handle: func(e *bus.Event) {
		a.mu.Lock()
		a.topics[e.Topic]++
		a.mu.Unlock()
	}})
}

func (a *audit) Start(context.Context) error { return nil }
func (a *audit) Stop(context.Context) error  { return nil }

// An application built from modules that know only the bus.
func Example_modules() {
	b, _ := bus.NewBus(sequence())
	bill := &billing{}
	log := &audit{}
	modules := []module{log, bill, &shop{orders: []int{1200, 800, 4500}}}

	ctx := context.Background()
	for _, m := range modules {
		if err := m.Init(b); err != nil {
			fmt.Println("init:", err)
			return
		}
	}
	for _, m := range modules {
		if err := m.Start(ctx); err != nil {
			fmt.Println("start:", err)
		}
	}
	for _, m := range slices.Backward(modules) {
		if err := m.Stop(ctx); err != nil {
			fmt.Println("stop:", err)
		}
	}

	fmt.Printf("billed %d cents on %d invoices\n", bill.billed, bill.invoice)
	fmt.Println("audit:", log.topics)
	// Output:
	// billed 6500 cents on 3 invoices
	// audit: map[invoice.created:3 order.placed:3]
}
