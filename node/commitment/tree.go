package commitment

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
)

// This file is the node's side: the trie itself, held in memory as a
// persistent (path-copying) tree of immutable nodes. An Apply copies only
// the nodes on changed paths and shares every other node with the version
// it started from, so keeping a recent version alive costs only the nodes
// that changed since, and dropping a version is dropping its *Trie: the
// garbage collector frees what no kept version reaches. The inner nodes are
// never stored; the node keeps its leaves (key, value hash) in a sorted
// table and rebuilds the trie with Build at startup.

// node is a trie node. It is never modified once made, which is what lets
// versions share it and readers use it without locks.
//
// A node is 64 bytes, one cache line: a walk down reads one line per level
// (Apply touches ~11 cold nodes per update at 1M rows, so misses are much
// of its cost), and every byte Apply allocates is garbage-collection work
// later, since each Apply allocates a new path.
//
// A leaf is a node with nil children, allocated with its leaf data (see
// newLeaf). An inner node's lf is its leftmost leaf's data: its key tells
// Apply the path prefix all leaves below share, so a key that diverges
// above the node is recognised without walking down.
//
// win holds the last four key bytes before the node's bit (see window), so
// that Apply can usually check that a key shares the node's path prefix
// without reading the leftmost leaf's key, a cache miss at nearly every
// node below the top levels that cost about a fifth of an Apply at 1M rows.
type node struct {
	hash        Hash // cached: every node is hashed exactly once, when made
	left, right *node
	bit         uint32 // inner only: the path bit it branches on
	win         uint32 // inner only: window(k, bit) for a key k below
	lf          *leaf
}

// leaf is a leaf's key and value hash. The key is a private copy, so the
// trie never aliases memory the caller might change.
type leaf struct {
	vh  Hash
	key []byte
}

func (n *node) isLeaf() bool { return n.left == nil }

// key returns a leaf's key, or an inner node's leftmost leaf's key.
func (n *node) key() []byte { return n.lf.key }

// newLeaf allocates the node and its leaf data together, so a leaf is two
// heap objects (this and its key's bytes), not three.
func newLeaf(key []byte, vh *Hash) *node {
	ln := &struct {
		n node
		l leaf
	}{}
	ln.l = leaf{vh: *vh, key: bytes.Clone(key)}
	ln.n = node{hash: leafHash(ln.l.key, vh), lf: &ln.l}
	return &ln.n
}

// newInner makes the node branching at bit over l and r; win must be
// window(k, bit) for some key k under it (all of them agree there).
func newInner(bit int, l, r *node, win uint32) *node {
	return &node{hash: innerHash(bit, &l.hash, &r.hash), lf: l.lf, left: l, right: r, bit: uint32(bit), win: win}
}

// window returns key bytes j-3..j as a big-endian word (0 where a byte is
// absent), where j = (bit-1)/9 is the byte holding path bit bit-1: the last
// path bits before bit.
func window(key []byte, bit int) uint32 {
	if bit <= 0 {
		return 0
	}
	j1 := (bit - 1) / 9
	var w uint32
	for j := j1 - 3; j <= j1; j++ {
		w <<= 8
		if j >= 0 && j < len(key) {
			w |= uint32(key[j])
		}
	}
	return w
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

// Trie is one version of the trie. It is immutable: Apply returns a new
// version and leaves the receiver as it was, so a reader may prove against
// a version (for example the last committed block's) while the writer
// builds the next, with no lock. Versions share their unchanged nodes.
//
// A nil *Trie and the zero Trie are the empty trie, like Empty().
type Trie struct {
	root *node // nil when empty
	n    int
}

// Empty returns the trie with no leaves, whose root is EmptyRoot: the
// starting point of a new chain.
func Empty() *Trie { return &Trie{} }

// Root returns the root hash: the commitment to the set of (key, value
// hash) pairs, independent of how it was reached.
func (t *Trie) Root() Hash {
	if t == nil || t.root == nil {
		return EmptyRoot
	}
	return t.root.hash
}

// Len returns the number of leaves, which lets the node check a rebuilt
// trie against the row count of its leaf table.
func (t *Trie) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

func (t *Trie) top() *node {
	if t == nil {
		return nil
	}
	return t.root
}

// Build returns the trie of the entries in O(n), for rebuilding the trie at
// startup from the node's sorted leaf table. The entries must be strictly
// ascending by key (bytewise, the order of the leaf table's primary key) and
// each key at most MaxKeyLen bytes; otherwise Build returns an error
// wrapping ErrBadUpdate, because a table out of order means the caller's
// storage is not what it thinks, and a silently re-sorted rebuild would hide
// that. Keys and value hashes are copied.
func Build(entries []Entry) (*Trie, error) {
	if len(entries) == 0 {
		return Empty(), nil
	}
	items := make([]*node, len(entries))
	for i := range entries {
		k := entries[i].Key
		if len(k) > MaxKeyLen {
			return nil, fmt.Errorf("%w: entry %d: key of %d bytes", ErrBadUpdate, i, len(k))
		}
		if i > 0 && bytes.Compare(entries[i-1].Key, k) >= 0 {
			return nil, fmt.Errorf("%w: entry %d: key %x not after %x", ErrBadUpdate, i, k, entries[i-1].Key)
		}
		items[i] = newLeaf(k, &entries[i].ValueHash)
	}
	return &Trie{root: build(items), n: len(entries)}, nil
}

// Apply returns the version after one batch of puts and deletes; t is not
// changed. The result depends only on t and the set of updates, not on
// their order (the batch is sorted by key first, and the trie of a key set
// is unique). A key may appear at most once per batch, and a key is at most
// MaxKeyLen bytes (ErrBadUpdate, and t stays the current version). Deleting
// an absent key and putting an unchanged value are no-ops.
//
// Apply walks down once, splitting the sorted batch at each node's bit,
// makes new nodes only on changed paths and hashes each of them once,
// bottom-up. The caller's keys are copied, never retained.
func (t *Trie) Apply(updates []Update) (*Trie, error) {
	ups := slices.Clone(updates)
	for i := range ups {
		if len(ups[i].Key) > MaxKeyLen {
			return nil, fmt.Errorf("%w: key of %d bytes", ErrBadUpdate, len(ups[i].Key))
		}
	}
	slices.SortFunc(ups, func(a, b Update) int { return bytes.Compare(a.Key, b.Key) })
	for i := 1; i < len(ups); i++ {
		if bytes.Equal(ups[i-1].Key, ups[i].Key) {
			return nil, fmt.Errorf("%w: key %x twice", ErrBadUpdate, ups[i].Key)
		}
	}
	var a applier
	root := t.top()
	if len(ups) > 0 {
		if root == nil {
			root = a.buildPuts(ups, nil)
		} else {
			root = a.apply(root, ups, -1)
		}
	}
	return &Trie{root: root, n: t.Len() + a.delta}, nil
}

// applier carries one Apply's count of leaves added minus leaves removed.
type applier struct {
	delta int
}

// apply applies ups (sorted, non-empty) to the subtree n and returns the
// new subtree, nil if it became empty, or n itself if nothing changed.
//
// pb is the bit of the parent that routed ups here (-1 at the root): every
// key in ups agrees with n's leaves up to and including that path bit.
func (a *applier) apply(n *node, ups []Update, pb int) *node {
	if n.isLeaf() {
		return a.applyLeaf(n, ups)
	}
	return a.applyInner(n, ups, pb)
}

func (a *applier) applyLeaf(n *node, ups []Update) *node {
	pos, found := slices.BinarySearchFunc(ups, n.key(), func(u Update, k []byte) int { return bytes.Compare(u.Key, k) })
	if found {
		u := &ups[pos]
		switch {
		case u.Delete:
			a.delta--
			return a.buildPuts(ups[:pos], ups[pos+1:])
		case u.ValueHash != n.lf.vh:
			a.delta-- // replaced by the new leaf that buildPuts counts
			return a.buildPuts(ups, nil)
		}
		// Unchanged value: keep the old leaf, place the others around it.
		return a.buildAround(ups[:pos], n, ups[pos+1:])
	}
	return a.buildAround(ups[:pos], n, ups[pos:])
}

// inside reports whether key lies under the inner node n: it shares the
// first n.bit path bits of n's leaves. The caller guarantees that key
// already agrees with them up to and including path bit pb (the bit of the
// parent that routed key here; -1 at the root), so only the bits strictly
// between pb and n.bit need checking. When those lie in the last four bytes
// before n.bit, n.win answers without touching the leftmost leaf's key.
func inside(key []byte, n *node, pb int) bool {
	b := int(n.bit)
	if pb+1 >= b {
		return true // no bits skipped between the parent and n
	}
	j1, j0 := (b-1)/9, (pb+1)/9
	if j0+3 < j1 {
		return critBit(key, n.key()) >= b
	}
	// The marker bit 9j of every byte j <= j1 whose marker is checked says
	// the key has byte j; n's leaves have all of them. (If 9*j1 <= pb the
	// key agreed at that marker already, so it has byte j1.)
	if 9*j1 > pb && len(key) <= j1 {
		return false
	}
	var mask uint32
	for j := j0; j <= j1; j++ {
		// The data bits 9j+k (k = 1..8, bit 8-k of byte j) in (pb, b).
		klo, khi := max(1, pb+1-9*j), min(8, b-1-9*j)
		if klo <= khi {
			mask |= (1<<(khi-klo+1) - 1) << (8 - khi) << (8 * (j1 - j))
		}
	}
	return (window(key, b)^n.win)&mask == 0
}

func (a *applier) applyInner(n *node, ups []Update, pb int) *node {
	lo, hi := 0, len(ups)
	if !inside(ups[0].Key, n, pb) || !inside(ups[hi-1].Key, n, pb) {
		// Some keys leave this subtree's path prefix: they are absent from
		// the trie (deletes are no-ops) or new leaves above this node. The
		// keys inside are contiguous in key order.
		lo = slices.IndexFunc(ups, func(u Update) bool { return inside(u.Key, n, pb) })
		if lo < 0 {
			lo = sort.Search(len(ups), func(i int) bool { return bytes.Compare(ups[i].Key, n.key()) > 0 })
			hi = lo
		} else {
			hi = lo + 1
			for hi < len(ups) && inside(ups[hi].Key, n, pb) {
				hi++
			}
		}
	}
	s := n
	if sub := ups[lo:hi]; len(sub) > 0 {
		bit := int(n.bit)
		j := sort.Search(len(sub), func(i int) bool { return bitAt(sub[i].Key, bit) == 1 })
		// The side no update enters is cold in cache, and its hash goes into
		// n's new hash: read it before descending, so that its cache miss
		// overlaps the walk down the other side instead of following it.
		var sib Hash
		switch j {
		case 0:
			sib = n.left.hash
		case len(sub):
			sib = n.right.hash
		}
		l, r := n.left, n.right
		if j > 0 {
			l = a.apply(n.left, sub[:j], bit)
		}
		if j < len(sub) {
			r = a.apply(n.right, sub[j:], bit)
		}
		switch {
		case l == n.left && r == n.right: // nothing changed below: keep n
		case l != nil && r != nil:
			lh, rh, rep := &l.hash, &r.hash, l.lf
			switch j {
			case 0:
				lh, rep = &sib, n.lf // the same leftmost leaf as n
			case len(sub):
				rh = &sib
			}
			// Same bit as n, and its leaves are a subset of n's: n.win holds.
			s = &node{hash: innerHash(bit, lh, rh), lf: rep, left: l, right: r, bit: n.bit, win: n.win}
		case l != nil:
			s = l
		default:
			s = r // nil when both sides became empty
		}
	}
	if s == nil {
		return a.buildPuts(ups[:lo], ups[hi:])
	}
	return a.buildAround(ups[:lo], s, ups[hi:])
}

// buildAround returns the subtree of mid and the puts of before and after,
// which lie outside mid's path prefix on either side. Deletes there are of
// absent keys and are ignored.
func (a *applier) buildAround(before []Update, mid *node, after []Update) *node {
	if !hasPut(before) && !hasPut(after) {
		return mid
	}
	items := make([]*node, 0, len(before)+1+len(after))
	items = a.appendPuts(items, before)
	items = append(items, mid)
	items = a.appendPuts(items, after)
	return build(items)
}

// buildPuts returns the subtree of the puts of two sorted runs, nil if
// there are none.
func (a *applier) buildPuts(x, y []Update) *node {
	items := a.appendPuts(a.appendPuts(make([]*node, 0, len(x)+len(y)), x), y)
	if len(items) == 0 {
		return nil
	}
	return build(items)
}

func hasPut(ups []Update) bool {
	for i := range ups {
		if !ups[i].Delete {
			return true
		}
	}
	return false
}

func (a *applier) appendPuts(items []*node, ups []Update) []*node {
	for i := range ups {
		if !ups[i].Delete {
			items = append(items, newLeaf(ups[i].Key, &ups[i].ValueHash))
			a.delta++
		}
	}
	return items
}

// build returns the trie over items: non-empty, in key order, each a leaf
// or a subtree whose path prefix no other item shares.
//
// It runs in O(len(items)) with one pass and a stack. The branching bits of
// the trie are exactly the critical bits d(i) between neighbours i-1 and i,
// and a subtree's root branches at the smallest d in its range (which is
// unique there): the trie is the Cartesian tree of the d's. The stack holds
// the right spine's inner nodes still waiting for their right child, as
// (left child, bit) with bits increasing upwards; a new neighbour bit d
// completes every waiting node with a larger bit.
func build(items []*node) *node {
	type pending struct {
		left *node
		bit  int
		win  uint32
	}
	var buf [16]pending // deep enough for realistic keys; append grows past it
	stack := buf[:0]
	cur := items[0]
	for i := 1; i < len(items); i++ {
		d := critBit(items[i-1].key(), items[i].key())
		for len(stack) > 0 && stack[len(stack)-1].bit > d {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			cur = newInner(top.bit, top.left, cur, top.win)
		}
		stack = append(stack, pending{cur, d, window(items[i].key(), d)})
		cur = items[i]
	}
	for i := len(stack) - 1; i >= 0; i-- {
		cur = newInner(stack[i].bit, stack[i].left, cur, stack[i].win)
	}
	return cur
}

// --- reads and proofs ------------------------------------------------------

// search follows the first qlen path bits of q from n down to the first node
// that is a leaf or branches at or beyond bit qlen, appending the steps.
func search(steps []Step, n *node, q []byte, qlen int) ([]Step, *node) {
	for !n.isLeaf() && int(n.bit) < qlen {
		if bitAt(q, int(n.bit)) == 0 {
			steps = append(steps, Step{Bit: n.bit, Sibling: n.right.hash})
			n = n.left
		} else {
			steps = append(steps, Step{Bit: n.bit, Sibling: n.left.hash})
			n = n.right
		}
	}
	return steps, n
}

// leftmost descends from n to its leftmost leaf, appending the steps, and
// returns the proof ending at that leaf.
func leftmost(steps []Step, n *node) Proof {
	for !n.isLeaf() {
		steps = append(steps, Step{Bit: n.bit, Sibling: n.right.hash})
		n = n.left
	}
	return Proof{Steps: steps, Terminal: TerminalLeaf, Leaf: Entry{Key: bytes.Clone(n.key()), ValueHash: n.lf.vh}}
}

// Get returns the value hash of key, and whether it is present.
func (t *Trie) Get(key []byte) (Hash, bool) {
	n := t.top()
	if n == nil {
		return Hash{}, false
	}
	for !n.isLeaf() {
		if bitAt(key, int(n.bit)) == 0 {
			n = n.left
		} else {
			n = n.right
		}
	}
	if bytes.Equal(n.key(), key) {
		return n.lf.vh, true
	}
	return Hash{}, false
}

// Prove returns a proof about key: if found, a membership proof of (key,
// valueHash) for VerifyMembership; otherwise a non-membership proof for
// VerifyNonMembership. A key over MaxKeyLen is refused (ErrBadKey), since
// no verifier would accept a proof about it.
func (t *Trie) Prove(key []byte) (p Proof, valueHash Hash, found bool, err error) {
	if len(key) > MaxKeyLen {
		return Proof{}, Hash{}, false, fmt.Errorf("%w: key of %d bytes", ErrBadKey, len(key))
	}
	root := t.top()
	if root == nil {
		return Proof{}, Hash{}, false, nil
	}
	steps, n := search(make([]Step, 0, 32), root, key, pathLen(key))
	if n.isLeaf() && bytes.Equal(n.key(), key) {
		return Proof{Steps: steps}, n.lf.vh, true, nil
	}
	return leftmost(steps, n), Hash{}, false, nil
}

// ProveRange returns every leaf whose key starts with prefix, in key order,
// and the proof for VerifyRange. The entries' keys are copies.
func (t *Trie) ProveRange(prefix []byte) ([]Entry, Proof, error) {
	if len(prefix) > MaxKeyLen {
		return nil, Proof{}, fmt.Errorf("%w: prefix of %d bytes", ErrBadKey, len(prefix))
	}
	root := t.top()
	if root == nil {
		return nil, Proof{}, nil
	}
	steps, n := search(make([]Step, 0, 32), root, prefix, prefixLen(prefix))
	if !bytes.HasPrefix(n.key(), prefix) {
		return nil, leftmost(steps, n), nil
	}
	return collect(nil, n), Proof{Steps: steps, Terminal: TerminalSubtree, Subtree: n.hash}, nil
}

// collect appends the leaves below n in key order.
func collect(dst []Entry, n *node) []Entry {
	if n.isLeaf() {
		return append(dst, Entry{Key: bytes.Clone(n.key()), ValueHash: n.lf.vh})
	}
	return collect(collect(dst, n.left), n.right)
}
