package consumers

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/demo/events"
)

// Printer writes one line per event.
type Printer struct {
	mu sync.Mutex // keeps lines whole when events come from several goroutines
	W  io.Writer
}

// Handle prints e.
func (p *Printer) Handle(e *bus.Event) {
	o, _ := e.Data.(events.Order)
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.W, "%s  %-15s id=%s tx=%s  %s %-6s %s\n",
		time.Unix(0, e.OccurredAt).Format("15:04:05.000000"), e.Topic, e.ID, e.TxID, o.ID, o.Customer, money(o.Cents))
}

func money(cents int64) string {
	return fmt.Sprintf("$%d.%02d", cents/100, cents%100)
}
