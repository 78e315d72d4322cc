package natsbus

import (
	"context"
	"slices"
	"sync"
	"time"
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
type seenSeqs struct {
	mu   sync.Mutex
	seqs []uint64 // ascending
	gen  uint64   // counts resets, so that a floor read before one is not applied after it
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

// pruneInterval is how often the set asks the server for the floor.
const pruneInterval = time.Second

// prune forgets the sequences at or below the consumer's acknowledgement
// floor. It asks the server, so it runs beside the handling, never in
// its way. The receiver installs a new consumer before it resets the set,
// so a floor read after the generation belongs to the set's consumer or a
// newer one, and forget drops a floor whose generation has passed.
func (s *seenSeqs) prune(r *receiver) {
	n, gen := s.generation()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	info, err := r.consumerNow().Info(ctx)
	if err != nil {
		return // try again later
	}
	s.forget(gen, info.AckFloor.Stream)
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
