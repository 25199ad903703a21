package commitment

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Store keeps trie nodes by hash. Nodes are content-addressed and never
// change, so a store shared by several roots keeps all of them provable; a
// node is removed only by pruning (see Apply).
//
// The tree never modifies a slice it passed to Put or got from Get, so a
// store may keep and return them without copying. Get of an unknown hash
// must return an error wrapping ErrNodeNotFound.
type Store interface {
	Get(hash []byte) ([]byte, error)
	Put(hash, node []byte) error
}

// Update is one change of a batch: put (Key, ValueHash), or delete Key.
type Update struct {
	Key       []byte
	ValueHash Hash
	Delete    bool
}

// Put returns the update that sets key to valueHash.
func Put(key []byte, valueHash Hash) Update { return Update{Key: key, ValueHash: valueHash} }

// Del returns the update that removes key (a no-op if it is absent).
func Del(key []byte) Update { return Update{Key: key, Delete: true} }

// Tree reads and writes the trie in a Store. It holds no root: every call
// names the root it works on, so any root still in the store can be read,
// proven or updated. A Tree is safe for concurrent reads if its Store is;
// Apply must not run concurrently with pruning of the same nodes.
type Tree struct {
	store Store
}

// NewTree returns a tree over the store.
func NewTree(s Store) *Tree { return &Tree{store: s} }

// Stored node encodings. The hashed part of a node is its leading bytes:
//
//	leaf:  0x00 | key length u32 | key | value hash 32        (all hashed)
//	inner: 0x01 | bit u32 | left 32 | right 32                 (hashed: 69 bytes)
//	       | rep length u32 | rep                              (not hashed)
//
// rep, the key of the leftmost leaf below an inner node, tells Apply the
// path prefix all leaves below share (its first bit bits) without walking
// down. It is a function of the node's hash (a subtree's leaves are fixed by
// its hash), so equal hashes always store equal bytes.
type node struct {
	leaf  bool
	key   []byte // leaf key, or rep of an inner node
	vh    Hash   // leaf only
	bit   int    // inner only
	left  Hash   // inner only
	right Hash   // inner only
}

func (t *Tree) load(h Hash) (node, error) {
	b, err := t.store.Get(h[:])
	if err != nil {
		return node{}, fmt.Errorf("commitment: load node %x: %w", h[:8], err)
	}
	n, ok := decodeNode(b)
	if !ok {
		return node{}, fmt.Errorf("%w: %x", ErrCorruptNode, h[:8])
	}
	return n, nil
}

func decodeNode(b []byte) (node, bool) {
	if len(b) < 5 {
		return node{}, false
	}
	switch b[0] {
	case tagLeaf:
		kl := int(binary.BigEndian.Uint32(b[1:5]))
		if kl > MaxKeyLen || len(b) != 5+kl+32 {
			return node{}, false
		}
		n := node{leaf: true, key: b[5 : 5+kl]}
		copy(n.vh[:], b[5+kl:])
		return n, true
	case tagInner:
		if len(b) < innerLen+4 {
			return node{}, false
		}
		rl := int(binary.BigEndian.Uint32(b[innerLen:]))
		if rl > MaxKeyLen || len(b) != innerLen+4+rl {
			return node{}, false
		}
		n := node{bit: int(binary.BigEndian.Uint32(b[1:5])), key: b[innerLen+4:]}
		copy(n.left[:], b[5:37])
		copy(n.right[:], b[37:69])
		return n, true
	}
	return node{}, false
}

// item is a subtree during Apply: its hash and the key of its leftmost leaf
// (nil while unknown, for an untouched right child).
type item struct {
	key  []byte
	hash Hash
}

type applier struct {
	t       *Tree
	orphans []Hash
	err     error // first Store.Put failure
}

// Apply applies a batch of updates to the tree with the given root and
// returns the new root and the orphans: the hashes of the nodes reachable
// from root that are not reachable from the new root, each once, in the
// (deterministic) order the batch visited them.
//
// The result depends only on root and the set of updates, not on their
// order: the batch is sorted by key first, and the trie of a key set is
// unique. A key may appear at most once per batch (ErrBadUpdate). Deleting
// an absent key and putting an unchanged value are no-ops.
//
// New nodes are written with Store.Put as they are made; a node that comes
// back (a row deleted and re-inserted with the same value) is Put again.
// Pruning: the orphans of the Apply at height H are nodes that only roots
// before H still reach. A store records for each node the height of its
// latest Put; once root H-1 need not be provable any more, it deletes each
// orphan of H whose latest Put is at or before H. A node re-created after H
// is live again and survives.
func (t *Tree) Apply(root Hash, updates []Update) (Hash, []Hash, error) {
	ups := slices.Clone(updates)
	for i := range ups {
		if len(ups[i].Key) > MaxKeyLen {
			return root, nil, fmt.Errorf("%w: key of %d bytes", ErrBadUpdate, len(ups[i].Key))
		}
	}
	slices.SortFunc(ups, func(a, b Update) int { return bytes.Compare(a.Key, b.Key) })
	for i := 1; i < len(ups); i++ {
		if bytes.Equal(ups[i-1].Key, ups[i].Key) {
			return root, nil, fmt.Errorf("%w: key %x twice", ErrBadUpdate, ups[i].Key)
		}
	}
	a := &applier{t: t}
	var res item
	var ok bool
	var err error
	if root == EmptyRoot {
		res, ok, err = a.buildPuts(ups, nil)
	} else {
		res, ok, err = a.apply(root, ups)
	}
	if err == nil {
		err = a.err
	}
	if err != nil {
		return root, nil, err
	}
	if !ok {
		res.hash = EmptyRoot
	}
	return res.hash, a.orphans, nil
}

// apply applies ups (sorted, non-empty) to the subtree h; ok is false when
// the subtree becomes empty.
func (a *applier) apply(h Hash, ups []Update) (item, bool, error) {
	n, err := a.t.load(h)
	if err != nil {
		return item{}, false, err
	}
	if n.leaf {
		return a.applyLeaf(h, &n, ups)
	}
	return a.applyInner(h, &n, ups)
}

func (a *applier) applyLeaf(h Hash, n *node, ups []Update) (item, bool, error) {
	pos, found := slices.BinarySearchFunc(ups, n.key, func(u Update, k []byte) int { return bytes.Compare(u.Key, k) })
	old := item{key: n.key, hash: h}
	if found {
		u := &ups[pos]
		switch {
		case u.Delete:
			a.orphans = append(a.orphans, h)
			return a.buildPuts(ups[:pos], ups[pos+1:])
		case u.ValueHash != n.vh:
			a.orphans = append(a.orphans, h)
			return a.buildPuts(ups, nil)
		}
		// Unchanged value, other keys too: keep the old leaf node.
		return a.buildAround(ups[:pos], &old, ups[pos+1:])
	}
	return a.buildAround(ups[:pos], &old, ups[pos:])
}

func (a *applier) applyInner(h Hash, n *node, ups []Update) (item, bool, error) {
	inside := func(k []byte) bool { return critBit(k, n.key) >= n.bit }
	lo, hi := 0, len(ups)
	if !inside(ups[0].Key) || !inside(ups[len(ups)-1].Key) {
		// Some keys leave this subtree's path prefix: they are absent from
		// the tree (deletes are no-ops) or new leaves above this node. The
		// keys inside are contiguous in key order.
		lo = slices.IndexFunc(ups, func(u Update) bool { return inside(u.Key) })
		if lo < 0 {
			lo = sort.Search(len(ups), func(i int) bool { return bytes.Compare(ups[i].Key, n.key) > 0 })
			hi = lo
		} else {
			hi = lo + 1
			for hi < len(ups) && inside(ups[hi].Key) {
				hi++
			}
		}
	}
	s, sok := item{key: n.key, hash: h}, true
	if sub := ups[lo:hi]; len(sub) > 0 {
		j := sort.Search(len(sub), func(i int) bool { return bitAt(sub[i].Key, n.bit) == 1 })
		l, lok := item{key: n.key, hash: n.left}, true
		r, rok := item{hash: n.right}, true
		var err error
		if j > 0 {
			if l, lok, err = a.apply(n.left, sub[:j]); err != nil {
				return item{}, false, err
			}
		}
		if j < len(sub) {
			if r, rok, err = a.apply(n.right, sub[j:]); err != nil {
				return item{}, false, err
			}
		}
		if !lok || !rok || l.hash != n.left || r.hash != n.right {
			a.orphans = append(a.orphans, h)
			switch {
			case lok && rok:
				s = a.mkInner(n.bit, &l, &r)
			case lok:
				s = l
			case rok:
				s = r
				if s.key == nil { // the untouched right child is all that is left
					rn, err := a.t.load(r.hash)
					if err != nil {
						return item{}, false, err
					}
					s.key = rn.key
				}
			default:
				sok = false
			}
		}
	}
	if !sok {
		return a.buildPuts(ups[:lo], ups[hi:])
	}
	return a.buildAround(ups[:lo], &s, ups[hi:])
}

// buildAround builds the subtree of mid (a subtree with its leftmost key)
// and the puts of before and after, which lie outside mid's path prefix on
// either side. Deletes there are of absent keys and are ignored.
func (a *applier) buildAround(before []Update, mid *item, after []Update) (item, bool, error) {
	if !hasPut(before) && !hasPut(after) {
		return *mid, true, nil
	}
	items := make([]item, 0, len(before)+1+len(after))
	items = a.appendPuts(items, before)
	items = append(items, *mid)
	items = a.appendPuts(items, after)
	return a.build(items), true, nil
}

// buildPuts builds the subtree of the puts of two sorted runs.
func (a *applier) buildPuts(x, y []Update) (item, bool, error) {
	items := a.appendPuts(a.appendPuts(make([]item, 0, len(x)+len(y)), x), y)
	if len(items) == 0 {
		return item{}, false, nil
	}
	return a.build(items), true, nil
}

func hasPut(ups []Update) bool {
	for i := range ups {
		if !ups[i].Delete {
			return true
		}
	}
	return false
}

func (a *applier) appendPuts(items []item, ups []Update) []item {
	for i := range ups {
		if !ups[i].Delete {
			items = append(items, a.mkLeaf(ups[i].Key, &ups[i].ValueHash))
		}
	}
	return items
}

// build returns the trie over items: non-empty, in key order, each a leaf
// or a subtree whose path prefix no other item shares. The root branches at
// the first bit where the first and last items differ.
func (a *applier) build(items []item) item {
	if len(items) == 1 {
		return items[0]
	}
	c := critBit(items[0].key, items[len(items)-1].key)
	i := sort.Search(len(items), func(i int) bool { return bitAt(items[i].key, c) == 1 })
	l, r := a.build(items[:i]), a.build(items[i:])
	return a.mkInner(c, &l, &r)
}

func (a *applier) mkLeaf(key []byte, vh *Hash) item {
	enc := appendLeaf(make([]byte, 0, 5+len(key)+32), key, vh)
	h := Hash(sha256.Sum256(enc))
	a.put(h, enc)
	return item{key: enc[5 : 5+len(key)], hash: h}
}

func (a *applier) mkInner(bit int, l, r *item) item {
	enc := make([]byte, innerLen, innerLen+4+len(l.key))
	enc[0] = tagInner
	binary.BigEndian.PutUint32(enc[1:5], uint32(bit))
	copy(enc[5:37], l.hash[:])
	copy(enc[37:69], r.hash[:])
	enc = binary.BigEndian.AppendUint32(enc, uint32(len(l.key)))
	enc = append(enc, l.key...)
	h := Hash(sha256.Sum256(enc[:innerLen]))
	a.put(h, enc)
	return item{key: enc[innerLen+4:], hash: h}
}

// put writes a new node. The first failure is kept and returned by Apply;
// the build carries on with results that are then discarded.
func (a *applier) put(h Hash, enc []byte) {
	if a.err != nil {
		return
	}
	if err := a.t.store.Put(h[:], enc); err != nil {
		a.err = fmt.Errorf("commitment: store node %x: %w", h[:8], err)
	}
}

// --- reads and proofs ------------------------------------------------------

// search follows the first qlen path bits of q from root down to the first
// node that is a leaf or branches at or beyond bit qlen, and returns the
// steps taken, that node and its hash. root must not be EmptyRoot.
func (t *Tree) search(root Hash, q []byte, qlen int) ([]Step, node, Hash, error) {
	var steps []Step
	h := root
	for {
		n, err := t.load(h)
		if err != nil {
			return nil, node{}, h, err
		}
		if n.leaf || n.bit >= qlen {
			return steps, n, h, nil
		}
		if bitAt(q, n.bit) == 0 {
			steps = append(steps, Step{Bit: uint32(n.bit), Sibling: n.right})
			h = n.left
		} else {
			steps = append(steps, Step{Bit: uint32(n.bit), Sibling: n.left})
			h = n.right
		}
	}
}

// leftmost descends from n (with hash h) to its leftmost leaf, appending
// the steps, and returns the proof ending at that leaf.
func (t *Tree) leftmost(steps []Step, n node) (Proof, error) {
	for !n.leaf {
		steps = append(steps, Step{Bit: uint32(n.bit), Sibling: n.right})
		var err error
		if n, err = t.load(n.left); err != nil {
			return Proof{}, err
		}
	}
	return Proof{Steps: steps, Terminal: TerminalLeaf, Leaf: Entry{Key: bytes.Clone(n.key), ValueHash: n.vh}}, nil
}

// Get returns the value hash of key in the tree with the given root.
func (t *Tree) Get(root Hash, key []byte) (Hash, bool, error) {
	if root == EmptyRoot {
		return Hash{}, false, nil
	}
	_, n, _, err := t.search(root, key, pathLen(key))
	if err != nil {
		return Hash{}, false, err
	}
	if n.leaf && bytes.Equal(n.key, key) {
		return n.vh, true, nil
	}
	return Hash{}, false, nil
}

// Prove returns a proof about key in the tree with the given root: if found,
// a membership proof of (key, valueHash) for VerifyMembership; otherwise a
// non-membership proof for VerifyNonMembership.
func (t *Tree) Prove(root Hash, key []byte) (p Proof, valueHash Hash, found bool, err error) {
	if len(key) > MaxKeyLen {
		return Proof{}, Hash{}, false, fmt.Errorf("%w: key of %d bytes", ErrBadKey, len(key))
	}
	if root == EmptyRoot {
		return Proof{}, Hash{}, false, nil
	}
	steps, n, _, err := t.search(root, key, pathLen(key))
	if err != nil {
		return Proof{}, Hash{}, false, err
	}
	if n.leaf && bytes.Equal(n.key, key) {
		return Proof{Steps: steps}, n.vh, true, nil
	}
	p, err = t.leftmost(steps, n)
	return p, Hash{}, false, err
}

// ProveRange returns every leaf whose key starts with prefix, in key order,
// and the proof for VerifyRange.
func (t *Tree) ProveRange(root Hash, prefix []byte) ([]Entry, Proof, error) {
	if len(prefix) > MaxKeyLen {
		return nil, Proof{}, fmt.Errorf("%w: prefix of %d bytes", ErrBadKey, len(prefix))
	}
	if root == EmptyRoot {
		return nil, Proof{}, nil
	}
	steps, n, h, err := t.search(root, prefix, prefixLen(prefix))
	if err != nil {
		return nil, Proof{}, err
	}
	if !bytes.HasPrefix(n.key, prefix) {
		p, err := t.leftmost(steps, n)
		return nil, p, err
	}
	var entries []Entry
	if entries, err = t.collect(entries, n); err != nil {
		return nil, Proof{}, err
	}
	return entries, Proof{Steps: steps, Terminal: TerminalSubtree, Subtree: h}, nil
}

// collect appends the leaves below n in key order.
func (t *Tree) collect(dst []Entry, n node) ([]Entry, error) {
	if n.leaf {
		return append(dst, Entry{Key: bytes.Clone(n.key), ValueHash: n.vh}), nil
	}
	for _, c := range [2]Hash{n.left, n.right} {
		cn, err := t.load(c)
		if err != nil {
			return nil, err
		}
		if dst, err = t.collect(dst, cn); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// MemStore is a Store in memory, for tests and tools.
type MemStore struct {
	mu    sync.RWMutex
	nodes map[Hash][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{nodes: make(map[Hash][]byte)} }

// Get returns the node with the hash; the slice must not be modified.
func (m *MemStore) Get(hash []byte) ([]byte, error) {
	if len(hash) != len(Hash{}) {
		return nil, fmt.Errorf("%w: hash of %d bytes", ErrNodeNotFound, len(hash))
	}
	m.mu.RLock()
	b, ok := m.nodes[Hash(hash)]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %x", ErrNodeNotFound, hash[:8])
	}
	return b, nil
}

// Put stores the node under its hash; it keeps node without copying.
func (m *MemStore) Put(hash, node []byte) error {
	if len(hash) != len(Hash{}) {
		return fmt.Errorf("commitment: hash of %d bytes", len(hash))
	}
	m.mu.Lock()
	m.nodes[Hash(hash)] = node
	m.mu.Unlock()
	return nil
}

// Delete removes a node (pruning).
func (m *MemStore) Delete(hash Hash) {
	m.mu.Lock()
	delete(m.nodes, hash)
	m.mu.Unlock()
}

// Len returns the number of nodes stored.
func (m *MemStore) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.nodes)
}
