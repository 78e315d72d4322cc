package natsbus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// group runs the goroutines of one owner, so that the owner can wait for
// all of them when it stops, and say which are still running if it cannot
// wait that long.
type group struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]int // by name
}

// Go runs f on a goroutine of the group, known as name until it returns.
func (g *group) Go(name string, f func()) {
	g.mu.Lock()
	if g.running == nil {
		g.running = map[string]int{}
	}
	g.running[name]++
	g.mu.Unlock()
	g.wg.Go(func() {
		defer func() {
			g.mu.Lock()
			if g.running[name]--; g.running[name] == 0 {
				delete(g.running, name)
			}
			g.mu.Unlock()
		}()
		f()
	})
}

// wait returns once every goroutine of the group has returned, or, if ctx
// ends first, ctx's error naming those still running.
func (g *group) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	var names []string
	for name, n := range g.running {
		if n > 1 {
			name = fmt.Sprint(name, " ×", n)
		}
		names = append(names, name)
	}
	g.mu.Unlock()
	slices.Sort(names)
	return fmt.Errorf("%w; still running: %s", ctx.Err(), strings.Join(names, ", "))
}
