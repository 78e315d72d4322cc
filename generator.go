package bus

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mustafaturan/monoton/v3"
)

// Generator is the recommended [IDGenerator]. It makes IDs with
// github.com/mustafaturan/monoton: 16 ASCII characters, base62-encoded
// milliseconds since the epoch, a counter and the node, so that they sort
// by time and are unique across nodes.
//
// A Generator never returns the same ID twice, whatever the number of
// goroutines calling it, and the IDs one goroutine gets are strictly
// increasing as byte strings. monoton's own sequencers do not promise this:
// called from several goroutines at once, they can return duplicates.
//
// With a Generator, an Emit makes one allocation in all: the event and its
// ID share it.
//
// IDs are unique only among Generators with distinct node numbers: give
// each process its own node, and create one Generator per process. Create
// Generators with [NewGenerator]; the zero Generator is not usable.
type Generator struct {
	m   monoton.Monoton
	seq *sequence // m's sequencer
}

// MaxNode is the largest node number a [Generator] accepts.
const MaxNode = 62*62*62*62 - 1

// NewGenerator returns a Generator for node, counting time from epoch.
// An epoch close to the present keeps the time part of IDs small;
// the zero time means the Unix epoch. Any epoch works as long as it is
// fixed for the whole deployment, since IDs made with different epochs
// do not sort together.
//
// NewGenerator fails if node exceeds [MaxNode] or epoch is before 1970 or
// in the future.
func NewGenerator(node uint64, epoch time.Time) (*Generator, error) {
	if node > MaxNode {
		return nil, fmt.Errorf("bus: generator node %d exceeds the maximum %d", node, MaxNode)
	}
	var epochMs int64
	if !epoch.IsZero() {
		epochMs = epoch.UnixMilli()
	}
	switch {
	case epochMs < 0:
		return nil, fmt.Errorf("bus: generator epoch %s is before 1970", epoch.UTC().Format(time.RFC3339))
	case epoch.After(time.Now()):
		return nil, fmt.Errorf("bus: generator epoch %s is in the future", epoch.UTC().Format(time.RFC3339))
	}
	seq := newSequence()
	m, err := monoton.New(seq, node, uint64(epochMs))
	if err != nil {
		return nil, fmt.Errorf("bus: generator: %w", err)
	}
	return &Generator{m: m, seq: seq}, nil
}

// Generate returns a new ID.
func (g *Generator) Generate() string {
	id := g.m.NextBytes()
	return string(id[:])
}

// generateInto returns a new ID whose bytes are stored in buf, which saves
// Emit the allocation of the string. buf must never be written again.
func (g *Generator) generateInto(buf *[16]byte) string {
	*buf = g.m.NextBytes()
	return unsafe.String(&buf[0], len(buf))
}

// The counter takes the low counterBits of sequence.state, and the
// milliseconds since sequence.startMs the bits above: packed in one word, both
// advance in a single compare-and-swap, which is what monoton's sequencers,
// storing them apart, get wrong under concurrency.
const (
	counterBits = 24 // holds maxCounter
	maxCounter  = 62*62*62*62 - 1
	counterMask = 1<<counterBits - 1
)

// sequence implements monoton's sequencer.Sequencer for milliseconds, with
// the same byte sizes as monoton's own: 8 bytes of time, 4 of counter, 4 of
// node.
type sequence struct {
	start   time.Time     // carries a monotonic reading: IDs ignore clock steps
	startMs uint64        // wall time of start, in whole Unix milliseconds
	startNs time.Duration // and the nanoseconds past startMs
	state   atomic.Uint64
}

func newSequence() *sequence {
	now := time.Now()
	ns := now.UnixNano()
	return &sequence{start: now, startMs: uint64(ns / 1e6), startNs: time.Duration(ns % 1e6)}
}

func (*sequence) Max() uint64     { return maxCounter }
func (*sequence) MaxTime() uint64 { return 62*62*62*62*62*62*62*62 - 1 }
func (*sequence) MaxNode() uint64 { return MaxNode }

// Next returns the time in Unix milliseconds and the counter for a new ID.
func (s *sequence) Next() (uint64, uint64) {
	// Counting from startMs, not from start, so that the millisecond in an
	// ID is the one the wall clock shows, not up to one behind.
	now := uint64((s.startNs + time.Since(s.start)) / time.Millisecond)
	for {
		old := s.state.Load()
		next := advance(old, now)
		if s.state.CompareAndSwap(old, next) {
			return s.startMs + next>>counterBits, next & counterMask
		}
	}
}

// advance returns the state that follows state when the clock reads now.
// In a new millisecond the counter restarts at 0. When the counter is
// exhausted within one millisecond, the sequence borrows the next one rather
// than wait or wrap; later IDs continue from there, so time in IDs runs
// ahead of the clock only while more than 14 million IDs a millisecond are
// being made.
func advance(state, now uint64) uint64 {
	ms, counter := state>>counterBits, state&counterMask
	switch {
	case now > ms:
		return now << counterBits
	case counter < maxCounter:
		return state + 1
	default:
		return (ms + 1) << counterBits
	}
}
