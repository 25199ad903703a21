// Package schemename is the one rule for signature scheme names: the
// transaction envelope's scheme field (docs/spec/transactions.md), the
// auth registry's keys, plugin metadata, plugin proposals and account ids
// ("scheme:identifier") all follow it.
//
// It imports nothing, so Wasm guests (GOOS=wasip1, sdk-wasm) use the same
// code as the node without growing.
package schemename

// MaxLen is the longest scheme name, in bytes.
const MaxLen = 32

// Rule is the rule as a regular expression, for messages.
const Rule = "^[a-z0-9_]{1,32}$"

// Valid reports whether s is a scheme name: 1 to MaxLen bytes, each a-z,
// 0-9 or _.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
