package tx

import (
	"regexp"
	"strings"
	"testing"
)

// ValidActionName is the regexp the gateway used for query names, plus the
// envelope's 64-byte limit.
func TestValidActionName(t *testing.T) {
	re := regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	for i, s := range []string{
		"kv.put", "idos.get_credentials", "account", "a.b.c", "a1_", strings.Repeat("a", 64),
		"", strings.Repeat("a", 65), "Kv.put", "kv..put", ".kv", "kv.", "1kv", "kv._x", "kv.put\n", "kv put", "kv-put",
	} {
		want := len(s) <= 64 && re.MatchString(s)
		if got := ValidActionName(s); got != want {
			t.Errorf("#%d ValidActionName(%q) = %v, want %v", i, s, got, want)
		}
	}
}
