package natsbus

import (
	"context"
	"sync"
	"time"
)

// seenSeqs remembers the stream sequences of the messages this node has
// dealt with, so that a redelivery, after an acknowledgement was lost, is
// not handled twice. Only messages above the consumer's acknowledgement
// floor can be redelivered, and the server keeps at most MaxAckPending of
// those, so the set is pruned to the floor and its memory is bounded by
// what can be redelivered, not by the rate of events. It holds sequence
// numbers only, not the messages or their headers.
type seenSeqs struct {
	mu        sync.Mutex
	seqs      map[uint64]struct{}
	lastPrune time.Time
}

func (s *seenSeqs) has(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seqs[seq]
	return ok
}

func (s *seenSeqs) add(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seqs == nil {
		s.seqs = make(map[uint64]struct{})
	}
	s.seqs[seq] = struct{}{}
}

// pruneInterval is how often the set asks the server for the floor.
const pruneInterval = time.Second

// prune forgets the sequences at or below the consumer's acknowledgement
// floor, at most once per pruneInterval. An empty set drops its map, so
// that an idle node gives its memory back.
func (s *seenSeqs) prune(r *receiver) {
	s.mu.Lock()
	due := len(s.seqs) > 0 && time.Since(s.lastPrune) >= pruneInterval
	if due {
		s.lastPrune = time.Now()
	}
	s.mu.Unlock()
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	info, err := r.consumerNow().Info(ctx)
	if err != nil {
		return // try again later
	}
	floor := info.AckFloor.Stream
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq := range s.seqs {
		if seq <= floor {
			delete(s.seqs, seq)
		}
	}
	if len(s.seqs) == 0 {
		s.seqs = nil
	}
}

// reset forgets every sequence.
func (s *seenSeqs) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = nil
}
