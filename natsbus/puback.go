package natsbus

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// parseAck reads the stream's answer to a publish: whether it stored the
// message, and whether it had stored its ID before. The answer is JSON,
// almost always {"stream":NAME,"seq":N} with perhaps "duplicate":true; that
// form is recognised without decoding, since a general decoder costs more
// than the rest of handling the acknowledgement. Anything else is decoded.
func parseAck(data, prefix []byte) (stored, duplicate bool) {
	if len(data) == 0 {
		return false, false // a status such as 503, no responders
	}
	if rest, ok := bytes.CutPrefix(data, prefix); ok {
		digits := len(rest) - len(bytes.TrimLeft(rest, "0123456789"))
		// A number JSON allows (no leading zero) that fits a uint64
		// (19 digits always do); the decoder judges anything else.
		if digits > 0 && digits < 20 && (digits == 1 || rest[0] != '0') {
			switch string(rest[digits:]) {
			case "}":
				return true, false
			case `,"duplicate":true}`:
				return true, true
			}
		}
	}
	var ack struct {
		Stream    string          `json:"stream"`
		Seq       uint64          `json:"seq"`
		Duplicate bool            `json:"duplicate"`
		Error     json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &ack); err != nil || ack.Error != nil || ack.Stream == "" {
		return false, false
	}
	return true, ack.Duplicate
}

// ackPrefix is how the stream's acknowledgements begin.
func ackPrefix(stream string) []byte {
	return []byte(`{"stream":` + strconv.Quote(stream) + `,"seq":`)
}
