package natsbus_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// stored is one message the stream held at the end of a run.
type stored struct {
	Seq  uint64
	ID   string // the event's
	Data string // its Order.ID
}

// span is a fault: what was done to which process, from Start until Heal.
type span struct {
	Kind, Target string
	Start, Heal  time.Time
}

// runHistory is everything the checker reads about one run.
type runHistory struct {
	Publisher []record            // of every incarnation
	Nodes     map[string][]record // receiving node → its records, every incarnation
	Groups    map[string][]string // group → its members, which are also in Nodes
	Stream    []stored
	Killed    func(node string, inc int) bool // whether the incarnation ended by SIGKILL
	Faults    []span
	// Unanswered are the spans in which no server answered for the stream:
	// it had no leader. A publish may fail if the stream answered for less
	// than minAnswering of its PublishTimeout.
	Unanswered []span

	PublishTimeout time.Duration
	AckWait        time.Duration
	MaxUnacked     int // the most a receiving incarnation can hold unacknowledged
}

// minAnswering is how long the stream must have answered, within a
// publish's PublishTimeout, for the publish to be stored in time: up to two
// moves of the connection, 3 s each, and the retries after them.
const minAnswering = 8 * time.Second

// liveMargin is how much longer than PublishTimeout an Emit, Flush or
// Close may take: the last attempt's own timeout, and the report.
const liveMargin = 5 * time.Second

// verdict is what the checker found: figures, and the violations of the
// bridge's promises among them.
type verdict struct {
	Acknowledged, Failed, Stored int
	Figures                      []string
	Violations                   []string
	MaxEmit, MaxFlush, MaxClose  time.Duration
	Excused                      int           // failures of publishes in whose time the stream answered too little
	LongestUnanswered            time.Duration // the most unanswered time among them

	kinds map[string]int // violations by kind
}

func (v *verdict) figure(format string, args ...any) {
	v.Figures = append(v.Figures, fmt.Sprintf(format, args...))
}

// violate records a broken promise. The word before the first colon is
// its kind; the first ten of each kind are kept, the rest counted, so
// that many of one kind do not hide another.
func (v *verdict) violate(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	kind, _, _ := strings.Cut(msg, ":")
	if v.kinds == nil {
		v.kinds = map[string]int{}
	}
	v.kinds[kind]++
	if v.kinds[kind] <= 10 {
		v.Violations = append(v.Violations, msg)
	}
}

// violations returns the kept violations and, for each kind with more,
// how many were left out.
func (v *verdict) violations() []string {
	out := slices.Clone(v.Violations)
	for _, kind := range slices.Sorted(maps.Keys(v.kinds)) {
		if n := v.kinds[kind]; n > 10 {
			out = append(out, fmt.Sprintf("%s: … and %d more", kind, n-10))
		}
	}
	return out
}

// eventIDInError finds the event an error message is about.
var eventIDInError = regexp.MustCompile(`event (\S+) on `)

// check reads a run's histories against the bridge's promises.
func check(h runHistory) verdict {
	var v verdict
	byID := map[string]stored{}
	for _, s := range h.Stream {
		if prev, ok := byID[s.ID]; ok {
			v.violate("doubled in the stream: event %s at sequences %d and %d", s.ID, prev.Seq, s.Seq)
			continue
		}
		byID[s.ID] = s
	}
	v.Stored = len(byID)

	// What the publisher said: intents by data, emits by ID, failures.
	intents := map[string]bool{}
	emits := map[string]record{}
	failed := map[string]string{}
	failedAt := map[string]time.Time{}
	fail := func(id, why string, t int64) {
		failed[id], failedAt[id] = why, time.Unix(0, t)
	}
	var acked []record
	flushed := map[int]int{} // incarnation → the last emit a nil Flush covered
	for _, r := range h.Publisher {
		switch r.K {
		case "intent":
			intents[r.Data] = true
		case "emit":
			if r.ID != "" {
				emits[r.ID] = r
			}
			if r.Err != "" && r.ID != "" {
				fail(r.ID, r.Err, r.T)
			}
			v.MaxEmit = max(v.MaxEmit, time.Duration(r.Dur))
		case "flush":
			if r.Err == "" {
				flushed[r.Inc] = max(flushed[r.Inc], r.N)
			} else if m := eventIDInError.FindStringSubmatch(r.Err); m != nil {
				fail(m[1], r.Err, r.T)
			}
			v.MaxFlush = max(v.MaxFlush, time.Duration(r.Dur))
		case "error":
			if m := eventIDInError.FindStringSubmatch(r.Err); m != nil {
				fail(m[1], r.Err, r.T)
			}
		case "closed":
			v.MaxClose = max(v.MaxClose, time.Duration(r.Dur))
		}
	}
	limit := h.PublishTimeout + liveMargin
	for what, d := range map[string]time.Duration{"Emit": v.MaxEmit, "Flush": v.MaxFlush, "Close": v.MaxClose} {
		if d > limit {
			v.violate("liveness: the longest %s took %v, more than PublishTimeout %v + %v", what, d.Round(time.Millisecond), h.PublishTimeout, liveMargin)
		}
	}
	for _, r := range h.Publisher {
		// Acknowledged: Emit returned nil in confirm mode, or a nil Flush
		// after it covered it; and nothing reported it failed since.
		if r.K == "emit" && r.Err == "" && failed[r.ID] == "" && (!pipelined(h.Publisher) || r.N <= flushed[r.Inc]) {
			acked = append(acked, r)
		}
	}
	v.Acknowledged, v.Failed = len(acked), len(failed)
	for _, r := range acked {
		if _, ok := byID[r.ID]; !ok {
			v.violate("lost: event %s (%s) acknowledged to the publisher, not in the stream", r.ID, r.Data)
		}
	}
	// Every fault of the suite heals within PublishTimeout, so no publish
	// may fail unless the stream itself answered for less than
	// minAnswering of its time: then it may fail, stored or not. Otherwise
	// one that is stored was also reported falsely.
	for id, why := range failed {
		if down := unansweredWithin(h, failedAt[id].Add(-h.PublishTimeout), failedAt[id]); h.PublishTimeout-down < minAnswering {
			v.Excused++
			v.LongestUnanswered = max(v.LongestUnanswered, down)
			continue
		}
		if _, ok := byID[id]; ok {
			v.violate("false failure: event %s was reported failed (%s) but is in the stream", id, why)
		} else {
			v.violate("failure: event %s failed (%s), though the cluster recovered within PublishTimeout", id, why)
		}
	}
	for id, s := range byID {
		if !intents[s.Data] {
			v.violate("phantom: the stream holds event %s (%s), which the publisher never emitted", id, s.Data)
		}
	}
	v.figure("publisher: %d acknowledged, %d reported failed (%d in whose PublishTimeout the stream did not answer for up to %v), %d stored",
		v.Acknowledged, v.Failed, v.Excused, v.LongestUnanswered.Round(time.Millisecond), v.Stored)
	for i, id := range sortedKeys(failed) {
		if i == 3 {
			v.figure("  … and %d more", len(failed)-i)
			break
		}
		v.figure("  failed: %s", failed[id])
	}

	inGroup := map[string]string{}
	for g, members := range h.Groups {
		for _, m := range members {
			inGroup[m] = g
		}
	}
	for _, name := range sortedKeys(h.Nodes) {
		if inGroup[name] == "" {
			checkReceiver(&v, h, name, []string{name}, byID, emits, intents)
		}
	}
	for _, g := range sortedKeys(h.Groups) {
		checkReceiver(&v, h, g, h.Groups[g], byID, emits, intents)
	}
	return v
}

func pipelined(pub []record) bool {
	return slices.ContainsFunc(pub, func(r record) bool { return r.K == "flush" && r.N > 0 })
}

// handling is one call of a receiving node's handler.
type handling struct {
	node string
	record
}

// checkReceiver checks what one fan-out node, or one group of members,
// handled: every stored event, once, as emitted, in stream order.
func checkReceiver(v *verdict, h runHistory, name string, members []string, byID map[string]stored, emits map[string]record, intents map[string]bool) {
	var calls []handling
	for _, m := range members {
		for _, r := range h.Nodes[m] {
			if r.K == "handled" {
				calls = append(calls, handling{m, r})
			}
		}
	}
	seen := map[string][]handling{}
	var phantom, identity, allowedDup, crossMember, inversions, quietInversions int
	unacked := map[string]int{} // killed incarnation → events it handled again later
	type inc struct {
		node string
		inc  int
	}
	highest := map[inc]uint64{}
	for _, c := range calls {
		s, inStream := byID[c.ID]
		if !inStream || !intents[c.Data] {
			phantom++
			v.violate("phantom: %s handled event %s (%s), which is not a stored event of the publisher", c.node, c.ID, c.Data)
			continue
		}
		if e, ok := emits[c.ID]; ok {
			src := e.Src
			if src == "" {
				src = "pub"
			}
			if c.Tx != e.Tx || c.Src != src || c.At != e.At || c.Data != e.Data {
				identity++
				v.violate("identity: %s handled event %s as tx %s, source %s, time %d, data %s; emitted as tx %s, source %s, time %d, data %s",
					c.node, c.ID, c.Tx, c.Src, c.At, c.Data, e.Tx, src, e.At, e.Data)
			}
		} else if c.Data != s.Data {
			identity++
			v.violate("identity: %s handled event %s with data %s; stored with %s", c.node, c.ID, c.Data, s.Data)
		}
		earlier := seen[c.ID]
		seen[c.ID] = append(earlier, c)
		if len(earlier) > 0 {
			prev := earlier[len(earlier)-1]
			switch {
			case prev.node == c.node && prev.Inc == c.Inc:
				v.violate("duplicate: %s (incarnation %d) handled event %s twice", c.node, c.Inc, c.ID)
			case prev.node != c.node:
				crossMember++ // a redelivery that reached another member of the group
			case h.Killed(prev.node, prev.Inc):
				allowedDup++
				unacked[fmt.Sprint(prev.node, "#", prev.Inc)]++
			default:
				v.violate("duplicate: %s handled event %s in incarnation %d and again in %d, though %d stopped with Close", c.node, c.ID, prev.Inc, c.Inc, prev.Inc)
			}
			continue // a redelivery: stream order does not apply to it
		}
		k := inc{c.node, c.Inc}
		if s.Seq < highest[k] {
			inversions++
			if !disturbed(h, time.Unix(0, c.T)) {
				quietInversions++
				v.violate("order: %s (incarnation %d) handled sequence %d after %d, with no fault near", c.node, c.Inc, s.Seq, highest[k])
			}
		}
		highest[k] = max(highest[k], s.Seq)
	}
	for who, n := range unacked {
		if n > h.MaxUnacked {
			v.violate("duplicate: %s, killed, had %d events handled again; it can hold at most %d unacknowledged", who, n, h.MaxUnacked)
		}
	}
	var lost int
	for id, s := range byID {
		if len(seen[id]) == 0 {
			lost++
			v.violate("lost: %s never handled event %s (%s, sequence %d)", name, id, s.Data, s.Seq)
		}
	}
	v.figure("%s: %d calls, %d of %d stored events handled, lost %d, phantom %d, identity wrong %d, "+
		"again after a kill %d (by incarnation: %v), to another member %d, out of stream order %d (%d with no fault near)",
		name, len(calls), len(seen), len(byID), lost, phantom, identity, allowedDup, unacked, crossMember, inversions, quietInversions)
}

// disturbed reports whether a fault was under way at t, or ended so
// recently that what it held back may still be arriving: redeliveries
// come an AckWait after a loss, and a reconnect takes seconds.
// unansweredWithin returns how long, between from and to, no server
// answered for the stream.
func unansweredWithin(h runHistory, from, to time.Time) time.Duration {
	var down time.Duration
	for _, u := range h.Unanswered {
		start, end := u.Start, u.Heal
		if start.Before(from) {
			start = from
		}
		if end.After(to) {
			end = to
		}
		if end.After(start) {
			down += end.Sub(start)
		}
	}
	return down
}

func disturbed(h runHistory, t time.Time) bool {
	for _, f := range h.Faults {
		if !t.Before(f.Start) && t.Before(f.Heal.Add(3*h.AckWait+5*time.Second)) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// readHistory reads a node's records. Each was appended in one write, so
// a kill cannot leave half a line.
func readHistory(path string) ([]record, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w: %q", path, err, sc.Text())
		}
		rs = append(rs, r)
	}
	return rs, sc.Err()
}

func TestUnansweredWithin(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	h := runHistory{Unanswered: []span{{Start: at(10), Heal: at(17)}, {Start: at(30), Heal: at(32)}}}
	tests := []struct {
		from, to int
		want     time.Duration
	}{
		{0, 9, 0},
		{0, 15, 5 * time.Second},
		{12, 27, 5 * time.Second},
		{5, 35, 9 * time.Second},
		{31, 40, time.Second},
	}
	for _, tt := range tests {
		if got := unansweredWithin(h, at(tt.from), at(tt.to)); got != tt.want {
			t.Errorf("unansweredWithin(%d, %d) = %v; want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
