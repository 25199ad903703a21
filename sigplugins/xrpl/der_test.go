//go:build !wasip1

package main

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/ethereum/go-ethereum/crypto"
)

// referenceDER is parseDER's rule set built from an independent strict DER
// parser: decred's ecdsa.ParseDERSignature (minimal DER, 1 <= r, s < n)
// plus the low-S rule.
func referenceDER(sig []byte) ([]byte, bool) {
	s, err := ecdsa.ParseDERSignature(sig)
	if err != nil {
		return nil, false
	}
	r, ss := s.R(), s.S()
	if ss.IsOverHalfOrder() {
		return nil, false
	}
	var out [64]byte
	r.PutBytesUnchecked(out[:32])
	ss.PutBytesUnchecked(out[32:])
	return out[:], true
}

func checkDER(t *testing.T, sig []byte) {
	got, err := parseDER(sig)
	want, ok := referenceDER(sig)
	if (err == nil) != ok || (ok && !bytes.Equal(got, want)) {
		t.Fatalf("parseDER(%x) = %x, %v; reference %x, %v", sig, got, err, want, ok)
	}
}

// derSeeds are DER signatures of both S halves and with padded r and s.
func derSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		h := sha512Half([]byte{byte(i)})
		rsv, err := crypto.Sign(h[:], key)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, derSig(rsv[:64]))
	}
	return seeds
}

// TestParseDERDifferential mutates valid signatures (byte changes,
// insertions, deletions, length bytes, truncation) and requires parseDER
// to agree with the reference on every input.
func TestParseDERDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, seed := range derSeeds(t) {
		checkDER(t, seed)
		for range 2000 {
			m := bytes.Clone(seed)
			for range 1 + rng.IntN(3) {
				switch i := rng.IntN(len(m) + 1); rng.IntN(5) {
				case 0: // change a byte
					if i < len(m) {
						m[i] = byte(rng.IntN(256))
					}
				case 1: // insert a byte, 0x00 or 0xff half the time
					b := []byte{byte(rng.IntN(256))}
					if rng.IntN(2) == 0 {
						b[0] = []byte{0x00, 0xff}[rng.IntN(2)]
					}
					m = append(m[:i], append(b, m[i:]...)...)
				case 2: // delete a byte
					if i < len(m) {
						m = append(m[:i], m[i+1:]...)
					}
				case 3: // bump a length byte
					for _, j := range []int{1, 3} {
						if j < len(m) && rng.IntN(2) == 0 {
							m[j] += byte(rng.IntN(3)) - 1
						}
					}
				case 4: // truncate
					m = m[:i]
				}
			}
			checkDER(t, m)
		}
	}
}

// FuzzParseDER runs the same comparison on fuzzer input.
func FuzzParseDER(f *testing.F) {
	for _, s := range derSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sig []byte) { checkDER(t, sig) })
}
