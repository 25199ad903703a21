package strkey

import (
	"encoding/hex"
	"testing"
)

// TestSEP23 encodes the binary keys of SEP-23's valid test cases
// (stellar-protocol ecosystem/sep-0023.md v1.3.0) that are a version byte
// and a plain payload: account id, muxed account (key || big-endian id),
// contract, liquidity pool and claimable balance (type byte 0 || hash).
func TestSEP23(t *testing.T) {
	key := "3f0c34bf93ad0d9971d04ccc90f705511c838aad9734a4a2fb0d7a03fc7fe89a"
	for _, c := range []struct {
		name    string
		version byte
		payload string
		want    string
	}{
		{"account id", 6 << 3, key, "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"},
		{"muxed, id 0", 12 << 3, key + "0000000000000000", "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ"},
		{"muxed, id 2^63", 12 << 3, key + "8000000000000000", "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAJLK"},
		{"contract", 2 << 3, key, "CA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUWDA"},
		{"liquidity pool", 11 << 3, key, "LA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUPJN"},
		{"claimable balance", 1 << 3, "00" + key, "BAAD6DBUX6J22DMZOHIEZTEQ64CVCHEDRKWZONFEUL5Q26QD7R76RGR4TU"},
	} {
		p, err := hex.DecodeString(c.payload)
		if err != nil {
			t.Fatal(err)
		}
		if got := Encode(c.version, p); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	k, _ := hex.DecodeString(key)
	if got := AccountID(k); got != "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ" {
		t.Errorf("AccountID = %s", got)
	}
}

// TestCRC16XModem: the standard check value of CRC-16/XMODEM ("123456789"
// gives 0x31C3, the CRC catalogue's check) and the empty input.
func TestCRC16XModem(t *testing.T) {
	if got := CRC16XModem([]byte("123456789")); got != 0x31c3 {
		t.Errorf("check = %#04x, want 0x31c3", got)
	}
	if got := CRC16XModem(nil); got != 0 {
		t.Errorf("empty = %#04x", got)
	}
}
