package idos

import (
	"regexp"
	"strings"
	"testing"
)

// checkAccountID accepts exactly what the single regexp it replaced
// accepted (a consensus rule: genesis inserters, delegates, grantees).
func TestCheckAccountIDMatchesRegexp(t *testing.T) {
	old := regexp.MustCompile(`^[a-z0-9_]{1,32}:[^\s:]{1,128}$`)
	long := strings.Repeat("x", 128)
	for i, s := range []string{
		"ed25519:abc", "eip191:0xAbC", "a:" + long, "a:" + long + "x", strings.Repeat("a", 32) + ":x",
		strings.Repeat("a", 33) + ":x", ":x", "a:", "a", "a:b:c", "A:b", "a-b:c", "a:b c", "a:b\n", "a:b\t",
		"a:" + strings.Repeat("é", 128), "a:" + strings.Repeat("é", 129), "a:\xff", "a:b\x00", " a:b", "a::b",
	} {
		want := old.MatchString(s)
		if got := checkAccountID("f", s) == nil; got != want {
			t.Errorf("#%d %q: accepted %v, the old rule %v", i, s, got, want)
		}
	}
}
