package bus

import "testing"

func TestClockNeverGoesBack(t *testing.T) {
	const start = 1_000_000
	tests := []struct {
		name          string
		wall, elapsed int64
		want          int64
	}{
		{"in step", start + 10, 10, start + 10},
		{"wall stepped back an hour", start + 20 - 3600e9, 20, start + 20},
		{"monotonic time goes on", start + 30 - 3600e9, 30, start + 30},
		{"wall stepped forward", start + 40 + 60e9, 40, start + 40 + 60e9},
		{"follows the new wall time", start + 50 + 60e9, 50, start + 50 + 60e9},
		{"stepped back again", start + 60, 60, start + 60 + 60e9},
	}
	c := &clock{}
	c.offset.Store(start)
	var last int64
	for _, tt := range tests {
		got := c.at(tt.wall, tt.elapsed)
		if got != tt.want {
			t.Errorf("%s: at(%d, %d) = %d; want %d", tt.name, tt.wall, tt.elapsed, got, tt.want)
		}
		if got < last {
			t.Errorf("%s: timestamp went back from %d to %d", tt.name, last, got)
		}
		last = got
	}
}
