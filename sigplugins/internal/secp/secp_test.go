package secp

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

func TestConstants(t *testing.T) {
	curveN := crypto.S256().Params().N
	if new(big.Int).SetBytes(n).Cmp(curveN) != 0 {
		t.Fatalf("n = %x, want %x", n, curveN)
	}
	if new(big.Int).SetBytes(halfN).Cmp(new(big.Int).Rsh(curveN, 1)) != 0 {
		t.Fatalf("halfN = %x", halfN)
	}
}

func TestCanonicalRS(t *testing.T) {
	curveN := crypto.S256().Params().N
	half := new(big.Int).Rsh(curveN, 1)
	rs := func(r, s *big.Int) []byte {
		b := make([]byte, 64)
		r.FillBytes(b[:32])
		s.FillBytes(b[32:])
		return b
	}
	one := big.NewInt(1)
	for _, c := range []struct {
		name string
		r, s *big.Int
		want bool
	}{
		{"r=1 s=1", one, one, true},
		{"s = n/2", one, half, true},
		{"s = n/2+1", one, new(big.Int).Add(half, one), false},
		{"r = n-1", new(big.Int).Sub(curveN, one), one, true},
		{"r = n", curveN, one, false},
		{"r = 0", new(big.Int), one, false},
		{"s = 0", one, new(big.Int), false},
	} {
		if got := CanonicalRS(rs(c.r, c.s)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCompress(t *testing.T) {
	for range 8 {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		got := Compress(crypto.FromECDSAPub(&key.PublicKey))
		if want := crypto.CompressPubkey(&key.PublicKey); string(got) != string(want) {
			t.Fatalf("Compress = %x, want %x", got, want)
		}
	}
}
