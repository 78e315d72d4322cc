package natsbus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestGroupWait: wait returns once every goroutine returned, and names
// those still running when its ctx ends first.
func TestGroupWait(t *testing.T) {
	var g group
	release := make(chan struct{})
	g.Go("quick", func() {})
	g.Go("stuck", func() { <-release })
	g.Go("stuck", func() { <-release })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := g.wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), "still running: stuck ×2") {
		t.Errorf("wait() = %v; want the deadline, naming stuck ×2 alone", err)
	}
	close(release)
	if err := g.wait(context.Background()); err != nil {
		t.Errorf("wait() after release = %v", err)
	}
}
