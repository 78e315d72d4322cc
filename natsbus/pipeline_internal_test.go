package natsbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestFlushReturnsEveryFailure: Flush returns every failure of the
// publishes submitted before it, once, and counts those beyond the bound;
// a failure of a publish submitted after the call is left for the next.
func TestFlushReturnsEveryFailure(t *testing.T) {
	errStream := errors.New("no stream")
	p := newPipeline(4)
	p.submitted = 5
	for seq := range uint64(3) {
		p.failures = append(p.failures, failure{seq + 1, fmt.Errorf("event %d: %w", seq+1, errStream)})
	}
	p.failures = append(p.failures, failure{7, errors.New("event 7")}) // after the call
	p.dropped, p.droppedLast = 2, 4

	err := p.flush(context.Background())
	if !errors.Is(err, errStream) {
		t.Errorf("errors.Is(Flush(), cause) = false for %v", err)
	}
	for _, want := range []string{"4 publishes failed", "event 1", "event 2", "event 3", "2 more publishes failed"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Flush() = %v; want it to say %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "event 7") {
		t.Errorf("Flush() = %v; returned the failure of a later publish", err)
	}
	if err := p.flush(context.Background()); err != nil {
		t.Errorf("second Flush() = %v; want nil", err)
	}
	p.submitted = 7
	if err := p.flush(context.Background()); err == nil || err.Error() != "event 7" {
		t.Errorf("third Flush() = %v; want the later publish's failure alone", err)
	}
}
