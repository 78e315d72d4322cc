package natsbus

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The wire format is CloudEvents 1.0 in the NATS protocol binding, so that
// services in other languages publish and consume with a CloudEvents SDK.
// The bridge publishes in binary content mode: each attribute in a header
// named "ce-" and the attribute, lower case as NATS header keys are case
// sensitive, and the codec's output as the payload. It receives binary
// mode and structured mode (the whole CloudEvent as a JSON payload).
const (
	ceSpecVersion     = "ce-specversion"
	ceID              = "ce-id"
	ceSource          = "ce-source"
	ceType            = "ce-type" // the topic
	ceTime            = "ce-time"
	ceTxID            = "ce-txid" // an extension; absent when the event starts its transaction
	ceDataContentType = "ce-datacontenttype"

	// contentType is where a structured-mode message says so, and where
	// some binary-mode senders put the data's media type.
	contentType = "content-type"
	// structuredType is the media type of a structured-mode message.
	structuredType = "application/cloudevents+json"
)

// wireEvent is what a message says about its event before the codec
// decodes its data: a CloudEvent's attributes and data.
type wireEvent struct {
	id, source, topic, txID string
	time                    time.Time // zero when the message gives none
	contentType             string    // the data's media type; "" when not given
	data                    []byte
}

// parseEvent reads the CloudEvent a message carries, in binary content
// mode when it has a ce-specversion header, in structured mode otherwise.
// It checks what CloudEvents requires (specversion 1.0, id, source, type)
// and nothing the bridge decides: whether the type agrees with the
// subject, or the data with the codec. The message comes from any client
// allowed to publish on the stream: parseEvent never trusts it.
func parseEvent(header map[string][]string, data []byte) (wireEvent, error) {
	if _, ok := header[ceSpecVersion]; ok {
		return parseBinary(header, data)
	}
	if ct := mediaType(first(header, contentType)); ct != "" && ct != structuredType {
		return wireEvent{}, fmt.Errorf("not a CloudEvent: no %s header, and content-type %q is not %s", ceSpecVersion, ct, structuredType)
	}
	return parseStructured(data)
}

// binaryAttrs are the headers parseBinary reads, in the order of its
// values.
var binaryAttrs = [...]string{ceSpecVersion, ceID, ceSource, ceType, ceTime, ceTxID, ceDataContentType}

func parseBinary(header map[string][]string, data []byte) (wireEvent, error) {
	var v [len(binaryAttrs)]string
	for i, key := range binaryAttrs {
		var err error
		if v[i], err = unescape(first(header, key)); err != nil {
			return wireEvent{}, fmt.Errorf("header %s: %w", key, err)
		}
	}
	w := wireEvent{id: v[1], source: v[2], topic: v[3], txID: v[5], contentType: v[6], data: data}
	if w.contentType == "" {
		w.contentType = first(header, contentType)
	}
	var err error
	w.time, err = w.check(v[0], v[4], "header "+ceTime)
	return w, err
}

func parseStructured(data []byte) (wireEvent, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return wireEvent{}, errors.New("not a CloudEvent: no ce-specversion header, and the payload is not a JSON object")
	}
	if _, ok := fields["specversion"]; !ok {
		return wireEvent{}, errors.New("not a CloudEvent: no ce-specversion header, and the payload has no specversion")
	}
	// Attribute names are exact: encoding/json would match "ID" to "id".
	str := func(name string) (string, error) {
		raw, ok := fields[name]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("attribute %s: %s is not a string", name, raw)
		}
		return s, nil
	}
	var w wireEvent
	var version, stamp, b64 string
	var err error
	for _, a := range []struct {
		name string
		v    *string
	}{{"specversion", &version}, {"id", &w.id}, {"source", &w.source}, {"type", &w.topic}, {"time", &stamp}, {"txid", &w.txID}, {"datacontenttype", &w.contentType}, {"data_base64", &b64}} {
		if *a.v, err = str(a.name); err != nil {
			return wireEvent{}, err
		}
	}
	raw, hasData := fields["data"]
	_, hasB64 := fields["data_base64"]
	switch {
	case hasData && hasB64:
		return wireEvent{}, errors.New("both data and data_base64")
	case hasB64:
		if w.data, err = base64.StdEncoding.DecodeString(b64); err != nil {
			return wireEvent{}, fmt.Errorf("data_base64: %w", err)
		}
	case hasData && !isJSON(w.contentType) && len(raw) > 0 && raw[0] == '"':
		// Data of another media type, carried as a JSON string.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return wireEvent{}, fmt.Errorf("data: %w", err)
		}
		w.data = []byte(s)
	case hasData:
		w.data = raw
	}
	w.time, err = w.check(version, stamp, "attribute time")
	return w, err
}

// check verifies the attributes CloudEvents requires, and returns the
// time stamp says (zero when it is empty).
func (w *wireEvent) check(version, stamp, timeName string) (time.Time, error) {
	switch {
	case version != "1.0":
		return time.Time{}, fmt.Errorf("specversion %q; want 1.0", version)
	case w.id == "":
		return time.Time{}, errors.New("no id")
	case w.source == "":
		return time.Time{}, errors.New("no source")
	case w.topic == "":
		return time.Time{}, errors.New("no type")
	case stamp == "":
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", timeName, stamp)
	}
	return t, nil
}

// first returns the first value of header key, or "": nats.Header's Get,
// but safe for a key with an empty list of values.
func first(header map[string][]string, key string) string {
	if vs := header[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// mediaType returns the media type of a content type, without its
// parameters, in lower case.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// isJSON reports whether data of media type ct is JSON, as CloudEvents'
// JSON format decides it: no type, application/json, text/json, or a type
// with the +json suffix.
func isJSON(ct string) bool {
	mt := mediaType(ct)
	return mt == "" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// needsEscape reports whether c must be percent-encoded in a header value,
// as the CloudEvents HTTP binding says: space, '"', '%', and every byte
// outside printable ASCII.
func needsEscape(c byte) bool { return c <= ' ' || c >= 0x7f || c == '"' || c == '%' }

// escape percent-encodes v for a header. Values that need nothing, such as
// the bus's IDs and the topics that are subjects, come back as they are.
func escape(v string) string {
	i := 0
	for i < len(v) && !needsEscape(v[i]) {
		i++
	}
	if i == len(v) {
		return v
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, i, len(v)+8)
	copy(b, v)
	for ; i < len(v); i++ {
		if c := v[i]; needsEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// unescape decodes a percent-encoded header value.
func unescape(v string) (string, error) {
	if strings.IndexByte(v, '%') < 0 {
		return v, nil
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("bad percent-encoding in %q", v)
	}
	return s, nil
}
