package valclient

import (
	"strings"
	"testing"
)

// Account ids are sent as the node authenticates them: an eip191 address
// in any case becomes its EIP-55 form; other schemes pass as written.
func TestParseAccountID(t *testing.T) {
	for i, c := range []struct{ in, want string }{
		{"eip191:0x2c7536e3605d9c16a7a3d7b1898e529396a65c23", "eip191:0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},                                                              // 0: lowercase
		{"eip191:0x2C7536E3605D9C16A7A3D7B1898E529396A65C23", "eip191:0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},                                                              // 1: uppercase
		{"ed25519:" + "ab" + "00000000000000000000000000000000000000000000000000000000000000", "ed25519:ab" + "00000000000000000000000000000000000000000000000000000000000000"}, // 2
		{"solana:9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin", "solana:9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"},                                                          // 3: a plugin scheme
		{"0x2c7536e3605d9c16a7a3d7b1898e529396a65c23", ""},                                                                                                                      // 4: no scheme
		{"eip191:2c7536e3605d9c16a7a3d7b1898e529396a65c23", ""},                                                                                                                 // 5: no 0x
		{"eip191:0x2c75", ""}, // 6: short
		{"ed25519:", ""},      // 7: empty identifier
		{"ed25519:AB" + strings.Repeat("0", 62), "ed25519:ab" + strings.Repeat("0", 62)}, // 8: uppercase hex
		{"ed25519:abcd", ""}, // 9: short key
	} {
		got, err := ParseAccountID(c.in)
		if (err != nil) != (c.want == "") || got != c.want {
			t.Errorf("%d: ParseAccountID(%q) = %q, %v; want %q", i, c.in, got, err, c.want)
		}
	}
}
