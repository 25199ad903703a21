package bech32

import (
	"errors"
	"strings"
	"testing"
)

// Valid checksums from BIP-173 and BIP-350 ("Test vectors").
var valid = []struct {
	s string
	v Variant
}{
	{"A12UEL5L", Bech32},
	{"a12uel5l", Bech32},
	{"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs", Bech32},
	{"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", Bech32},
	{"11" + strings.Repeat("q", 82) + "c8247j", Bech32},
	{"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", Bech32},
	{"?1ezyfcl", Bech32},
	{"A1LQFN3A", Bech32m},
	{"a1lqfn3a", Bech32m},
	{"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx", Bech32m},
	{"split1checkupstagehandshakeupstreamerranterredcaperredlc445v", Bech32m},
	{"?1v759aa", Bech32m},
}

// Invalid strings from BIP-173 and BIP-350 (both checksums fail or the
// string breaks a rule).
var invalid = []string{
	"\x201nwldj5",   // HRP character out of range
	"\x7f1axkwrx",   // HRP character out of range
	"\x801eym55h",   // HRP character out of range
	"pzry9x0s0muk",  // no separator
	"1pzry9x0s0muk", // empty HRP
	"x1b4n0q5v",     // invalid data character
	"li1dgmt3",      // too short checksum
	"de1lg7wt\xff",  // invalid character in checksum
	"A1G7SGD8",      // checksum calculated with uppercase HRP
	"10a06t8",       // empty HRP
	"1qzzfhee",      // empty HRP
	"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", // too long
	"A12uEL5L",     // mixed case
	"M1VUXWEZ",     // Bech32m checksum calculated with uppercase HRP
	"qyrz8wqd2c9m", // no separator
	"y1b0jsk6g",    // invalid data character
	"lt1igcx5c0",   // invalid data character
	"in1muywd",     // too short checksum
	"mm1crxm3i",    // invalid character in checksum
	"au1s5cgom",    // invalid character in checksum
}

func TestDecodeValid(t *testing.T) {
	for _, c := range valid {
		hrp, data, v, err := Decode(c.s)
		if err != nil || v != c.v {
			t.Errorf("Decode(%q) = %v, %v; want variant %v", c.s, v, err, c.v)
			continue
		}
		if got := Encode(hrp, data, v); got != strings.ToLower(c.s) {
			t.Errorf("Encode(Decode(%q)) = %q", c.s, got)
		}
		// One flipped character breaks the checksum.
		b := []byte(strings.ToLower(c.s))
		i := len(b) - 1
		b[i] = charset[(strings.IndexByte(charset, b[i])+1)%32]
		if _, _, _, err := Decode(string(b)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) with a changed last character: %v", c.s, err)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	for _, s := range invalid {
		if _, _, _, err := Decode(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

// TestSegwitAddress decodes BIP-173's P2WPKH example
// (BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4 = 0014751e76e8199196d454941c45d1b3a323f1433bd6).
func TestSegwitAddress(t *testing.T) {
	hrp, data, v, err := Decode("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
	if err != nil || hrp != "bc" || v != Bech32 || data[0] != 0 {
		t.Fatalf("Decode = %q %v %v", hrp, v, err)
	}
	prog, err := ConvertBits(data[1:], 5, 8, false)
	if err != nil || string(prog) != "\x75\x1e\x76\xe8\x19\x91\x96\xd4\x54\x94\x1c\x45\xd1\xb3\xa3\x23\xf1\x43\x3b\xd6" {
		t.Fatalf("program = %x, %v", prog, err)
	}
	d5, err := ConvertBits(prog, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := Encode("bc", append([]byte{0}, d5...), Bech32); got != "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4" {
		t.Fatalf("Encode = %q", got)
	}
	// Non-zero padding bits are refused (BIP-173: "any incomplete group at the end ... must be all zeroes").
	if _, err := ConvertBits([]byte{31}, 5, 8, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ConvertBits with non-zero padding: %v", err)
	}
	if _, err := ConvertBits([]byte{32}, 5, 8, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ConvertBits with a 6-bit value: %v", err)
	}
}
