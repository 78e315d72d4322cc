package natsbus

import (
	"regexp"
	"strings"
)

// filterSubjects returns the subjects a consumer can ask the server for so
// that it receives at least every topic receive matches, and as little else
// as the expression allows: the server then filters, and a node's traffic
// grows with the topics it wants, not with the stream. An anchored literal
// prefix ("^order\.") becomes "PREFIX.order.>", an anchored literal name
// ("^order\.created$") its own subject, and a top-level alternation of such
// branches one subject per branch. Anything else falls back to the whole
// stream, "PREFIX.>", and the bridge filters on the client.
func filterSubjects(prefix, receive string) []string {
	all := []string{prefix + ".>"}
	var subjects []string
	for _, branch := range splitAlternation(receive) {
		s, ok := branchSubject(prefix, branch)
		if !ok {
			return all
		}
		subjects = append(subjects, s)
	}
	if len(subjects) == 0 {
		return all
	}
	return subjects
}

// branchSubject returns the subject covering what one branch matches.
func branchSubject(prefix, branch string) (string, bool) {
	rest, anchored := strings.CutPrefix(branch, "^")
	if !anchored {
		return "", false
	}
	if lit, exact := strings.CutSuffix(rest, "$"); exact {
		if re, err := regexp.Compile("^" + lit + "$"); err == nil {
			if p, complete := re.LiteralPrefix(); complete && p != "" && checkSubject(p) == nil {
				return prefix + "." + p, true
			}
		}
	}
	re, err := regexp.Compile(rest)
	if err != nil {
		return "", false
	}
	p, _ := re.LiteralPrefix()
	// Only whole tokens can be filtered on: "order.cre" narrows to
	// "order.>", which also holds what the expression does not match.
	dot := strings.LastIndexByte(p, '.')
	if dot <= 0 || checkSubject(p[:dot]) != nil {
		return "", false
	}
	return prefix + "." + p[:dot] + ".>", true
}

// splitAlternation splits an expression at its top-level "|", outside
// groups, classes and escapes.
func splitAlternation(expr string) []string {
	var parts []string
	depth, start := 0, 0
	inClass := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\':
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			parts = append(parts, expr[start:i])
			start = i + 1
		}
	}
	return append(parts, expr[start:])
}
