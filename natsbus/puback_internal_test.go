package natsbus

import (
	"encoding/json"
	"testing"
)

func TestParseAck(t *testing.T) {
	tests := []struct {
		name              string
		data              string
		stored, duplicate bool
	}{
		{"stored", `{"stream":"BUS","seq":42}`, true, false},
		{"duplicate", `{"stream":"BUS","seq":42,"duplicate":true}`, true, true},
		{"with a domain", `{"stream":"BUS","seq":42,"domain":"hub"}`, true, false},
		{"duplicate with a domain", `{"stream":"BUS","seq":42,"domain":"hub","duplicate":true}`, true, true},
		{"other field order", `{"seq":42,"stream":"BUS"}`, true, false},
		{"another stream", `{"stream":"BUSY","seq":42}`, true, false},
		{"error", `{"error":{"code":503,"err_code":10077,"description":"no suitable peers"}}`, false, false},
		{"stream and error", `{"stream":"BUS","seq":0,"error":{"code":400,"description":"x"}}`, false, false},
		{"no seq digits", `{"stream":"BUS","seq":}`, false, false},
		{"status, no body", ``, false, false},
		{"not JSON", `+OK`, false, false},
		{"empty object", `{}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, duplicate := parseAck([]byte(tt.data), ackPrefix("BUS"))
			if stored != tt.stored || duplicate != tt.duplicate {
				t.Errorf("parseAck(%s) = %v, %v; want %v, %v", tt.data, stored, duplicate, tt.stored, tt.duplicate)
			}
		})
	}
}

// FuzzParseAck checks parseAck's fast path against a plain decoding of the
// answer: whatever a server (or anything answering on its behalf) sends,
// both must agree.
func FuzzParseAck(f *testing.F) {
	for _, seed := range []string{
		`{"stream":"BUS","seq":42}`, `{"stream":"BUS","seq":42,"duplicate":true}`,
		`{"stream":"BUS","seq":42,"domain":"hub"}`, `{"stream":"BUS","seq":007}`,
		`{"stream":"BUS","seq":99999999999999999999}`, `{"error":{"code":503,"err_code":10077,"description":"no suitable peers"}}`, ``,
	} {
		f.Add([]byte(seed))
	}
	prefix := ackPrefix("BUS")
	f.Fuzz(func(t *testing.T, data []byte) {
		stored, duplicate := parseAck(data, prefix)
		var ack struct {
			Stream    string          `json:"stream"`
			Seq       uint64          `json:"seq"`
			Duplicate bool            `json:"duplicate"`
			Error     json.RawMessage `json:"error"`
		}
		err := json.Unmarshal(data, &ack)
		wantStored := err == nil && ack.Error == nil && ack.Stream != ""
		if stored != wantStored || duplicate != (wantStored && ack.Duplicate) {
			t.Fatalf("parseAck(%q) = %v, %v; decoding says %v, %v", data, stored, duplicate, wantStored, wantStored && ack.Duplicate)
		}
	})
}
