// Package consumers holds the demo's consumers of order events.
package consumers

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/gobus/bus"
)

// Counter counts events per topic.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Handle counts e.
func (c *Counter) Handle(e *bus.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[string]int)
	}
	c.counts[e.Topic]++
}

// Report writes the counts, one topic a line, in topic order.
func (c *Counter) Report(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	topics := make([]string, 0, len(c.counts))
	for t := range c.counts {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		fmt.Fprintf(w, "  %-16s %6d\n", t, c.counts[t])
	}
}
