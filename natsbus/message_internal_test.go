package natsbus

import (
	"regexp"
	"strings"
	"testing"
)

// TestJudge runs the receiver's rules for a message, without a server.
func TestJudge(t *testing.T) {
	br := &Bridge{cfg: Config{Prefix: "bus", Publish: `^order\.`}, publishRE: regexp.MustCompile(`^order\.`),
		receiveRE: regexp.MustCompile(`^(order|invoice)\.`), ids: &msgIDs{secret: []byte("0123456789abcdef0123456789abcdef")}, contentType: "application/json"}
	own := string(br.ids.append(nil, "e1"))
	event := func(id, topic string, extra ...string) map[string][]string {
		h := map[string][]string{"ce-specversion": {"1.0"}, "ce-id": {id}, "ce-source": {"other"}, "ce-type": {topic}}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = []string{extra[i+1]}
		}
		return h
	}
	tests := []struct {
		name    string
		subject string
		header  map[string][]string
		want    verdict
		wantErr string
	}{
		{"another node's event", "bus.order.created", event("e1", "order.created"), admit, ""},
		{"a topic received but not published", "bus.invoice.sent", event("e1", "invoice.sent", "Nats-Msg-Id", own), admit, ""},
		{"own event, by its MAC", "bus.order.created", event("e1", "order.created", "Nats-Msg-Id", own), ownEvent, ""},
		{"a MAC for another ID is not own", "bus.order.created", event("e2", "order.created", "Nats-Msg-Id", own), admit, ""},
		{"not asked for", "bus.audit.noted", event("e1", "audit.noted"), notAsked, ""},
		{"type of another topic", "bus.invoice.sent", event("e1", "order.created"), refuse, `event e1 has type "order.created", not the subject's topic`},
		{"type of a topic not received", "bus.audit.noted", event("e1", "order.created"), refuse, "not the subject's topic"},
		{"not a CloudEvent", "bus.order.created", map[string][]string{"Bus-Id": {"e1"}}, refuse, "not a CloudEvent"},
		{"foreign content type", "bus.order.created", event("e1", "order.created", "ce-datacontenttype", "text/plain"), refuse, `datacontenttype "text/plain"; the codec decodes application/json`},
		{"content type with parameters", "bus.order.created", event("e1", "order.created", "ce-datacontenttype", "application/JSON; charset=utf-8"), admit, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, v, err := br.judge(tt.subject, tt.header, []byte(`{}`))
			if v != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("judge() = %v, %v; want %v, an error saying %q", v, err, tt.want, tt.wantErr)
			}
			if v == admit && w.topic != strings.TrimPrefix(tt.subject, "bus.") {
				t.Errorf("judge() admitted topic %q from subject %s", w.topic, tt.subject)
			}
		})
	}
}
