package natsbus

import (
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// seenSeqs remembers the stream sequences of the messages this node has
// dealt with, so that a redelivery, after an acknowledgement was lost, is
// not handled twice. Only messages above the consumer's acknowledgement
// floor can be redelivered, so the set is pruned to the floor, once per
// pruneInterval, and holds what the node dealt with since the floor last
// moved: its memory follows what can be redelivered, not the rate of
// events over a time window. It holds sequence numbers only, 8 bytes each,
// in ascending order: messages arrive in stream order, so adding is an
// append and looking up a binary search.
//
// A floor is applied one prune after it was read, and only if the same
// consumer leader reports then, both times in touch with every replica:
// the leader counts an acknowledgement in its floor before its replicas
// have it, and a new leader elected in between (the old one paused,
// killed or cut off) redelivers what they lacked. The fault suite's seeds
// 8 and 2 each saw one such duplicate while floors were trusted sooner.
type seenSeqs struct {
	mu      sync.Mutex
	seqs    []uint64 // ascending
	gen     uint64   // counts resets, so that a floor read before one is not applied after it
	pending floorReading
}

// floorReading is an acknowledgement floor as one consumer leader reported it.
type floorReading struct {
	floor  uint64
	leader string // its name and when it was elected; "" without a cluster
	gen    uint64
	ok     bool
}

func (s *seenSeqs) has(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := slices.BinarySearch(s.seqs, seq)
	return ok
}

func (s *seenSeqs) add(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.seqs); n == 0 || s.seqs[n-1] < seq {
		s.seqs = append(s.seqs, seq)
		return
	}
	// A redelivery of an older message, out of stream order.
	if i, ok := slices.BinarySearch(s.seqs, seq); !ok {
		s.seqs = slices.Insert(s.seqs, i, seq)
	}
}

// generation returns the set's length and how often it was reset.
func (s *seenSeqs) generation() (n int, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs), s.gen
}

// pruneInterval is how often the receiver asks the server for the
// consumer's state, and so for the floor.
const pruneInterval = time.Second

// prune forgets the sequences at or below the floor of info, the
// consumer's state as its leader reported it; gen is the set's generation
// from before info was asked for. The receiver installs a new consumer
// before it resets the set, so a floor read after the generation belongs
// to the set's consumer or a newer one, and forget drops a floor whose
// generation has passed.
func (s *seenSeqs) prune(gen uint64, info *jetstream.ConsumerInfo) {
	s.observe(floorReading{floor: info.AckFloor.Stream, leader: leaderOf(info), gen: gen, ok: leads(info.Cluster)})
}

// leads reports whether a consumer's cluster information comes from a
// leader in touch with every replica, all of them current: a leader that
// was paused, or cut off from the others, still answers as the leader
// until it learns better, with a floor its successor may not have (the
// fault suite's seed 2 saw a duplicate that way). Without a cluster there
// is no other copy of the state to lag behind.
func leads(ci *jetstream.ClusterInfo) bool {
	if ci == nil {
		return true
	}
	if ci.Leader == "" {
		return false
	}
	for _, r := range ci.Replicas {
		if !r.Current || !inTouch(r) {
			return false
		}
	}
	return true
}

// observe applies the previous reading if it and reading are both
// trusted and come from the same leader, and keeps reading for the next
// prune.
func (s *seenSeqs) observe(reading floorReading) {
	s.mu.Lock()
	prev := s.pending
	s.pending = reading
	s.mu.Unlock()
	if prev.ok && reading.ok && prev.leader == reading.leader {
		s.forget(prev.gen, prev.floor)
	}
}

// leaderOf names the consumer's leader and the time of its election.
func leaderOf(info *jetstream.ConsumerInfo) string {
	if info.Cluster == nil {
		return ""
	}
	if since := info.Cluster.LeaderSince; since != nil {
		return info.Cluster.Leader + "@" + since.Format(time.RFC3339Nano)
	}
	return info.Cluster.Leader
}

// forget drops the sequences at or below floor, unless the set was reset
// since generation gen: a floor of the consumer before says nothing about
// the sequences of the one after, which may start again at 1. The rest are
// copied to the front, so the slice never grows beyond the most the set
// held at once, and a set that empties gives its memory back.
func (s *seenSeqs) forget(gen, floor uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen {
		return
	}
	i, found := slices.BinarySearch(s.seqs, floor)
	if found {
		i++
	}
	switch {
	case i == len(s.seqs):
		s.seqs = nil
	case i > 0:
		s.seqs = s.seqs[:copy(s.seqs, s.seqs[i:])]
	}
}

// reset forgets every sequence.
func (s *seenSeqs) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = nil
	s.gen++
}
