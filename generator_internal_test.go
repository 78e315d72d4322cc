package bus

import "testing"

func TestSequenceAdvance(t *testing.T) {
	state := func(ms, counter uint64) uint64 { return ms<<counterBits | counter }
	tests := []struct {
		name       string
		state, now uint64
		want       uint64
	}{
		{"new millisecond restarts the counter", state(5, 9), 6, state(6, 0)},
		{"same millisecond counts up", state(5, 9), 5, state(5, 10)},
		{"clock behind the sequence counts up", state(5, 9), 3, state(5, 10)},
		{"last counter value", state(5, maxCounter-1), 5, state(5, maxCounter)},
		{"exhausted counter borrows the next millisecond", state(5, maxCounter), 5, state(6, 0)},
		{"borrowed millisecond goes on counting", state(6, 0), 5, state(6, 1)},
	}
	for _, tt := range tests {
		if got := advance(tt.state, tt.now); got != tt.want {
			t.Errorf("%s: advance(%d<<%d|%d, %d) = %d<<%d|%d; want %d<<%d|%d", tt.name,
				tt.state>>counterBits, counterBits, tt.state&counterMask, tt.now,
				got>>counterBits, counterBits, got&counterMask,
				tt.want>>counterBits, counterBits, tt.want&counterMask)
		}
	}
	if maxCounter > counterMask {
		t.Fatalf("maxCounter %d does not fit in %d bits", maxCounter, counterBits)
	}
}
