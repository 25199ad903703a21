package apphash

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// The vector of docs/spec/apphash.md, also checkable with
// printf 'idOS app hash v2\x00\x00\x00\x00\x00\x00\x00\x07' + 32×01 + 32×02 + 32×03 | sha256sum.
func TestBlockVector(t *testing.T) {
	var prev, cs, root Hash
	copy(prev[:], bytes.Repeat([]byte{1}, 32))
	copy(cs[:], bytes.Repeat([]byte{2}, 32))
	copy(root[:], bytes.Repeat([]byte{3}, 32))
	got := Block(7, prev, cs, root)
	const want = "6871b7f351a3c9652f540da111c93e9dfef5a14d2ea5c595f987c4215d63d1ef"
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("app hash %x, want %s", got, want)
	}
	// Every field is bound: change any one and the hash changes.
	for i, h := range []Hash{Block(8, prev, cs, root), Block(7, cs, cs, root), Block(7, prev, prev, root), Block(7, prev, cs, cs)} {
		if h == got {
			t.Errorf("variant %d hashes the same", i)
		}
	}
}
