package natsbus

import (
	"strings"
	"testing"
	"time"
)

// headers parses "key: value" lines, as a message's headers read.
func headers(block string) map[string][]string {
	h := map[string][]string{}
	for line := range strings.Lines(block) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ": ")
		if ok {
			h[k] = append(h[k], v)
		}
	}
	return h
}

// A binary-mode message as the bridge publishes it, and a structured-mode
// one as the CloudEvents SDK for Go sends it.
const (
	bridgeHeaders = "ce-specversion: 1.0\nce-id: 0GqPjDlrD2Yk0001\nce-source: shop\nce-type: order.created\nce-time: 2026-12-03T14:02:11.123456789Z\nce-txid: 0GqPjDlrD2Yk0000\nce-datacontenttype: application/json\nNats-Msg-Id: 0GqPjDlrD2Yk0001.Yp3c5Wm0aL2qVv9xBq7Q9w\n"
	sdkStructured = `{"specversion":"1.0","id":"42","source":"/billing","type":"order.created","time":"2026-12-03T15:02:11.5+01:00","datacontenttype":"application/json","txid":"41","data":{"ID":"A-1","Cents":250}}`
)

func TestParseEvent(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 2, 11, 123456789, time.UTC)
	tests := []struct {
		name    string
		header  string
		data    string
		want    wireEvent
		wantErr string
	}{
		{name: "binary, as the bridge sends it", header: bridgeHeaders, data: `{"ID":"A-1"}`,
			want: wireEvent{id: "0GqPjDlrD2Yk0001", source: "shop", topic: "order.created", txID: "0GqPjDlrD2Yk0000", time: at, contentType: "application/json", data: []byte(`{"ID":"A-1"}`)}},
		{name: "binary, minimal", header: "ce-specversion: 1.0\nce-id: 1\nce-source: s\nce-type: t\n", data: "x",
			want: wireEvent{id: "1", source: "s", topic: "t", data: []byte("x")}},
		{name: "binary, percent-encoded, content-type header", header: "ce-specversion: 1.0\nce-id: 1\nce-source: a%20b%25%E2%82%AC\nce-type: t\ncontent-type: text/plain\n",
			want: wireEvent{id: "1", source: "a b%€", topic: "t", contentType: "text/plain"}},
		{name: "binary, other spec version", header: "ce-specversion: 0.3\nce-id: 1\nce-source: s\nce-type: t\n", wantErr: `specversion "0.3"; want 1.0`},
		{name: "binary, no id", header: "ce-specversion: 1.0\nce-source: s\nce-type: t\n", wantErr: "no id"},
		{name: "binary, no source", header: "ce-specversion: 1.0\nce-id: 1\nce-type: t\n", wantErr: "no source"},
		{name: "binary, no type", header: "ce-specversion: 1.0\nce-id: 1\nce-source: s\n", wantErr: "no type"},
		{name: "binary, bad time", header: "ce-specversion: 1.0\nce-id: 1\nce-source: s\nce-type: t\nce-time: 1700000000\n", wantErr: `header ce-time "1700000000" is not an RFC 3339 time`},
		{name: "binary, bad escape", header: "ce-specversion: 1.0\nce-id: 1%zz\nce-source: s\nce-type: t\n", wantErr: "header ce-id: bad percent-encoding"},
		{name: "binary, upper-case keys are not attributes", header: "ce-specversion: 1.0\nCe-Id: 1\nce-source: s\nce-type: t\n", wantErr: "no id"},

		{name: "structured, as the SDK sends it", data: sdkStructured, header: "content-type: application/cloudevents+json; charset=utf-8\n",
			want: wireEvent{id: "42", source: "/billing", topic: "order.created", txID: "41", time: time.Date(2026, 12, 3, 14, 2, 11, 5e8, time.UTC),
				contentType: "application/json", data: []byte(`{"ID":"A-1","Cents":250}`)}},
		{name: "structured, no content-type header, no data", data: `{"specversion":"1.0","id":"1","source":"s","type":"t"}`,
			want: wireEvent{id: "1", source: "s", topic: "t"}},
		{name: "structured, data_base64", data: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/octet-stream","data_base64":"AAEC"}`,
			want: wireEvent{id: "1", source: "s", topic: "t", contentType: "application/octet-stream", data: []byte{0, 1, 2}}},
		{name: "structured, text data in a string", data: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain","data":"a \"b\""}`,
			want: wireEvent{id: "1", source: "s", topic: "t", contentType: "text/plain", data: []byte(`a "b"`)}},
		{name: "structured, JSON data in a string", data: `{"specversion":"1.0","id":"1","source":"s","type":"t","data":"ok"}`,
			want: wireEvent{id: "1", source: "s", topic: "t", data: []byte(`"ok"`)}},
		{name: "structured, both data forms", data: `{"specversion":"1.0","id":"1","source":"s","type":"t","data":1,"data_base64":"AA=="}`, wantErr: "both data and data_base64"},
		{name: "structured, bad base64", data: `{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"!"}`, wantErr: "data_base64"},
		{name: "structured, other spec version", data: `{"specversion":"0.3","id":"1","source":"s","type":"t"}`, wantErr: `specversion "0.3"; want 1.0`},
		{name: "structured, names are exact", data: `{"specversion":"1.0","ID":"1","source":"s","type":"t"}`, wantErr: "no id"},
		{name: "structured, attribute not a string", data: `{"specversion":"1.0","id":1,"source":"s","type":"t"}`, wantErr: "attribute id: 1 is not a string"},
		{name: "structured, bad time", data: `{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"}`, wantErr: `attribute time "yesterday" is not an RFC 3339 time`},
		{name: "not a CloudEvent: plain JSON content", header: "content-type: application/json\n", data: `{"ID":"A-1"}`, wantErr: "not a CloudEvent: no ce-specversion header, and content-type"},
		{name: "not a CloudEvent: no headers, not JSON", data: "garbage", wantErr: "the payload is not a JSON object"},
		{name: "not a CloudEvent: JSON null", data: "null", wantErr: "the payload is not a JSON object"},
		{name: "not a CloudEvent: an empty message", wantErr: "the payload is not a JSON object"},
		{name: "not a CloudEvent: the old Bus-* headers", header: "Bus-Id: 1\nBus-Source: a\nBus-Occurred-At: 1\n", data: `{}`, wantErr: "the payload has no specversion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data []byte
			if tt.data != "" {
				data = []byte(tt.data)
			}
			got, err := parseEvent(headers(tt.header), data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseEvent() error = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseEvent() error = %v", err)
			}
			if got.id != tt.want.id || got.source != tt.want.source || got.topic != tt.want.topic || got.txID != tt.want.txID ||
				!got.time.Equal(tt.want.time) || got.contentType != tt.want.contentType || string(got.data) != string(tt.want.data) {
				t.Errorf("parseEvent() = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0GqPjDlrD2Yk0001", "0GqPjDlrD2Yk0001"},
		{"order.created", "order.created"},
		{"a b", "a%20b"},
		{`say "hi" 100%`, "say%20%22hi%22%20100%25"},
		{"€", "%E2%82%AC"},
		{"line\r\nbreak", "line%0D%0Abreak"},
		{"", ""},
	}
	for _, tt := range tests {
		got := escape(tt.in)
		if got != tt.want {
			t.Errorf("escape(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if back, err := unescape(got); err != nil || back != tt.in {
			t.Errorf("unescape(%q) = %q, %v; want %q", got, back, err, tt.in)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = escape("0GqPjDlrD2Yk0001") }); n != 0 {
		t.Errorf("escape of a value that needs nothing allocates %v times", n)
	}
}

// FuzzParseEvent feeds parseEvent what any client allowed to publish on
// the stream could send: it must never panic, must return every attribute
// CloudEvents requires when it accepts a message, and must read back, the
// same, the attributes the bridge would write for what it accepted.
func FuzzParseEvent(f *testing.F) {
	f.Add(bridgeHeaders, []byte(`{"ID":"A-1"}`))
	f.Add("content-type: application/cloudevents+json\n", []byte(sdkStructured))
	f.Add("", []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AAEC"}`))
	f.Add("ce-specversion: 1.0\nce-id: a%20b\nce-source: s\nce-type: t\ncontent-type: text/plain\n", []byte("x"))
	f.Add("Bus-Id: 1\n", []byte("{}"))
	f.Fuzz(func(t *testing.T, header string, data []byte) {
		w, err := parseEvent(headers(header), data)
		if err != nil {
			return
		}
		if w.id == "" || w.source == "" || w.topic == "" {
			t.Fatalf("accepted without a required attribute: %+v", w)
		}
		h := map[string][]string{
			ceSpecVersion: {"1.0"}, ceID: {escape(w.id)}, ceSource: {escape(w.source)}, ceType: {escape(w.topic)},
			ceTxID: {escape(w.txID)}, ceDataContentType: {escape(w.contentType)},
		}
		if !w.time.IsZero() {
			h[ceTime] = []string{w.time.UTC().Format(time.RFC3339Nano)}
		}
		back, err := parseEvent(h, w.data)
		if err != nil {
			t.Fatalf("the bridge's headers for %+v do not parse: %v", w, err)
		}
		if back.id != w.id || back.source != w.source || back.topic != w.topic || back.txID != w.txID ||
			!back.time.Equal(w.time) || back.contentType != w.contentType || string(back.data) != string(w.data) {
			t.Fatalf("read back %+v; want %+v", back, w)
		}
	})
}

// BenchmarkParseEvent measures reading a message as the bridge publishes
// it, on the receiving path of every event.
func BenchmarkParseEvent(b *testing.B) {
	h, data := headers(bridgeHeaders), []byte(`{"ID":"A-1"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseEvent(h, data); err != nil {
			b.Fatal(err)
		}
	}
}
