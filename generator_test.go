package bus_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobus/bus"
)

func newGenerator(t testing.TB, node uint64) *bus.Generator {
	t.Helper()
	g, err := bus.NewGenerator(node, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("NewGenerator(%d) error = %v", node, err)
	}
	return g
}

// TestGeneratorNeverRepeats is the test monoton's own sequencers fail: many
// goroutines drawing IDs at once must never get the same one, and each
// goroutine's IDs must be strictly increasing.
func TestGeneratorNeverRepeats(t *testing.T) {
	const (
		goroutines = 32
		perG       = 20_000
		rounds     = 5
	)
	for round := range rounds {
		g := newGenerator(t, 7)
		ids := make([][]string, goroutines)
		var wg sync.WaitGroup
		for i := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := make([]string, perG)
				for j := range mine {
					mine[j] = g.Generate()
				}
				ids[i] = mine
			}()
		}
		wg.Wait()

		seen := make(map[string]struct{}, goroutines*perG)
		for i, mine := range ids {
			for j, id := range mine {
				if len(id) != 16 {
					t.Fatalf("round %d: ID %q has %d bytes; want 16", round, id, len(id))
				}
				if j > 0 && id <= mine[j-1] {
					t.Fatalf("round %d, goroutine %d: ID %q follows %q; want strictly increasing", round, i, id, mine[j-1])
				}
				if _, dup := seen[id]; dup {
					t.Fatalf("round %d: ID %q returned twice", round, id)
				}
				seen[id] = struct{}{}
			}
		}
	}
}

// decodeBase62 decodes monoton's alphabet: 0-9, A-Z, a-z.
func decodeBase62(s string) uint64 {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var n uint64
	for _, c := range []byte(s) {
		n = n*62 + uint64(strings.IndexByte(alphabet, c))
	}
	return n
}

func TestGeneratorIDLayout(t *testing.T) {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	g, err := bus.NewGenerator(bus.MaxNode, epoch)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Since(epoch).Milliseconds()
	id := g.Generate()
	after := time.Since(epoch).Milliseconds()

	if ms := int64(decodeBase62(id[:8])); ms < before || ms > after {
		t.Errorf("time part of %q = %d ms after the epoch; want within [%d, %d]", id, ms, before, after)
	}
	if node := decodeBase62(id[12:]); node != bus.MaxNode {
		t.Errorf("node part of %q = %d; want %d", id, node, bus.MaxNode)
	}
}

func TestNewGeneratorRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name    string
		node    uint64
		epoch   time.Time
		wantErr string
	}{
		{"node too large", bus.MaxNode + 1, time.Time{}, "bus: generator node 14776336 exceeds the maximum 14776335"},
		{"epoch in the future", 1, time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC), "bus: generator epoch 2999-01-01T00:00:00Z is in the future"},
		{"epoch before 1970", 1, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), "bus: generator epoch 1969-12-31T00:00:00Z is before 1970"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := bus.NewGenerator(tt.node, tt.epoch)
			if g != nil || err == nil || err.Error() != tt.wantErr {
				t.Errorf("NewGenerator(%d, %v) = %v, %v; want %s", tt.node, tt.epoch, g, err, tt.wantErr)
			}
		})
	}
	if _, err := bus.NewGenerator(0, time.Time{}); err != nil {
		t.Errorf("NewGenerator(0, zero time) error = %v; want nil", err)
	}
	if _, err := bus.NewBus(&bus.Generator{}); err == nil {
		t.Error("NewBus(&Generator{}) error = nil; want an error for a zero Generator")
	}
}

func TestEmitWithGenerator(t *testing.T) {
	b, err := bus.NewBus(newGenerator(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	b.RegisterTopics("t")
	var seen []string
	mustRegister(t, b, "h", &bus.Handler{Matcher: "t", Handle: func(e *bus.Event) { seen = append(seen, e.ID) }})

	first := mustEmit(t, b, nil, "t", nil)
	copied := *first
	second := mustEmit(t, b, nil, "t", nil)
	if first.ID == second.ID || first.ID >= second.ID || len(first.ID) != 16 {
		t.Errorf("IDs %q then %q; want distinct, increasing, 16 bytes", first.ID, second.ID)
	}
	if copied.ID != first.ID || seen[0] != first.ID || first.TxID != first.ID {
		t.Errorf("ID %q, copy %q, seen %q, TxID %q; want all equal", first.ID, copied.ID, seen[0], first.TxID)
	}

	withTx := context.WithValue(context.Background(), bus.CtxKeyTxID, "tx")
	for _, ctx := range []context.Context{context.Background(), withTx} {
		if got := testing.AllocsPerRun(1000, func() { b.Emit(ctx, "t", nil) }); got != 1 {
			t.Errorf("Emit with a Generator (TxID in ctx: %v) makes %v allocations; want 1", ctx == withTx, got)
		}
	}
	// Re-emitting with an event's identity, as a bridge between processes
	// does, costs nothing more than the event.
	at := time.Unix(0, 42)
	reemit := func() {
		b.Emit(context.Background(), "t", nil, bus.WithID("id"), bus.WithTxID("tx"), bus.WithSource("node"), bus.WithOccurredAt(at))
	}
	if got := testing.AllocsPerRun(1000, reemit); got != 1 {
		t.Errorf("Emit with four EmitOptions makes %v allocations; want 1", got)
	}
}
