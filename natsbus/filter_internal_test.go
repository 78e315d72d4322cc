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
		{`^(order|invoice)\.`, []string{"bus.order.>", "bus.invoice.>"}},
		{`^order\.(created|paid)$`, []string{"bus.order.created", "bus.order.paid"}},
		{`^order\.created$|^order\.paid$`, []string{"bus.order.created", "bus.order.paid"}},
		{`^(?:order\.created|invoice\.)`, []string{"bus.order.>", "bus.invoice.>"}}, // "order.created" begins "order.createdX" too
		{`^order\.|^order\.created$`, []string{"bus.order.>"}},
		{`^order\.created(\.v2)?$`, []string{"bus.order.created.v2", "bus.order.created"}},
		{`^\Qorder.\E`, []string{"bus.order.>"}},
		{`(?i)^order\.`, []string{"bus.>"}},
		{`^order\.\w+$`, []string{"bus.order.>"}},
		{`^order\.*`, []string{"bus.>"}},
		{`^order\.created$x`, []string{"bus.order.>"}}, // matches nothing; any filter holds it
		{`^a\.b$|^a\.c$|^a\.d$|^a\.e$|^a\.f$|^a\.g$|^a\.h$|^a\.i$|^a\.j$|^a\.k$|^a\.l$|^a\.m$|^a\.n$|^a\.o$|^a\.p$|^a\.q$|^a\.r$`, []string{"bus.>"}},
		{`(`, []string{"bus.>"}},
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
	for _, receive := range []string{`^order\.`, `^order\.created$`, `^order\.cre`, `^order\.|^invoice\.paid$`, `^a\.b|c`, `^invoice\.paid`,
		`^(order|invoice)\.`, `^order\.(created|paid)$`, `^(?:order\.created|invoice\.)`, `^order\.created(\.v2)?$`, `^order\.\w+$`} {
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

// FuzzFilterSubjects: whatever the expression, the server-side filters
// never leave out a topic it matches, and never overlap.
func FuzzFilterSubjects(f *testing.F) {
	for _, seed := range [][2]string{
		{`^order\.`, "order.created"}, {`^(order|invoice)\.`, "invoice.paid"}, {`^order\.created(\.v2)?$`, "order.created.v2"},
		{`^order\.|^order\.created$`, "order.created"}, {`(?i)^order\.`, "ORDER.x"}, {`^a\.b|c`, "c"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, receive, topic string) {
		re, err := regexp.Compile(receive)
		if err != nil {
			return
		}
		filters := filterSubjects("bus", receive)
		for _, a := range filters {
			for _, b := range filters {
				if a != b && covers(a, b) {
					t.Fatalf("filterSubjects(%q) = %q: %s overlaps %s", receive, filters, a, b)
				}
			}
		}
		if checkSubject(topic) != nil || !re.MatchString(topic) {
			return
		}
		if !slices.ContainsFunc(filters, func(f string) bool { return subjectMatches(f, "bus."+topic) }) {
			t.Fatalf("receive %q matches %q, but the filters %q leave it out", receive, topic, filters)
		}
	})
}
