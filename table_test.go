package bus

import (
	"fmt"
	"testing"
)

// TestTable checks the topic index against a map through growth and
// removal, including names reused after removal.
func TestTable(t *testing.T) {
	tab := newTable(minTableSize)
	want := map[string]*topicEntry{}
	for round := range 3 {
		for i := range 1000 {
			name := fmt.Sprintf("topic.%d", i)
			e := &topicEntry{name: name}
			tab = tab.insert(e)
			want[name] = e
		}
		for i := 0; i < 1000; i += 3 {
			name := fmt.Sprintf("topic.%d", i)
			tab.remove(name)
			delete(want, name)
		}
		for i := range 1100 {
			name := fmt.Sprintf("topic.%d", i)
			if got := tab.lookup(name); got != want[name] {
				t.Fatalf("round %d: lookup(%q) = %p; want %p", round, name, got, want[name])
			}
		}
		// Remove the rest, so the next round inserts over tombstones.
		for name := range want {
			tab.remove(name)
			delete(want, name)
		}
	}
	if len(tab.slots) > 4096 {
		t.Errorf("table has %d slots for at most 1000 live entries; tombstones are not reclaimed", len(tab.slots))
	}
}
