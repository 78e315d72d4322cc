package consumers

import (
	"fmt"
	"io"
	"sync"

	"github.com/gobus/bus"
	"github.com/gobus/bus/demo/events"
)

// Calculator sums the amounts of orders by what happened to them.
type Calculator struct {
	mu                        sync.Mutex
	created, paid, cancelled  int64
	nCreated, nPaid, nCancels int
}

// Handle adds e's amount to the total of its topic.
func (c *Calculator) Handle(e *bus.Event) {
	o, ok := e.Data.(events.Order)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Topic {
	case events.OrderCreated:
		c.created += o.Cents
		c.nCreated++
	case events.OrderPaid:
		c.paid += o.Cents
		c.nPaid++
	case events.OrderCancelled:
		c.cancelled += o.Cents
		c.nCancels++
	}
}

// Report writes the totals.
func (c *Calculator) Report(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(w, "  created   %6d orders  %12s\n", c.nCreated, money(c.created))
	fmt.Fprintf(w, "  paid      %6d orders  %12s\n", c.nPaid, money(c.paid))
	fmt.Fprintf(w, "  cancelled %6d orders  %12s\n", c.nCancels, money(c.cancelled))
	fmt.Fprintf(w, "  open      %6d orders  %12s\n", c.nCreated-c.nPaid-c.nCancels, money(c.created-c.paid-c.cancelled))
}
