package benchmarks

import "sync"

// consumers runs one goroutine per channel, calling deliver for each value
// received, and lets the cleanup wait until every channel is closed and
// drained: the channel-based libraries deliver this way.
type consumers struct{ wg sync.WaitGroup }

func consume[T any](c *consumers, ch <-chan T, handle func(T)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for v := range ch {
			handle(v)
		}
	}()
}

func (c *consumers) wait() { c.wg.Wait() }
