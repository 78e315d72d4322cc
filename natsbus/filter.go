package natsbus

import (
	"regexp/syntax"
	"slices"
	"strings"
)

// filterSubjects returns the subjects a consumer can ask the server for so
// that it receives at least every topic receive matches, and as little else
// as the expression allows: the server then filters, and a node's traffic
// grows with the topics it wants, not with the stream. Each way the
// expression can begin, read from its syntax tree, must be anchored and
// literal: "^order\." becomes "PREFIX.order.>", "^order\.created$" its own
// subject, and alternations ("^(order|invoice)\.", "^a\.x$|^b\.") one
// subject per branch. Anything else falls back to the whole stream,
// "PREFIX.>", and the bridge filters on the client.
func filterSubjects(prefix, receive string) []string {
	all := []string{prefix + ".>"}
	re, err := syntax.Parse(receive, syntax.Perl)
	if err != nil {
		return all
	}
	starts, ok := beginnings([]*syntax.Regexp{re}, "", false)
	if !ok || len(starts) == 0 {
		return all
	}
	var subjects []string
	for _, s := range starts {
		subject, ok := s.subject(prefix)
		if !ok {
			return all
		}
		if !slices.Contains(subjects, subject) {
			subjects = append(subjects, subject)
		}
	}
	// The server refuses filters that overlap: keep the widest.
	return slices.DeleteFunc(subjects, func(s string) bool {
		return slices.ContainsFunc(subjects, func(wider string) bool { return wider != s && covers(wider, s) })
	})
}

// beginning is one way a match can begin: with lit, anchored at the start
// of the topic; exact if the match is lit and nothing more.
type beginning struct {
	lit      string
	anchored bool
	exact    bool
}

// maxBeginnings bounds the branches an expression is read into; one with
// more is filtered on the client.
const maxBeginnings = 16

// beginnings reads the ways a match of the concatenation seq can begin,
// given the literal lit already read before it (and whether it is
// anchored). It reports false for an expression it cannot read.
func beginnings(seq []*syntax.Regexp, lit string, anchored bool) ([]beginning, bool) {
	for i, re := range seq {
		rest := seq[i+1:]
		switch re.Op {
		case syntax.OpBeginText:
			if lit != "" {
				return nil, false // a "^" after text matches nothing; leave it to the client
			}
			anchored = true
		case syntax.OpLiteral:
			if re.Flags&syntax.FoldCase != 0 {
				return []beginning{{lit, anchored, false}}, true
			}
			lit += string(re.Rune)
		case syntax.OpEmptyMatch:
		case syntax.OpEndText:
			return []beginning{{lit, anchored, len(rest) == 0}}, true
		case syntax.OpConcat:
			return beginnings(append(slices.Clip(re.Sub), rest...), lit, anchored)
		case syntax.OpCapture:
			return beginnings(append([]*syntax.Regexp{re.Sub[0]}, rest...), lit, anchored)
		case syntax.OpAlternate, syntax.OpQuest: // x? is x|
			alts := re.Sub
			if re.Op == syntax.OpQuest {
				alts = []*syntax.Regexp{re.Sub[0], {Op: syntax.OpEmptyMatch}}
			}
			var all []beginning
			for _, alt := range alts {
				bs, ok := beginnings(append([]*syntax.Regexp{alt}, rest...), lit, anchored)
				if !ok || len(all)+len(bs) > maxBeginnings {
					return nil, false
				}
				all = append(all, bs...)
			}
			return all, true
		default: // a class, a repetition, any character: the literal ends here
			return []beginning{{lit, anchored, false}}, true
		}
	}
	return []beginning{{lit, anchored, false}}, true
}

// subject returns the subject that holds every topic b begins.
func (b beginning) subject(prefix string) (string, bool) {
	if !b.anchored {
		return "", false
	}
	if b.exact {
		if b.lit != "" && checkSubject(b.lit) == nil {
			return prefix + "." + b.lit, true
		}
		return "", false
	}
	// Only whole tokens can be filtered on: "order.cre" narrows to
	// "order.>", which also holds what the expression does not match.
	dot := strings.LastIndexByte(b.lit, '.')
	if dot <= 0 || checkSubject(b.lit[:dot]) != nil {
		return "", false
	}
	return prefix + "." + b.lit[:dot] + ".>", true
}

// covers reports whether filter wider, ending in ">", holds every subject
// that filter s holds.
func covers(wider, s string) bool {
	base, ok := strings.CutSuffix(wider, ">")
	return ok && strings.HasPrefix(s, base) && len(s) > len(base)
}
