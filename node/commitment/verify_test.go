package commitment

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// fixture is a trie of 500 random keys plus a handful of known ones, and
// the version after one more update.
type fixture struct {
	cur, next *Trie
	root      Hash
	other     Hash // the root after one more update
	m         ref
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	r := rand.New(rand.NewPCG(42, 42))
	m := ref{}
	for range 500 {
		m[string(randKey(r))] = randHash(r)
	}
	for _, k := range []string{"user/alice/1", "user/alice/2", "user/alice/3", "user/bob/1", "user/alice"} {
		m[k] = randHash(r)
	}
	f := &fixture{m: m}
	var ups []Update
	for _, e := range m.sorted() {
		ups = append(ups, Put(e.Key, e.ValueHash))
	}
	var err error
	if f.cur, err = Empty().Apply(ups); err != nil {
		t.Fatal(err)
	}
	if f.next, err = f.cur.Apply([]Update{Put([]byte("user/carol/1"), Hash{9})}); err != nil {
		t.Fatal(err)
	}
	f.root, f.other = f.cur.Root(), f.next.Root()
	return f
}

// at returns the version with the given root.
func (f *fixture) at(t testing.TB, root Hash) *Trie {
	t.Helper()
	switch root {
	case f.root:
		return f.cur
	case f.other:
		return f.next
	}
	t.Fatalf("fixture has no version with root %x", root)
	return nil
}

func (f *fixture) prove(t testing.TB, root Hash, key string) (Proof, Hash) {
	t.Helper()
	p, vh, _, err := f.at(t, root).Prove([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return p, vh
}

func (f *fixture) proveRange(t testing.TB, root Hash, prefix string) ([]Entry, Proof) {
	t.Helper()
	es, p, err := f.at(t, root).ProveRange([]byte(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return es, p
}

func cloneProof(p Proof) Proof {
	p.Steps = slices.Clone(p.Steps)
	p.Leaf.Key = bytes.Clone(p.Leaf.Key)
	return p
}

// TestLies: each way of lying with a proof is caught, with its error class.
func TestLies(t *testing.T) {
	f := newFixture(t)
	const key, absent = "user/alice/2", "user/alice/9"
	memb, vh := f.prove(t, f.root, key)
	nonMemb, _ := f.prove(t, f.root, absent)
	all, rangeP := f.proveRange(t, f.root, "user/alice/")
	if len(all) != 3 || len(memb.Steps) == 0 {
		t.Fatalf("fixture: %d entries, %d steps", len(all), len(memb.Steps))
	}
	// A non-membership proof whose search ends at the present key: the
	// proof for key+"\x00" ends at key's leaf.
	endsAtKey, _ := f.prove(t, f.root, key+"\x00")
	if endsAtKey.Terminal != TerminalLeaf || string(endsAtKey.Leaf.Key) != key {
		t.Fatalf("fixture: search for key+00 ends at %q", endsAtKey.Leaf.Key)
	}
	emptyRange, emptyP := f.proveRange(t, f.root, "user/dave/")
	if len(emptyRange) != 0 || emptyP.Terminal != TerminalLeaf {
		t.Fatal("fixture: user/dave/ not an empty range")
	}
	_, otherRangeP := f.proveRange(t, f.other, "user/alice/")

	flipSibling := func(p Proof, i int) Proof {
		p = cloneProof(p)
		p.Steps[i].Sibling[0] ^= 1
		return p
	}
	fakeVH := vh
	fakeVH[31] ^= 1

	tests := []struct {
		name  string
		check func() error
		want  error
	}{
		// Membership.
		{"membership: the truth", func() error { return VerifyMembership(f.root, []byte(key), vh, memb) }, nil},
		{"membership: altered value", func() error { return VerifyMembership(f.root, []byte(key), fakeVH, memb) }, ErrRootMismatch},
		{"membership: another key's proof", func() error {
			return VerifyMembership(f.root, []byte("user/alice/1"), vh, memb)
		}, ErrRootMismatch},
		{"membership: proof for another root", func() error {
			p, vh := f.prove(t, f.other, key)
			return VerifyMembership(f.root, []byte(key), vh, p)
		}, ErrRootMismatch},
		{"membership: garbled sibling", func() error {
			return VerifyMembership(f.root, []byte(key), vh, flipSibling(memb, len(memb.Steps)-1))
		}, ErrRootMismatch},
		{"membership: top step dropped", func() error {
			p := cloneProof(memb)
			p.Steps = p.Steps[1:]
			return VerifyMembership(f.root, []byte(key), vh, p)
		}, ErrRootMismatch},
		{"membership: steps out of order", func() error {
			p := cloneProof(memb)
			slices.Reverse(p.Steps)
			return VerifyMembership(f.root, []byte(key), vh, p)
		}, ErrBadProof},
		{"membership: step beyond the key's path", func() error {
			p := cloneProof(memb)
			p.Steps = append(p.Steps, Step{Bit: uint32(pathLen([]byte(key)))})
			return VerifyMembership(f.root, []byte(key), vh, p)
		}, ErrBadProof},
		{"membership: a non-membership proof", func() error {
			return VerifyMembership(f.root, []byte(absent), vh, nonMemb)
		}, ErrBadProof},
		{"membership: empty proof in a non-empty tree", func() error {
			return VerifyMembership(f.root, []byte(key), vh, Proof{})
		}, ErrRootMismatch},

		// Non-membership.
		{"non-membership: the truth", func() error { return VerifyNonMembership(f.root, []byte(absent), nonMemb) }, nil},
		{"non-membership: of a present key", func() error {
			return VerifyNonMembership(f.root, []byte(key), endsAtKey)
		}, ErrKeyPresent},
		{"non-membership: membership path with the key as witness", func() error {
			p := cloneProof(memb)
			p.Terminal, p.Leaf = TerminalLeaf, Entry{Key: []byte(key), ValueHash: vh}
			return VerifyNonMembership(f.root, []byte(key), p)
		}, ErrKeyPresent},
		{"non-membership: witness off the searched path", func() error {
			// Another leaf's membership path, offered as the search result:
			// it branches away from the absent key's path.
			p, vh1 := f.prove(t, f.root, "user/bob/1")
			p.Terminal, p.Leaf = TerminalLeaf, Entry{Key: []byte("user/bob/1"), ValueHash: vh1}
			return VerifyNonMembership(f.root, []byte(absent), p)
		}, ErrBadProof},
		{"non-membership: witness value altered", func() error {
			p := cloneProof(nonMemb)
			p.Leaf.ValueHash[0] ^= 1
			return VerifyNonMembership(f.root, []byte(absent), p)
		}, ErrRootMismatch},
		{"non-membership: proof for another root", func() error {
			p, _ := f.prove(t, f.other, absent)
			return VerifyNonMembership(f.root, []byte(absent), p)
		}, ErrRootMismatch},
		{"non-membership: empty-tree proof for a non-empty tree", func() error {
			return VerifyNonMembership(f.root, []byte(absent), Proof{})
		}, ErrRootMismatch},
		{"non-membership: a range proof", func() error {
			return VerifyNonMembership(f.root, []byte(absent), rangeP)
		}, ErrBadProof},

		// Range completeness.
		{"range: the truth", func() error { return VerifyRange(f.root, []byte("user/alice/"), all, rangeP) }, nil},
		{"range: first entry dropped", func() error {
			return VerifyRange(f.root, []byte("user/alice/"), all[1:], rangeP)
		}, ErrIncomplete},
		{"range: middle entry dropped", func() error {
			return VerifyRange(f.root, []byte("user/alice/"), []Entry{all[0], all[2]}, rangeP)
		}, ErrIncomplete},
		{"range: last entry dropped", func() error {
			return VerifyRange(f.root, []byte("user/alice/"), all[:2], rangeP)
		}, ErrIncomplete},
		{"range: every entry dropped", func() error {
			return VerifyRange(f.root, []byte("user/alice/"), nil, rangeP)
		}, ErrIncomplete},
		{"range: entry added inside the prefix", func() error {
			es := append(slices.Clone(all), Entry{Key: []byte("user/alice/4")})
			return VerifyRange(f.root, []byte("user/alice/"), es, rangeP)
		}, ErrIncomplete},
		{"range: entry added outside the prefix", func() error {
			es := append(slices.Clone(all), Entry{Key: []byte("user/bob/1")})
			return VerifyRange(f.root, []byte("user/alice/"), es, rangeP)
		}, ErrBadEntries},
		{"range: entry value altered", func() error {
			es := slices.Clone(all)
			es[1].ValueHash[0] ^= 1
			return VerifyRange(f.root, []byte("user/alice/"), es, rangeP)
		}, ErrIncomplete},
		{"range: entries out of order", func() error {
			es := []Entry{all[1], all[0], all[2]}
			return VerifyRange(f.root, []byte("user/alice/"), es, rangeP)
		}, ErrBadEntries},
		{"range: entry twice", func() error {
			es := []Entry{all[0], all[1], all[1], all[2]}
			return VerifyRange(f.root, []byte("user/alice/"), es, rangeP)
		}, ErrBadEntries},
		{"range: proof for another root", func() error {
			return VerifyRange(f.root, []byte("user/alice/"), all, otherRangeP)
		}, ErrRootMismatch},
		{"range: subtree hash garbled", func() error {
			p := cloneProof(rangeP)
			p.Subtree[0] ^= 1
			return VerifyRange(f.root, []byte("user/alice/"), all, p)
		}, ErrRootMismatch},
		{"range: path goes below the range's node (shows one entry only)", func() error {
			p, vh := f.prove(t, f.root, string(all[0].Key))
			p.Terminal, p.Subtree = TerminalSubtree, leafHash(all[0].Key, &vh)
			return VerifyRange(f.root, []byte("user/alice/"), all[:1], p)
		}, ErrBadProof},
		{"range: empty-range proof with entries claimed", func() error {
			return VerifyRange(f.root, []byte("user/dave/"), []Entry{{Key: []byte("user/dave/1")}}, emptyP)
		}, ErrIncomplete},
		{"range: empty range, the truth", func() error {
			return VerifyRange(f.root, []byte("user/dave/"), nil, emptyP)
		}, nil},
		{"range: empty-range proof for a non-empty range", func() error {
			// The witness of user/dave/ reused for user/alice/: either it is
			// off the path or it lies inside the range.
			return VerifyRange(f.root, []byte("user/alice/"), nil, emptyP)
		}, ErrBadProof},
		{"range: witness inside the range", func() error {
			p := cloneProof(memb)
			p.Terminal, p.Leaf = TerminalLeaf, Entry{Key: []byte(key), ValueHash: vh}
			return VerifyRange(f.root, []byte("user/alice/"), nil, p)
		}, ErrBadProof},

		// Encoding.
		{"encoding: truncated", func() error {
			b := memb.Encode()
			_, err := DecodeProof(b[:len(b)-1])
			return err
		}, ErrBadProof},
		{"encoding: trailing byte", func() error {
			_, err := DecodeProof(append(memb.Encode(), 0))
			return err
		}, ErrBadProof},
		{"encoding: unknown version", func() error {
			b := memb.Encode()
			b[0] = 2
			_, err := DecodeProof(b)
			return err
		}, ErrBadProof},
		{"encoding: unknown terminal", func() error {
			b := memb.Encode()
			b[len(b)-1] = 3
			_, err := DecodeProof(b)
			return err
		}, ErrBadProof},
		{"encoding: step count larger than the input", func() error {
			_, err := DecodeProof([]byte{1, 0xFF, 0xFF, 0xFF, 0xFF, 0})
			return err
		}, ErrBadProof},
		{"encoding: witness key longer than MaxKeyLen", func() error {
			_, err := DecodeProof([]byte{1, 0, 0, 0, 0, 1, 0, 1, 0, 1})
			return err
		}, ErrBadProof},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestProofEncoding: the encoding round-trips, and is canonical.
func TestProofEncoding(t *testing.T) {
	f := newFixture(t)
	memb, _ := f.prove(t, f.root, "user/alice/2")
	nonMemb, _ := f.prove(t, f.root, "user/alice/9")
	_, rangeP := f.proveRange(t, f.root, "user/")
	for _, p := range []Proof{{}, memb, nonMemb, rangeP} {
		b := p.Encode()
		q, err := DecodeProof(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.Encode(), b) {
			t.Fatalf("re-encoding differs")
		}
	}
	if got := (&Proof{}).Encode(); !bytes.Equal(got, []byte{1, 0, 0, 0, 0, 0}) {
		t.Fatalf("empty-tree proof encodes as %x", got)
	}
}
