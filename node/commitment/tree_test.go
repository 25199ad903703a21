package commitment

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
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

// rebuild returns a fresh trie holding m, written in shuffled batches of
// random sizes.
func rebuild(t testing.TB, r *rand.Rand, m ref) *Trie {
	t.Helper()
	ups := make([]Update, 0, len(m))
	for _, e := range m.sorted() {
		ups = append(ups, Put(e.Key, e.ValueHash))
	}
	r.Shuffle(len(ups), func(i, j int) { ups[i], ups[j] = ups[j], ups[i] })
	tr := Empty()
	for len(ups) > 0 {
		n := 1 + r.IntN(len(ups))
		var err error
		if tr, err = tr.Apply(ups[:n]); err != nil {
			t.Fatal(err)
		}
		ups = ups[n:]
	}
	return tr
}

// randBatch draws a batch against m: puts of new and present keys (some
// with the present value, which are no-ops), deletes of present and absent
// keys, each key at most once. It returns the batch and the contents after.
func randBatch(r *rand.Rand, m ref, size int) ([]Update, ref) {
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
				vh = m[string(k)]
			}
			ups = append(ups, Put(k, vh))
			next[string(k)] = vh
		}
	}
	return ups, next
}

// TestAgainstReference runs random batches of puts and deletes and checks,
// after every batch, everything the trie promises; at the end, that every
// version kept still proves its own contents (persistence).
func TestAgainstReference(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x1d05))
			tr, m := Empty(), ref{}
			versions, contents, roots := []*Trie{tr}, []ref{m}, []Hash{tr.Root()}
			for batch := range 40 {
				size := 1 + r.IntN(40)
				if batch%10 == 9 {
					size = 300
				}
				ups, next := randBatch(r, m, size)
				given := slices.Clone(ups)
				newTr, err := tr.Apply(ups)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(ups, given, func(a, b Update) bool {
					return bytes.Equal(a.Key, b.Key) && a.ValueHash == b.ValueHash && a.Delete == b.Delete
				}) {
					t.Fatalf("batch %d: Apply reordered the caller's slice", batch)
				}
				if tr.Root() != roots[len(roots)-1] || tr.Len() != len(m) {
					t.Fatalf("batch %d: Apply changed the version it started from", batch)
				}

				// Order independence: a fresh trie of the same contents,
				// written in other batches, and the sorted rebuild have the
				// same root.
				if want := rebuild(t, r, next).Root(); newTr.Root() != want {
					t.Fatalf("batch %d: root %x, rebuilt in batches %x", batch, newTr.Root(), want)
				}
				built, err := Build(next.sorted())
				if err != nil {
					t.Fatal(err)
				}
				if built.Root() != newTr.Root() || built.Len() != len(next) {
					t.Fatalf("batch %d: Build gives root %x (%d leaves), Apply %x", batch, built.Root(), built.Len(), newTr.Root())
				}
				if newTr.Len() != len(next) {
					t.Fatalf("batch %d: Len %d, want %d", batch, newTr.Len(), len(next))
				}
				if len(next) == 0 && newTr.Root() != EmptyRoot {
					t.Fatalf("batch %d: empty contents, root %x", batch, newTr.Root())
				}

				tr, m = newTr, next
				versions, contents, roots = append(versions, tr), append(contents, m), append(roots, tr.Root())
				checkProofs(t, r, tr, m)
			}
			// Persistence: every earlier version still has its root and
			// proves exactly its own contents, after all the later Applies.
			for i, v := range versions {
				if v.Root() != roots[i] {
					t.Fatalf("version %d: root changed to %x from %x", i, v.Root(), roots[i])
				}
				checkProofs(t, r, v, contents[i])
			}
		})
	}
}

// checkProofs checks membership of every key, non-membership of random
// absent keys and range completeness of random prefixes, each through the
// proof's encoding and against tr's root.
func checkProofs(t *testing.T, r *rand.Rand, tr *Trie, m ref) {
	t.Helper()
	root := tr.Root()
	if tr.Len() != len(m) {
		t.Fatalf("Len %d, want %d", tr.Len(), len(m))
	}
	roundTrip := func(p Proof) Proof {
		q, err := DecodeProof(p.Encode())
		if err != nil {
			t.Fatalf("decode own proof: %v", err)
		}
		return q
	}
	for _, e := range m.sorted() {
		p, vh, found, err := tr.Prove(e.Key)
		if err != nil || !found || vh != e.ValueHash {
			t.Fatalf("prove %x: found %v, vh %x, err %v", e.Key, found, vh, err)
		}
		if err := VerifyMembership(root, e.Key, e.ValueHash, roundTrip(p)); err != nil {
			t.Fatalf("membership %x: %v", e.Key, err)
		}
		if got, ok := tr.Get(e.Key); !ok || got != e.ValueHash {
			t.Fatalf("get %x: %x %v", e.Key, got, ok)
		}
	}
	for range 30 {
		k := randKey(r)
		if _, ok := m[string(k)]; ok {
			continue
		}
		p, _, found, err := tr.Prove(k)
		if err != nil || found {
			t.Fatalf("prove absent %x: found %v, err %v", k, found, err)
		}
		if err := VerifyNonMembership(root, k, roundTrip(p)); err != nil {
			t.Fatalf("non-membership %x: %v", k, err)
		}
		if _, ok := tr.Get(k); ok {
			t.Fatalf("get absent %x: found", k)
		}
	}
	for range 30 {
		pfx := randPrefix(r, m)
		entries, p, err := tr.ProveRange(pfx)
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

// TestApplyRejects: a batch with a key twice or a key over MaxKeyLen is
// refused whole, and the version it was applied to is unchanged.
func TestApplyRejects(t *testing.T) {
	tr, err := Empty().Apply([]Update{Put([]byte("x"), Hash{1})})
	if err != nil {
		t.Fatal(err)
	}
	root := tr.Root()
	for i, ups := range [][]Update{
		0: {Put([]byte("a"), Hash{1}), Del([]byte("a"))},
		1: {Put([]byte("a"), Hash{1}), Put([]byte("b"), Hash{1}), Put([]byte("a"), Hash{2})},
		2: {Put([]byte("x"), Hash{3}), Del([]byte("x"))},
		3: {Put(make([]byte, MaxKeyLen+1), Hash{1})},
		4: {Del(make([]byte, MaxKeyLen+1))},
	} {
		got, err := tr.Apply(ups)
		if !errors.Is(err, ErrBadUpdate) || got != nil {
			t.Errorf("%d: got %v, %v; want nil, ErrBadUpdate", i, got, err)
		}
		if tr.Root() != root || tr.Len() != 1 {
			t.Errorf("%d: the refused batch changed the trie", i)
		}
	}
	// A key of exactly MaxKeyLen bytes is allowed.
	long := bytes.Repeat([]byte{0xAB}, MaxKeyLen)
	next, err := tr.Apply([]Update{Put(long, Hash{5})})
	if err != nil || next.Len() != 2 {
		t.Fatalf("key of MaxKeyLen: %v", err)
	}
	p, vh, found, err := next.Prove(long)
	if err != nil || !found || VerifyMembership(next.Root(), long, vh, p) != nil {
		t.Fatalf("prove key of MaxKeyLen: found %v, err %v", found, err)
	}
	if _, _, _, err := next.Prove(append(long, 0)); !errors.Is(err, ErrBadKey) {
		t.Fatalf("prove key over MaxKeyLen: %v", err)
	}
	if _, _, err := next.ProveRange(append(long, 0)); !errors.Is(err, ErrBadKey) {
		t.Fatalf("range over MaxKeyLen: %v", err)
	}
}

// TestEmptyTrie: Empty(), a nil *Trie and the zero Trie are the empty trie,
// with its root and proofs; deleting the last key brings it back.
func TestEmptyTrie(t *testing.T) {
	var nilTrie *Trie
	for name, tr := range map[string]*Trie{"Empty()": Empty(), "nil": nilTrie, "zero": {}} {
		if tr.Root() != EmptyRoot || tr.Len() != 0 {
			t.Fatalf("%s: root %x, len %d", name, tr.Root(), tr.Len())
		}
		if _, ok := tr.Get([]byte("a")); ok {
			t.Fatalf("%s: Get found a key", name)
		}
		p, _, found, err := tr.Prove([]byte("a"))
		if err != nil || found {
			t.Fatalf("%s: prove: %v %v", name, found, err)
		}
		if err := VerifyNonMembership(EmptyRoot, []byte("a"), p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		entries, p, err := tr.ProveRange(nil)
		if err != nil || len(entries) != 0 {
			t.Fatalf("%s: range: %v %v", name, entries, err)
		}
		if err := VerifyRange(EmptyRoot, nil, nil, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		same, err := tr.Apply([]Update{Del([]byte("a"))})
		if err != nil || same.Root() != EmptyRoot || same.Len() != 0 {
			t.Fatalf("%s: delete in empty trie: %x %v", name, same.Root(), err)
		}
		one, err := tr.Apply([]Update{Put([]byte("a"), Hash{7})})
		if err != nil || one.Len() != 1 || one.Root() != leafHash([]byte("a"), &Hash{7}) {
			t.Fatalf("%s: put in empty trie: %x %v", name, one.Root(), err)
		}
		none, err := one.Apply([]Update{Del([]byte("a"))})
		if err != nil || none.Root() != EmptyRoot || none.Len() != 0 {
			t.Fatalf("%s: delete last: %x %v", name, none.Root(), err)
		}
	}
	if tr, err := Build(nil); err != nil || tr.Root() != EmptyRoot || tr.Len() != 0 {
		t.Fatalf("Build(nil): %v", err)
	}
}

// TestBuild: Build refuses entries that are not strictly ascending or have
// a key over MaxKeyLen, and otherwise equals applying the same puts.
func TestBuild(t *testing.T) {
	e := func(k string) Entry { return Entry{Key: []byte(k), ValueHash: sha256.Sum256([]byte(k))} }
	for i, entries := range [][]Entry{
		0: {e("b"), e("a")},
		1: {e("a"), e("a")},
		2: {e("a"), e("b"), e("b")},
		3: {e("ab"), e("a")}, // a key before its extensions
		4: {e("a"), {Key: make([]byte, MaxKeyLen+1)}},
	} {
		if tr, err := Build(entries); !errors.Is(err, ErrBadUpdate) || tr != nil {
			t.Errorf("%d: got %v, %v; want nil, ErrBadUpdate", i, tr, err)
		}
	}
	r := rand.New(rand.NewPCG(5, 5))
	for range 50 {
		m := ref{}
		for range r.IntN(200) {
			m[string(randKey(r))] = randHash(r)
		}
		built, err := Build(m.sorted())
		if err != nil {
			t.Fatal(err)
		}
		if want := rebuild(t, r, m); built.Root() != want.Root() || built.Len() != len(m) {
			t.Fatalf("Build root %x (%d leaves), Apply %x (%d)", built.Root(), built.Len(), want.Root(), len(m))
		}
		checkProofs(t, r, built, m)
	}
}

// TestPrefixKeys: keys that are byte prefixes of each other, including the
// empty key and keys ending in 0x00 and 0xFF, inserted and deleted in
// every layer; each step is checked against the reference.
func TestPrefixKeys(t *testing.T) {
	keys := []string{"", "a", "a\x00", "a\x00\x00", "a\xff", "aa", "aaa", "ab", "b", "\x00", "\xff", "\xff\xff"}
	r := rand.New(rand.NewPCG(6, 6))
	tr, m := Empty(), ref{}
	for _, k := range keys { // one at a time: each lands above, below or beside the others
		vh := sha256.Sum256([]byte(k))
		var err error
		if tr, err = tr.Apply([]Update{Put([]byte(k), vh)}); err != nil {
			t.Fatal(err)
		}
		m[k] = vh
		checkProofs(t, r, tr, m)
	}
	for _, p := range []string{"", "a", "a\x00", "aa", "c", "\xff"} {
		entries, _, err := tr.ProveRange([]byte(p))
		if err != nil || len(entries) != len(m.withPrefix([]byte(p))) {
			t.Fatalf("range %q: %d entries, want %d (%v)", p, len(entries), len(m.withPrefix([]byte(p))), err)
		}
	}
	// Delete the middle of each chain, then everything, in one batch each.
	var err error
	if tr, err = tr.Apply([]Update{Del([]byte("a")), Del([]byte("a\x00")), Del([]byte("")), Del([]byte("zzz"))}); err != nil {
		t.Fatal(err)
	}
	delete(m, "a")
	delete(m, "a\x00")
	delete(m, "")
	checkProofs(t, r, tr, m)
	var all []Update
	for k := range m {
		all = append(all, Del([]byte(k)))
	}
	if tr, err = tr.Apply(all); err != nil || tr.Root() != EmptyRoot || tr.Len() != 0 {
		t.Fatalf("delete all: %x %v", tr.Root(), err)
	}
}

// nodesOf returns every node reachable from tr.
func nodesOf(tr *Trie) map[*node]bool {
	seen := map[*node]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		walk(n.left)
		walk(n.right)
	}
	walk(tr.top())
	return seen
}

// TestStructuralSharing: a version shares every node off the changed paths
// with the one it came from: changing one value copies exactly the path to
// its leaf, and a batch of no-ops returns the very same nodes.
func TestStructuralSharing(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	m := ref{}
	for range 2000 {
		m[string(randKey(r))] = randHash(r)
	}
	tr, err := Build(m.sorted())
	if err != nil {
		t.Fatal(err)
	}
	old := nodesOf(tr)
	for i, e := range m.sorted() {
		if i%97 != 0 {
			continue
		}
		p, _, _, _ := tr.Prove(e.Key)
		next, err := tr.Apply([]Update{Put(e.Key, Hash{0xEE})})
		if err != nil {
			t.Fatal(err)
		}
		fresh := 0
		for n := range nodesOf(next) {
			if !old[n] {
				fresh++
			}
		}
		if want := len(p.Steps) + 1; fresh != want {
			t.Fatalf("key %x at depth %d: %d new nodes, want %d", e.Key, len(p.Steps), fresh, want)
		}
	}
	var noop []Update
	for _, e := range m.sorted()[:50] {
		noop = append(noop, Put(e.Key, e.ValueHash), Del(append(bytes.Clone(e.Key), 0x42, 0x42)))
	}
	same, err := tr.Apply(noop)
	if err != nil {
		t.Fatal(err)
	}
	if same.top() != tr.top() || same.Len() != tr.Len() {
		t.Fatal("a batch of no-ops made new nodes")
	}
}

// TestNoAliasing: the trie copies keys in and out, so neither the caller's
// update buffers nor returned entries and proofs can change a version.
func TestNoAliasing(t *testing.T) {
	key := []byte("user/alice/1")
	tr, err := Empty().Apply([]Update{Put(key, Hash{1}), Put([]byte("user/bob/1"), Hash{2})})
	if err != nil {
		t.Fatal(err)
	}
	root := tr.Root()
	key[0] = 'X'
	entries, _, err := tr.ProveRange([]byte("user/"))
	if err != nil || len(entries) != 2 {
		t.Fatal(entries, err)
	}
	entries[0].Key[0] = 'Y'
	p, _, _, _ := tr.Prove([]byte("user/carol"))
	p.Leaf.Key[0] = 'Z'
	if vh, ok := tr.Get([]byte("user/alice/1")); !ok || vh != (Hash{1}) {
		t.Fatal("a caller's write reached a key in the trie")
	}
	built, _ := Build([]Entry{{Key: []byte("user/alice/1"), ValueHash: Hash{1}}, {Key: []byte("user/bob/1"), ValueHash: Hash{2}}})
	if built.Root() != root {
		t.Fatal("root changed after the caller's writes")
	}
}

// TestConcurrentReaders runs readers proving against a fixed version and
// against the newest published version while a writer applies new versions
// (run with -race): versions are immutable and need no lock.
func TestConcurrentReaders(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	m := ref{}
	for range 1000 {
		m[string(randKey(r))] = randHash(r)
	}
	base, err := Build(m.sorted())
	if err != nil {
		t.Fatal(err)
	}
	fixed := m.sorted()
	var latest atomic.Pointer[Trie]
	latest.Store(base)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e := fixed[(i*7+w)%len(fixed)]
				p, vh, found, err := base.Prove(e.Key)
				if err != nil || !found || vh != e.ValueHash || VerifyMembership(base.Root(), e.Key, vh, p) != nil {
					errs <- fmt.Errorf("fixed version: prove %x: %v %v", e.Key, found, err)
					return
				}
				cur := latest.Load()
				if p, vh, found, err := cur.Prove(e.Key); err != nil {
					errs <- err
					return
				} else if found && VerifyMembership(cur.Root(), e.Key, vh, p) != nil {
					errs <- fmt.Errorf("latest version: membership of %x does not verify", e.Key)
					return
				} else if !found && VerifyNonMembership(cur.Root(), e.Key, p) != nil {
					errs <- fmt.Errorf("latest version: non-membership of %x does not verify", e.Key)
					return
				}
				es, rp, err := cur.ProveRange(e.Key[:len(e.Key)/2])
				if err != nil || VerifyRange(cur.Root(), e.Key[:len(e.Key)/2], es, rp) != nil {
					errs <- fmt.Errorf("latest version: range %x: %v", e.Key[:len(e.Key)/2], err)
					return
				}
			}
		}()
	}
	tr, wm := base, m
	for range 200 {
		var ups []Update
		ups, wm = randBatch(r, wm, 20)
		if tr, err = tr.Apply(ups); err != nil {
			t.Fatal(err)
		}
		latest.Store(tr)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkProofs(t, r, base, m)
	checkProofs(t, r, tr, wm)
}

// TestInsideWindow checks Apply's shortcut for "does this key share the
// node's path prefix" against the definition (critBit), for every node of
// tries made by Build and by Apply, many keys, and every parent bit that
// the key could have been routed through.
func TestInsideWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	m := ref{}
	for range 300 {
		m[string(randKey(r))] = randHash(r)
	}
	built, err := Build(m.sorted())
	if err != nil {
		t.Fatal(err)
	}
	applied := rebuild(t, r, m)
	for name, tr := range map[string]*Trie{"Build": built, "Apply": applied} {
		checked := 0
		for n := range nodesOf(tr) {
			if n.isLeaf() {
				continue
			}
			// win comes from some key under n, not always the leftmost:
			// they agree on the bits before n.bit, which is all inside reads.
			for _, k := range [][]byte{n.key(), n.right.key()} {
				for pb := -1; pb < int(n.bit); pb++ {
					if !inside(k, n, pb) {
						t.Fatalf("%s: node at bit %d: its own leaf %x not inside from parent bit %d", name, n.bit, k, pb)
					}
				}
			}
			for range 20 {
				u := randKey(r)
				if r.IntN(2) == 0 { // a near miss: n's key with one bit or the length changed
					u = bytes.Clone(n.key())
					if len(u) > 0 && r.IntN(4) > 0 {
						u[r.IntN(len(u))] ^= 1 << r.IntN(8)
					} else {
						u = append(u, byte(r.IntN(256)))[:r.IntN(len(u)+2)]
					}
				}
				c := critBit(u, n.key())
				for pb := -1; pb < int(n.bit) && pb < c; pb++ {
					if got, want := inside(u, n, pb), c >= int(n.bit); got != want {
						t.Fatalf("%s: key %x, node bit %d (leftmost %x), parent bit %d: inside %v, want %v", name, u, n.bit, n.key(), pb, got, want)
					}
					checked++
				}
			}
		}
		if checked < 10000 {
			t.Fatalf("%s: only %d cases checked", name, checked)
		}
	}
}

// TestNodeSize keeps an inner node at one 64-byte cache line and size
// class (see the node type): a field added there costs every Apply.
func TestNodeSize(t *testing.T) {
	if got := unsafe.Sizeof(node{}); got != 64 {
		t.Fatalf("node is %d bytes, want 64", got)
	}
}

// TestLargeBatches: batches of hundreds to over a thousand updates on a
// trie of thousands of random binary keys give the same trie as Build of
// the reference, with the right Len.
func TestLargeBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	key := func() []byte {
		k := make([]byte, 1+r.IntN(12))
		for i := range k {
			k[i] = byte(r.Uint32())
		}
		return k
	}
	tr, m := Empty(), ref{}
	for batch := range 6 {
		present := m.sorted()
		next := maps.Clone(m)
		seen := map[string]bool{}
		var ups []Update
		for range 512 * (1 + batch%3) {
			k := key()
			if len(present) > 0 && r.IntN(2) == 0 {
				k = present[r.IntN(len(present))].Key
			}
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			if r.IntN(4) == 0 {
				ups = append(ups, Del(k))
				delete(next, string(k))
			} else {
				vh := randHash(r)
				ups = append(ups, Put(k, vh))
				next[string(k)] = vh
			}
		}
		var err error
		if tr, err = tr.Apply(ups); err != nil {
			t.Fatal(err)
		}
		m = next
		want, err := Build(m.sorted())
		if err != nil {
			t.Fatal(err)
		}
		if tr.Root() != want.Root() || tr.Len() != len(m) {
			t.Fatalf("batch %d (%d updates): root %x, Len %d; Build gives %x, %d", batch, len(ups), tr.Root(), tr.Len(), want.Root(), len(m))
		}
	}
	checkProofs(t, r, tr, m)
}
