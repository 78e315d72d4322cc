package natsbus

import (
	"regexp"
	"slices"
	"testing"
)

func TestFilterSubjects(t *testing.T) {
	tests := []struct {
		receive string
		want    []string
	}{
		{`^order\.`, []string{"bus.order.>"}},
		{`^order\.created$`, []string{"bus.order.created"}},
		{`^order\.cre`, []string{"bus.order.>"}},
		{`^order\.|^invoice\.paid$`, []string{"bus.order.>", "bus.invoice.paid"}},
		{`^(order|invoice)\.`, []string{"bus.>"}},
		{`order`, []string{"bus.>"}},
		{`^order`, []string{"bus.>"}},
		{`.*`, []string{"bus.>"}},
		{`^a\.b|c`, []string{"bus.>"}},
		{`^[a|b]\.x`, []string{"bus.>"}},
	}
	for _, tt := range tests {
		if got := filterSubjects("bus", tt.receive); !slices.Equal(got, tt.want) {
			t.Errorf("filterSubjects(%q) = %q; want %q", tt.receive, got, tt.want)
		}
	}
}

// TestFilterSubjectsCoverTheMatcher checks, over sample topics, that the
// filter never leaves out a topic the matcher matches.
func TestFilterSubjectsCoverTheMatcher(t *testing.T) {
	topics := []string{"order.created", "order.created.v2", "order.createdX", "order", "invoice.paid", "invoice.paid.x", "reorder.created", "a.b", "c"}
	for _, receive := range []string{`^order\.`, `^order\.created$`, `^order\.cre`, `^order\.|^invoice\.paid$`, `^a\.b|c`, `^invoice\.paid`} {
		re := regexp.MustCompile(receive)
		filters := filterSubjects("bus", receive)
		for _, topic := range topics {
			if re.MatchString(topic) && !slices.ContainsFunc(filters, func(f string) bool { return subjectMatches(f, "bus."+topic) }) {
				t.Errorf("receive %q matches %q, but the filters %q leave it out", receive, topic, filters)
			}
		}
	}
}

// subjectMatches is NATS subject matching, for the test.
func subjectMatches(filter, subject string) bool {
	f, s := splitTokens(filter), splitTokens(subject)
	for i, tok := range f {
		switch {
		case tok == ">":
			return len(s) > i
		case i >= len(s):
			return false
		case tok != "*" && tok != s[i]:
			return false
		}
	}
	return len(f) == len(s)
}

func splitTokens(s string) []string { return regexp.MustCompile(`\.`).Split(s, -1) }
