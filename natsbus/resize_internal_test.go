package natsbus

import (
	"testing"
	"time"
)

// TestResize follows the buffer size as handlers slow down and speed up.
func TestResize(t *testing.T) {
	r := &receiver{br: &Bridge{cfg: Config{AckWait: time.Second, MaxBatch: 256}}, batch: 256}
	steps := []struct {
		took       time.Duration
		times      int
		wantChange bool
		wantBatch  int
	}{
		{time.Microsecond, 10, false, 256},      // fast: stays at MaxBatch
		{10 * time.Millisecond, 60, true, 25},   // slow: 500 ms / 10 ms = 50 fit, half kept
		{10 * time.Millisecond, 30, false, 25},  // steady
		{100 * time.Microsecond, 30, true, 256}, // fast again: back to MaxBatch
	}
	for i, st := range steps {
		changed := false
		for range st.times {
			changed = r.resize(st.took) || changed
		}
		if changed != st.wantChange || r.batch != st.wantBatch {
			t.Errorf("step %d (%v × %d): changed %v, batch %d; want %v, %d", i, st.took, st.times, changed, r.batch, st.wantChange, st.wantBatch)
		}
	}
}
