package busview

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCut: at most max bytes, ellipsis included, never inside a character.
func TestCut(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"short", "A-1", "A-1"},
		{"exactly max", strings.Repeat("x", 200), strings.Repeat("x", 200)},
		{"ASCII", strings.Repeat("x", 201), strings.Repeat("x", 197) + "…"},
		{"2-byte at the cut", strings.Repeat("x", 198) + "éé", strings.Repeat("x", 197) + "…"},
		{"2-byte across", strings.Repeat("x", 196) + "ééé", strings.Repeat("x", 196) + "…"},
		{"3-byte across the cut", strings.Repeat("x", 196) + "€€", strings.Repeat("x", 196) + "…"},
		{"3-byte across", strings.Repeat("x", 199) + "€€", strings.Repeat("x", 197) + "…"},
		{"3-byte fits", strings.Repeat("x", 194) + "€€€", strings.Repeat("x", 194) + "€…"},
		{"4-byte across", strings.Repeat("x", 195) + "😀😀", strings.Repeat("x", 195) + "…"},
		{"invalid", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cut(tt.in, 200)
			if got != tt.want || len(got) > 200 || !utf8.ValidString(got) {
				t.Errorf("cut = %q (%d bytes, valid %v); want %q", got, len(got), utf8.ValidString(got), tt.want)
			}
		})
	}
}
