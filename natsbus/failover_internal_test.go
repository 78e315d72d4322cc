package natsbus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestUnanswered: which failures count towards moving the connection. A
// refusal is an answer; silence, and a publish the stream cannot finish,
// are not.
func TestUnanswered(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"timeout", fmt.Errorf("stream BUS: %w", context.DeadlineExceeded), true},
		{"request timeout", nats.ErrTimeout, true},
		{"no stream response", jetstream.ErrNoStreamResponse, true},
		{"no responders", nats.ErrNoResponders, true},
		{"no heartbeat", jetstream.ErrNoHeartbeat, true},
		{"leader isolated", fmt.Errorf("consumer b: leader s0: %w", errIsolated), true},
		{"temporarily unavailable", &jetstream.APIError{Code: 503, ErrorCode: 10008}, true},
		{"in process", &jetstream.APIError{Code: 409, ErrorCode: errCodeInProcess}, true},
		{"stream not found", jetstream.ErrStreamNotFound, false},
		{"wrong last sequence", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, false},
		{"cancelled", context.Canceled, false},
		{"max payload", nats.ErrMaxPayload, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := unanswered(tt.err); got != tt.want {
				t.Errorf("unanswered(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestIsolated(t *testing.T) {
	peer := func(offline bool, active time.Duration) *jetstream.PeerInfo {
		return &jetstream.PeerInfo{Name: "s1", Offline: offline, Active: active}
	}
	tests := []struct {
		name string
		ci   *jetstream.ClusterInfo
		want bool
	}{
		{"no cluster", nil, false},
		{"no replicas", &jetstream.ClusterInfo{Leader: "s0"}, false},
		{"in touch", &jetstream.ClusterInfo{Leader: "s0", Replicas: []*jetstream.PeerInfo{peer(false, time.Second), peer(false, 500*time.Millisecond)}}, false},
		{"one replica down", &jetstream.ClusterInfo{Leader: "s0", Replicas: []*jetstream.PeerInfo{peer(true, 0), peer(false, time.Second)}}, false},
		{"cut off", &jetstream.ClusterInfo{Leader: "s0", Replicas: []*jetstream.PeerInfo{peer(false, 3*time.Second), peer(true, 0)}}, true},
	}
	for _, tt := range tests {
		if got := isolated(tt.ci); got != tt.want {
			t.Errorf("%s: isolated = %v; want %v", tt.name, got, tt.want)
		}
	}
}
