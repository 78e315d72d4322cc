package natsbus

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestSeenSeqs follows the seen set through deliveries in stream order, a
// redelivery out of order, and pruning to the acknowledgement floor.
func TestSeenSeqs(t *testing.T) {
	var s seenSeqs
	for _, seq := range []uint64{3, 5, 8, 9} {
		s.add(seq)
	}
	s.add(4) // out of order
	s.add(5) // again
	if want := []uint64{3, 4, 5, 8, 9}; !slices.Equal(s.seqs, want) {
		t.Fatalf("seqs = %v; want %v", s.seqs, want)
	}
	tests := []struct {
		seq  uint64
		want bool
	}{{2, false}, {3, true}, {4, true}, {6, false}, {9, true}, {10, false}}
	for _, tt := range tests {
		if got := s.has(tt.seq); got != tt.want {
			t.Errorf("has(%d) = %v; want %v", tt.seq, got, tt.want)
		}
	}
	floors := []struct {
		floor uint64
		want  []uint64
	}{
		{1, []uint64{3, 4, 5, 8, 9}},
		{4, []uint64{5, 8, 9}},
		{7, []uint64{8, 9}},
		{9, nil},
	}
	for _, f := range floors {
		s.forget(s.gen, f.floor)
		if !slices.Equal(s.seqs, f.want) {
			t.Errorf("after forget(%d): seqs = %v; want %v", f.floor, s.seqs, f.want)
		}
	}
	if s.seqs != nil {
		t.Errorf("an emptied set keeps %d bytes; want its memory given back", cap(s.seqs)*8)
	}

	// A floor read before a reset, from the consumer before, is not
	// applied to the sequences of the new one.
	_, gen := s.generation()
	s.reset()
	s.add(1)
	s.add(2)
	s.forget(gen, 1000)
	if want := []uint64{1, 2}; !slices.Equal(s.seqs, want) {
		t.Errorf("after a stale forget: seqs = %v; want %v", s.seqs, want)
	}
}

// TestSeenSeqsFloorWaitsForItsLeader: a floor is applied a prune later,
// and only if the leader that reported it still leads; a floor a leader
// reported before it was replaced may count acknowledgements the new
// leader never got.
func TestSeenSeqsFloorWaitsForItsLeader(t *testing.T) {
	tests := []struct {
		name     string
		readings []floorReading
		want     []uint64
	}{
		{"one reading", []floorReading{{floor: 5, leader: "s0@1", ok: true}}, []uint64{1, 3, 5, 7, 9}},
		{"same leader", []floorReading{{floor: 5, leader: "s0@1", ok: true}, {floor: 7, leader: "s0@1", ok: true}}, []uint64{7, 9}},
		{"new leader", []floorReading{{floor: 5, leader: "s0@1", ok: true}, {floor: 3, leader: "s1@2", ok: true}}, []uint64{1, 3, 5, 7, 9}},
		{"re-elected", []floorReading{{floor: 5, leader: "s0@1", ok: true}, {floor: 5, leader: "s0@3", ok: true}}, []uint64{1, 3, 5, 7, 9}},
		{"new leader, then stable", []floorReading{{floor: 5, leader: "s0@1", ok: true}, {floor: 3, leader: "s1@2", ok: true}, {floor: 5, leader: "s1@2", ok: true}}, []uint64{5, 7, 9}},
		{"no cluster", []floorReading{{floor: 5, ok: true}, {floor: 9, ok: true}}, []uint64{7, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seenSeqs
			for _, seq := range []uint64{1, 3, 5, 7, 9} {
				s.add(seq)
			}
			for _, r := range tt.readings {
				s.observe(r)
			}
			if !slices.Equal(s.seqs, tt.want) {
				t.Errorf("seqs = %v; want %v", s.seqs, tt.want)
			}
		})
	}
}

func TestLeads(t *testing.T) {
	peer := func(current, offline bool, active time.Duration) *jetstream.PeerInfo {
		return &jetstream.PeerInfo{Name: "s1", Current: current, Offline: offline, Active: active}
	}
	tests := []struct {
		name string
		ci   *jetstream.ClusterInfo
		want bool
	}{
		{"no cluster", nil, true},
		{"no leader", &jetstream.ClusterInfo{}, false},
		{"replicas current", &jetstream.ClusterInfo{Leader: "s0", Replicas: []*jetstream.PeerInfo{peer(true, false, 100*time.Millisecond), peer(true, false, time.Second)}}, true},
		{"a replica behind", &jetstream.ClusterInfo{Leader: "s0", Replicas: []*jetstream.PeerInfo{peer(true, false, 0), peer(false, false, 0)}}, false},
		{"a replica offline", &jetstream.ClusterInfo{Leader: "s0", Replicas: []*jetstream.PeerInfo{peer(true, true, 0)}}, false},
		{"not heard from lately", &jetstream.ClusterInfo{Leader: "s0", Replicas: []*jetstream.PeerInfo{peer(true, false, 9*time.Second)}}, false},
	}
	for _, tt := range tests {
		if got := leads(tt.ci); got != tt.want {
			t.Errorf("%s: leads = %v; want %v", tt.name, got, tt.want)
		}
	}
	// An untrusted reading between two of one leader breaks the pair.
	var s seenSeqs
	s.add(3)
	s.observe(floorReading{floor: 5, leader: "s0@1", ok: true})
	s.observe(floorReading{floor: 5, leader: "s0@1", ok: false})
	s.observe(floorReading{floor: 5, leader: "s0@1", ok: true})
	if !s.has(3) {
		t.Errorf("a floor read across an untrusted reading was applied")
	}
}
