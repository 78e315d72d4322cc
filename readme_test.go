package bus_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestREADMESnippetsCompile: every Go snippet of the README stands, line
// for line, in a Go file of this repository, whose module's tests compile
// it (and run it, in an example). So a snippet cannot drift from the API
// or use names it never defines. Indentation and runs of spaces do not
// count; every other character does.
func TestREADMESnippetsCompile(t *testing.T) {
	snippets := goSnippets(t, "README.md")
	if len(snippets) == 0 {
		t.Fatal("no Go snippets in README.md")
	}
	var sources [][]string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sources = append(sources, normalize(strings.Split(string(b), "\n")))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snippets {
		if !slices.ContainsFunc(sources, func(src []string) bool { return contains(src, s.lines) }) {
			t.Errorf("README.md:%d: the snippet is in no Go file of the repository; put it in an example or a test:\n%s", s.line, strings.Join(s.lines, "\n"))
		}
	}
}

type snippet struct {
	line  int // of the opening fence
	lines []string
}

// goSnippets returns the fenced Go blocks of a Markdown file, normalized.
func goSnippets(t *testing.T, path string) []snippet {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []snippet
	var cur *snippet
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &snippet{line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.lines = normalize(cur.lines)
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// normalize drops blank lines and indentation, and folds runs of spaces.
func normalize(lines []string) []string {
	var out []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

// contains reports whether part is a run of consecutive lines of whole.
func contains(whole, part []string) bool {
	for i := 0; i+len(part) <= len(whole); i++ {
		if slices.Equal(whole[i:i+len(part)], part) {
			return true
		}
	}
	return false
}
