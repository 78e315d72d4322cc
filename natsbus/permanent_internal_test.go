package natsbus

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPermanent: which publish errors end the retries at once. The
// in-process answer came from a real cluster in the fault suite: a retry
// that overtakes the first attempt while it is replicated.
func TestPermanent(t *testing.T) {
	for _, tt := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"in process", &jetstream.APIError{Code: 409, ErrorCode: errCodeInProcess, Description: "duplicate message id is in process"}, false},
		{"temporarily unavailable", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, false},
		{"wrong last sequence", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, true},
		{"max payload", nats.ErrMaxPayload, true},
		{"connection closed", nats.ErrConnectionClosed, true},
		{"timeout", context.DeadlineExceeded, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := (&Bridge{}).permanent(context.Background(), tt.err)
			if (got != nil) != tt.permanent || (got != nil && !errors.Is(got, tt.err)) {
				t.Errorf("permanent(%v) = %v; want permanent %v", tt.err, got, tt.permanent)
			}
		})
	}
}
