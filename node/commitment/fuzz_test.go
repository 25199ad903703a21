package commitment

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"testing"
)

var (
	fuzzOnce sync.Once
	fuzzFix  *fixture
)

// FuzzVerify feeds arbitrary proof bytes, keys and prefixes to the decoder
// and the three verifiers against a real root. Nothing may panic, decoding
// must be canonical, and a proof may verify only a true claim: a membership
// only for the present value, a non-membership only for an absent key, an
// empty range only where the reference has no entries, and a range never
// with one true entry dropped or a false one added.
func FuzzVerify(f *testing.F) {
	fuzzOnce.Do(func() { fuzzFix = newFixture(f) })
	fx := fuzzFix
	for _, k := range []string{"user/alice/2", "user/alice/9", "user/alice", "", "\x00"} {
		p, _, _, err := fx.cur.Prove([]byte(k))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Encode(), []byte(k), []byte(k))
	}
	for _, pfx := range []string{"user/alice/", "user/", "user/dave/", ""} {
		_, p, err := fx.cur.ProveRange([]byte(pfx))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Encode(), []byte(pfx+"1"), []byte(pfx))
	}
	f.Add([]byte{1, 0, 0, 0, 0, 0}, []byte("a"), []byte{})
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0, 3}, []byte{0xFF}, []byte{0})
	f.Add([]byte{}, []byte{}, []byte{})

	f.Fuzz(func(t *testing.T, data, key, prefix []byte) {
		p, err := DecodeProof(data)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Encode(), data) {
			t.Fatalf("non-canonical encoding accepted: %x", data)
		}
		root, m := fx.root, fx.m
		vh, present := m[string(key)]
		if !present {
			vh = sha256.Sum256(key)
		}
		if VerifyMembership(root, key, vh, p) == nil && !present {
			t.Fatalf("membership of absent key %x verified", key)
		}
		if present {
			forged := vh
			forged[0] ^= 1
			if VerifyMembership(root, key, forged, p) == nil {
				t.Fatalf("membership of %x with a forged value verified", key)
			}
		}
		if VerifyNonMembership(root, key, p) == nil && present {
			t.Fatalf("non-membership of present key %x verified", key)
		}
		truth := m.withPrefix(prefix)
		if VerifyRange(root, prefix, nil, p) == nil && len(truth) > 0 {
			t.Fatalf("range %x verified empty, has %d entries", prefix, len(truth))
		}
		if len(truth) > 0 {
			for i := range truth {
				dropped := append(append([]Entry{}, truth[:i]...), truth[i+1:]...)
				if VerifyRange(root, prefix, dropped, p) == nil {
					t.Fatalf("range %x verified with entry %d dropped", prefix, i)
				}
				if i > 3 {
					break
				}
			}
		}
		added := append(append([]Entry{}, truth...), Entry{Key: append(bytes.Clone(prefix), 0xFF, 0xFF, 0xFF, 0xFF)})
		if VerifyRange(root, prefix, added, p) == nil {
			t.Fatalf("range %x verified with an entry added", prefix)
		}
	})
}

// FuzzVerifyPage feeds arbitrary page proofs, with a page of the real
// range (from a start index, of a length) or that page with one entry
// dropped, to VerifyPage against a real root. Nothing may panic, and an
// accepted page must be a contiguous run of the true range whose before
// and after flags are true.
func FuzzVerifyPage(f *testing.F) {
	fuzzOnce.Do(func() { fuzzFix = newFixture(f) })
	fx := fuzzFix
	for _, pfx := range []string{"user/alice/", "user/", ""} {
		for _, from := range []string{"", pfx + "3"} {
			var fk []byte
			if from != "" {
				fk = []byte(from)
			}
			_, p, _, err := fx.cur.ProvePage([]byte(pfx), fk, 3)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(p.Encode(), []byte(pfx), uint8(0), uint8(3), false)
		}
	}
	f.Add([]byte{0, 0, 0, 0}, []byte{}, uint8(0), uint8(1), true)

	f.Fuzz(func(t *testing.T, data, prefix []byte, start, n uint8, drop bool) {
		p, err := DecodePageProof(data)
		if err != nil {
			return
		}
		truth := fx.m.withPrefix(prefix)
		lo := int(start)
		hi := min(lo+int(n), len(truth))
		if lo >= hi {
			return
		}
		claim := append([]Entry{}, truth[lo:hi]...)
		if drop && len(claim) > 2 {
			claim = append(claim[:1], claim[2:]...)
		}
		before, after, err := VerifyPage(fx.root, prefix, claim, p)
		if err != nil {
			return
		}
		if drop && hi-lo > 2 {
			t.Fatalf("page of %x verified with an inner entry dropped", prefix)
		}
		if before != (lo > 0) || after != (hi < len(truth)) {
			t.Fatalf("page [%d,%d) of %d under %x: before %v after %v", lo, hi, len(truth), prefix, before, after)
		}
	})
}
