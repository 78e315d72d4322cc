package natsbus

import (
	"sync"
	"time"
)

// seenIDs remembers the IDs of handled events for a window of time, so that
// a redelivered event is not handled twice.
type seenIDs struct {
	window time.Duration
	mu     sync.Mutex
	ids    map[string]struct{}
	order  []seenID // oldest first
}

type seenID struct {
	id string
	at time.Time
}

func newSeenIDs(window time.Duration) *seenIDs {
	return &seenIDs{window: window, ids: make(map[string]struct{})}
}

func (s *seenIDs) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *seenIDs) add(id string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	s.ids[id] = struct{}{}
	s.order = append(s.order, seenID{id, now})
}

// expire forgets the IDs older than the window. s.mu must be held.
func (s *seenIDs) expire(now time.Time) {
	n := 0
	for n < len(s.order) && now.Sub(s.order[n].at) > s.window {
		delete(s.ids, s.order[n].id)
		n++
	}
	s.order = s.order[n:] // append reallocates, copying only what is left
}
