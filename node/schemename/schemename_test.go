package schemename

import (
	"regexp"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{"ed25519", true},
		{"eip191_wasm", true},
		{"_", true},
		{"0", true},
		{strings.Repeat("a", MaxLen), true},
		{"", false},                            // empty
		{strings.Repeat("a", MaxLen+1), false}, // too long
		{"Eip191", false},                      // upper case
		{"eip-191", false},                     // dash
		{"eip.191", false},                     // dot
		{"eip191 ", false},                     // space
		{"é", false},                           // non-ASCII
		{"a:b", false},                         // the account id separator
		{"a\x00", false},                       // NUL
		{strings.Repeat("a", MaxLen) + "\n", false}, // a regexp's $ would accept a final newline only in multiline mode; we never do
	}
	re := regexp.MustCompile(Rule)
	for i, c := range cases {
		if got := Valid(c.name); got != c.want {
			t.Errorf("#%d Valid(%q) = %v, want %v", i, c.name, got, c.want)
		}
		if got := re.MatchString(c.name); got != c.want {
			t.Errorf("#%d Rule %s on %q = %v, want %v", i, Rule, c.name, got, c.want)
		}
	}
}
