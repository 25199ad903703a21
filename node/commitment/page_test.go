package commitment

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// pageAll pages through the range of prefix with pages of limit entries,
// verifying each page and the chaining rules, and returns the union.
func pageAll(t *testing.T, tr *Trie, prefix []byte, limit int) []Entry {
	t.Helper()
	root := tr.Root()
	var all []Entry
	var from []byte
	for pages := 0; ; pages++ {
		entries, p, more, err := tr.ProvePage(prefix, from, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			if from != nil {
				t.Fatalf("page after %x is empty", from)
			}
			return nil // an empty range: ProveRange proves it
		}
		dec, err := DecodePageProof(p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		before, after, err := VerifyPage(root, prefix, entries, dec)
		if err != nil {
			t.Fatalf("page %d of %x from %x: %v", pages, prefix, from, err)
		}
		if after != more {
			t.Fatalf("page %d: verifier says after=%v, prover more=%v", pages, after, more)
		}
		if from == nil {
			if before {
				t.Fatalf("first page of %x has keys before it", prefix)
			}
			all = append(all, entries...)
		} else {
			if !bytes.Equal(entries[0].Key, from) {
				t.Fatalf("page %d starts at %x, not at the previous last %x", pages, entries[0].Key, from)
			}
			all = append(all, entries[1:]...)
		}
		if !after {
			return all
		}
		if len(entries) < 2 && from != nil {
			t.Fatalf("page %d makes no progress", pages)
		}
		from = entries[len(entries)-1].Key
	}
}

// Paging through ranges of random tries, with pages of every size, gives
// exactly the range's entries.
func TestPagesAgainstReference(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x9a9e))
		m := ref{}
		for range 1 + r.IntN(300) {
			m[string(randKey(r))] = randHash(r)
		}
		tr := rebuild(t, r, m)
		for range 20 {
			prefix := randPrefix(r, m)
			want := m.withPrefix(prefix)
			limit := 2 + r.IntN(8)
			got := pageAll(t, tr, prefix, limit)
			if !slices.EqualFunc(got, want, func(a, b Entry) bool { return bytes.Equal(a.Key, b.Key) && a.ValueHash == b.ValueHash }) {
				t.Fatalf("seed %d prefix %x limit %d: %d entries, want %d", seed, prefix, limit, len(got), len(want))
			}
		}
	}
}

// A page that leaves out an entry in its middle, claims a key of another
// page, or hides its neighbours, is refused with the class saying why.
func TestPageLies(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	m := ref{}
	for i := range 200 {
		k, _ := Key("kv", []any{"owner", int64(i)})
		m[string(k)] = randHash(r)
	}
	other, _ := Key("other", []any{"x"})
	m[string(other)] = randHash(r)
	tr := rebuild(t, r, m)
	prefix, _ := Key("kv", []any{"owner"})
	root := tr.Root()
	first, _ := Key("kv", []any{"owner", int64(50)})
	entries, p, more, err := tr.ProvePage(prefix, first, 20)
	if err != nil || len(entries) != 20 || !more {
		t.Fatalf("page: %d entries, more %v, %v", len(entries), more, err)
	}
	if before, after, err := VerifyPage(root, prefix, entries, p); err != nil || !before || !after {
		t.Fatalf("honest middle page: before %v after %v %v", before, after, err)
	}
	drop := slices.Delete(slices.Clone(entries), 5, 6)
	altered := slices.Clone(entries)
	altered[3].ValueHash[0] ^= 1
	// The shape with the leaf of entry 5 shown as an opaque subtree: the
	// hash rebuilds, but the page now has a hole.
	holed := holeAt(t, p, entries, 5)
	outside := append(slices.Clone(entries), Entry{Key: other})
	for i, c := range []struct {
		entries []Entry
		p       PageProof
		prefix  []byte
		root    Hash
		want    error
	}{
		{drop, p, prefix, root, ErrIncomplete},                                                                   // 0: an entry left out (one leaf too many)
		{altered, p, prefix, root, ErrIncomplete},                                                                // 1: an altered value
		{drop, holed, prefix, root, ErrIncomplete},                                                               // 2: a hole hidden as a subtree
		{outside, p, prefix, root, ErrBadEntries},                                                                // 3: a key outside the prefix
		{nil, p, prefix, root, ErrBadEntries},                                                                    // 4: no entries
		{entries, p, prefix, Hash{1}, ErrRootMismatch},                                                           // 5: another root
		{entries, PageProof{Range: p.Range}, prefix, root, ErrBadProof},                                          // 6: no shape
		{entries, PageProof{Range: p.Range, Shape: append(slices.Clone(p.Shape), 0)}, prefix, root, ErrBadProof}, // 7: trailing bytes
	} {
		if _, _, err := VerifyPage(c.root, c.prefix, c.entries, c.p); !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
}

// holeAt returns p's shape with the leaf of entry i replaced by its hash.
func holeAt(t *testing.T, p PageProof, entries []Entry, i int) PageProof {
	t.Helper()
	var out []byte
	b, leaf := p.Shape, 0
	for len(b) > 0 {
		switch b[0] {
		case shapeLeaf:
			if leaf == i {
				h := leafHash(entries[i].Key, &entries[i].ValueHash)
				out = append(append(out, shapeOpaque), h[:]...)
			} else {
				out = append(out, shapeLeaf)
			}
			leaf++
			b = b[1:]
		case shapeInner:
			out, b = append(out, b[:5]...), b[5:]
		case shapeOpaque:
			out, b = append(out, b[:33]...), b[33:]
		}
	}
	return PageProof{Range: p.Range, Shape: out}
}
