package commitment

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// ref is the reference model: a plain map, read in sorted order.
type ref map[string]Hash

func (m ref) sorted() []Entry {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]Entry, len(keys))
	for i, k := range keys {
		out[i] = Entry{Key: []byte(k), ValueHash: m[k]}
	}
	return out
}

func (m ref) withPrefix(p []byte) []Entry {
	var out []Entry
	for _, e := range m.sorted() {
		if bytes.HasPrefix(e.Key, p) {
			out = append(out, e)
		}
	}
	return out
}

// randKey draws keys that exercise the trie's corner cases: short keys over
// a tiny alphabet (so keys are often prefixes of each other and hold 0x00
// and 0xFF), plus realistic row keys.
func randKey(r *rand.Rand) []byte {
	if r.IntN(5) == 0 {
		table := []string{"kv", "idos_users", "idos_credentials"}[r.IntN(3)]
		var pk []any
		if r.IntN(2) == 0 {
			pk = []any{fmt.Sprintf("user-%d", r.IntN(20)), fmt.Sprintf("k%d", r.IntN(50))}
		} else {
			pk = []any{int64(r.IntN(200)) - 100}
		}
		k, err := Key(table, pk)
		if err != nil {
			panic(err)
		}
		return k
	}
	alphabet := []byte{0x00, 0x01, 'a', 'b', 0xFF}
	k := make([]byte, r.IntN(7))
	for i := range k {
		k[i] = alphabet[r.IntN(len(alphabet))]
	}
	return k
}

func randHash(r *rand.Rand) Hash {
	var h Hash
	for i := range h {
		h[i] = byte(r.Uint32())
	}
	return h
}

// randPrefix draws a range prefix: often a prefix of a present key.
func randPrefix(r *rand.Rand, m ref) []byte {
	if len(m) > 0 && r.IntN(2) == 0 {
		es := m.sorted()
		k := es[r.IntN(len(es))].Key
		return bytes.Clone(k[:r.IntN(len(k)+1)])
	}
	k := randKey(r)
	return k[:r.IntN(len(k)+1)]
}

// build returns the root of a fresh tree holding m, written in shuffled
// batches of random sizes.
func build(t testing.TB, r *rand.Rand, m ref) Hash {
	t.Helper()
	ups := make([]Update, 0, len(m))
	for _, e := range m.sorted() {
		ups = append(ups, Put(e.Key, e.ValueHash))
	}
	r.Shuffle(len(ups), func(i, j int) { ups[i], ups[j] = ups[j], ups[i] })
	tr := NewTree(NewMemStore())
	root := EmptyRoot
	for len(ups) > 0 {
		n := 1 + r.IntN(len(ups))
		var err error
		if root, _, err = tr.Apply(root, ups[:n]); err != nil {
			t.Fatal(err)
		}
		ups = ups[n:]
	}
	return root
}

// reachable returns the hashes of every node under root.
func reachable(t testing.TB, tr *Tree, root Hash) map[Hash]bool {
	t.Helper()
	seen := map[Hash]bool{}
	if root == EmptyRoot {
		return seen
	}
	var walk func(h Hash)
	walk = func(h Hash) {
		seen[h] = true
		n, err := tr.load(h)
		if err != nil {
			t.Fatal(err)
		}
		if !n.leaf {
			walk(n.left)
			walk(n.right)
		}
	}
	walk(root)
	return seen
}

// TestAgainstReference runs random batches of puts and deletes and checks,
// after every batch, everything the tree promises.
func TestAgainstReference(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x1d05))
			tr := NewTree(NewMemStore())
			m := ref{}
			root := EmptyRoot
			for batch := range 40 {
				// A batch: puts of new and present keys, deletes of present
				// and absent keys, each key at most once.
				size := 1 + r.IntN(40)
				if batch%10 == 9 {
					size = 300
				}
				seen := map[string]bool{}
				var ups []Update
				next := maps.Clone(m)
				present := m.sorted()
				for range size {
					var k []byte
					if len(present) > 0 && r.IntN(3) == 0 {
						k = present[r.IntN(len(present))].Key
					} else {
						k = randKey(r)
					}
					if seen[string(k)] {
						continue
					}
					seen[string(k)] = true
					if r.IntN(3) == 0 {
						ups = append(ups, Del(k))
						delete(next, string(k))
					} else {
						vh := randHash(r)
						if _, ok := m[string(k)]; ok && r.IntN(4) == 0 {
							vh = m[string(k)] // unchanged value: a no-op
						}
						ups = append(ups, Put(k, vh))
						next[string(k)] = vh
					}
				}
				newRoot, orphans, err := tr.Apply(root, ups)
				if err != nil {
					t.Fatal(err)
				}

				// Order independence: a fresh tree of the same contents,
				// written in other batches, has the same root.
				if want := build(t, r, next); newRoot != want {
					t.Fatalf("batch %d: root %x, rebuilt %x", batch, newRoot, want)
				}
				if len(next) == 0 && newRoot != EmptyRoot {
					t.Fatalf("batch %d: empty contents, root %x", batch, newRoot)
				}

				// Orphans are exactly the nodes that left the tree.
				before, after := reachable(t, tr, root), reachable(t, tr, newRoot)
				var wantOrphans []Hash
				for h := range before {
					if !after[h] {
						wantOrphans = append(wantOrphans, h)
					}
				}
				slices.SortFunc(wantOrphans, func(x, y Hash) int { return bytes.Compare(x[:], y[:]) })
				slices.SortFunc(orphans, func(x, y Hash) int { return bytes.Compare(x[:], y[:]) })
				if !slices.Equal(orphans, wantOrphans) {
					t.Fatalf("batch %d: %d orphans, want %d", batch, len(orphans), len(wantOrphans))
				}

				root, m = newRoot, next
				checkProofs(t, r, tr, root, m)
			}
		})
	}
}

// checkProofs checks membership of every key, non-membership of random
// absent keys and range completeness of random prefixes, each through the
// proof's encoding.
func checkProofs(t *testing.T, r *rand.Rand, tr *Tree, root Hash, m ref) {
	t.Helper()
	roundTrip := func(p Proof) Proof {
		q, err := DecodeProof(p.Encode())
		if err != nil {
			t.Fatalf("decode own proof: %v", err)
		}
		return q
	}
	for _, e := range m.sorted() {
		p, vh, found, err := tr.Prove(root, e.Key)
		if err != nil || !found || vh != e.ValueHash {
			t.Fatalf("prove %x: found %v, vh %x, err %v", e.Key, found, vh, err)
		}
		if err := VerifyMembership(root, e.Key, e.ValueHash, roundTrip(p)); err != nil {
			t.Fatalf("membership %x: %v", e.Key, err)
		}
		if got, ok, err := tr.Get(root, e.Key); err != nil || !ok || got != e.ValueHash {
			t.Fatalf("get %x: %x %v %v", e.Key, got, ok, err)
		}
	}
	for range 30 {
		k := randKey(r)
		if _, ok := m[string(k)]; ok {
			continue
		}
		p, _, found, err := tr.Prove(root, k)
		if err != nil || found {
			t.Fatalf("prove absent %x: found %v, err %v", k, found, err)
		}
		if err := VerifyNonMembership(root, k, roundTrip(p)); err != nil {
			t.Fatalf("non-membership %x: %v", k, err)
		}
		if _, ok, _ := tr.Get(root, k); ok {
			t.Fatalf("get absent %x: found", k)
		}
	}
	for range 30 {
		pfx := randPrefix(r, m)
		entries, p, err := tr.ProveRange(root, pfx)
		if err != nil {
			t.Fatal(err)
		}
		want := m.withPrefix(pfx)
		if !slices.EqualFunc(entries, want, func(a, b Entry) bool {
			return bytes.Equal(a.Key, b.Key) && a.ValueHash == b.ValueHash
		}) {
			t.Fatalf("range %x: %d entries, want %d", pfx, len(entries), len(want))
		}
		if err := VerifyRange(root, pfx, entries, roundTrip(p)); err != nil {
			t.Fatalf("range %x (%d entries): %v", pfx, len(entries), err)
		}
	}
}

func TestApplyRejectsDuplicateKeys(t *testing.T) {
	tr := NewTree(NewMemStore())
	_, _, err := tr.Apply(EmptyRoot, []Update{Put([]byte("a"), Hash{1}), Del([]byte("a"))})
	if !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("got %v, want ErrBadUpdate", err)
	}
	_, _, err = tr.Apply(EmptyRoot, []Update{Put(make([]byte, MaxKeyLen+1), Hash{1})})
	if !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("got %v, want ErrBadUpdate", err)
	}
}

func TestUnknownRoot(t *testing.T) {
	tr := NewTree(NewMemStore())
	missing := Hash(sha256.Sum256([]byte("nothing")))
	if _, _, err := tr.Apply(missing, []Update{Put([]byte("a"), Hash{})}); !errors.Is(err, ErrNodeNotFound) {
		t.Fatalf("apply: %v", err)
	}
	if _, _, _, err := tr.Prove(missing, []byte("a")); !errors.Is(err, ErrNodeNotFound) {
		t.Fatalf("prove: %v", err)
	}
}

// TestEmptyTree: the empty tree's root and proofs.
func TestEmptyTree(t *testing.T) {
	tr := NewTree(NewMemStore())
	root, orphans, err := tr.Apply(EmptyRoot, []Update{Del([]byte("a"))})
	if err != nil || root != EmptyRoot || len(orphans) != 0 {
		t.Fatalf("delete in empty tree: %x %v %v", root, orphans, err)
	}
	p, _, found, err := tr.Prove(EmptyRoot, []byte("a"))
	if err != nil || found {
		t.Fatal(found, err)
	}
	if err := VerifyNonMembership(EmptyRoot, []byte("a"), p); err != nil {
		t.Fatal(err)
	}
	entries, p, err := tr.ProveRange(EmptyRoot, nil)
	if err != nil || len(entries) != 0 {
		t.Fatal(entries, err)
	}
	if err := VerifyRange(EmptyRoot, nil, nil, p); err != nil {
		t.Fatal(err)
	}
	// Deleting the last key brings back the empty root and orphans the leaf.
	root, _, _ = tr.Apply(EmptyRoot, []Update{Put([]byte("a"), Hash{7})})
	root2, orphans, err := tr.Apply(root, []Update{Del([]byte("a"))})
	if err != nil || root2 != EmptyRoot || !slices.Equal(orphans, []Hash{root}) {
		t.Fatalf("delete last: %x %x %v", root2, orphans, err)
	}
}

// TestPruneRule plays the pruning rule documented on Apply with a store
// that records each node's latest Put height: a leaf deleted at one height
// and re-inserted with the same value later is orphaned, then re-created,
// and must survive the pruning of the first height.
func TestPruneRule(t *testing.T) {
	s := &heightStore{MemStore: NewMemStore(), putAt: map[Hash]int{}}
	tr := NewTree(s)
	k, other := []byte("row"), []byte("other")
	steps := [][]Update{
		{Put(k, Hash{1}), Put(other, Hash{2})}, // height 1
		{Del(k)},                               // height 2: k's leaf orphaned
		{Put(k, Hash{1})},                      // height 3: the same leaf again
		{Put(other, Hash{3})},                  // height 4
	}
	roots := []Hash{EmptyRoot}
	orphansAt := map[int][]Hash{}
	for i, ups := range steps {
		s.height = i + 1
		root, orphans, err := tr.Apply(roots[i], ups)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
		orphansAt[s.height] = orphans
	}
	// Keep only the last root: roots 0..3 are dropped, so the orphans of
	// heights 1..4 (nodes of roots 0..3 that the next root left) go.
	for h := 1; h <= 4; h++ {
		for _, o := range orphansAt[h] {
			if s.putAt[o] <= h {
				s.Delete(o)
			}
		}
	}
	if got := len(reachable(t, tr, roots[4])); got != s.Len() {
		t.Fatalf("store holds %d nodes, the last root reaches %d", s.Len(), got)
	}
	p, vh, found, err := tr.Prove(roots[4], k)
	if err != nil || !found || VerifyMembership(roots[4], k, vh, p) != nil {
		t.Fatalf("re-inserted row lost by pruning: %v %v", found, err)
	}
}

type heightStore struct {
	*MemStore
	height int
	putAt  map[Hash]int
}

func (s *heightStore) Put(hash, node []byte) error {
	s.putAt[Hash(hash)] = s.height
	return s.MemStore.Put(hash, node)
}
