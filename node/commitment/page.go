package commitment

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Pages of a range (docs/spec/commitment.md, "Pages"). A range too large
// to prove at once is proven in pages, each a contiguous run of the
// range's leaves. A page proof is the range proof's path down to N (the
// node under which the range lies) and N's subtree with every part outside
// the page replaced by its hash, the shape:
//
//	shape := 00                      a leaf: the page's next entry
//	       | 01 bit:u32 shape shape  an inner node (left, then right)
//	       | 02 hash:32              a subtree outside the page
//
// Its hash must be N's, so the shape is N's real structure: the page's
// entries are N's leaves between the subtrees left of them and those right
// of them. A page is therefore every key of the range in [first entry,
// last entry]; pages chain to the complete range when the first has
// nothing left of it, each next one starts with the previous one's last
// entry, and the last has nothing right of it.

// PageProof proves one page of the range of a prefix.
type PageProof struct {
	// Range is the path from the root to N, terminal TerminalSubtree.
	Range Proof
	// Shape is N's subtree as above, in pre-order.
	Shape []byte
}

const (
	shapeLeaf   = 0
	shapeInner  = 1
	shapeOpaque = 2
)

// Encode returns range proof length u32 | range proof | shape.
func (p *PageProof) Encode() []byte {
	rp := p.Range.Encode()
	dst := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(rp)+len(p.Shape)), uint32(len(rp)))
	return append(append(dst, rp...), p.Shape...)
}

// DecodePageProof parses Encode's output (ErrBadProof); the shape is parsed
// by VerifyPage.
func DecodePageProof(b []byte) (PageProof, error) {
	if len(b) < 4 {
		return PageProof{}, fmt.Errorf("%w: page proof of %d bytes", ErrBadProof, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return PageProof{}, fmt.Errorf("%w: range proof of %d bytes in %d", ErrBadProof, n, len(b)-4)
	}
	rp, err := DecodeProof(b[4 : 4+n])
	if err != nil {
		return PageProof{}, err
	}
	return PageProof{Range: rp, Shape: append([]byte{}, b[4+n:]...)}, nil
}

// ProvePage returns the page of the range of prefix that starts at the
// first key ≥ from (nil: the range's first key) and holds at most limit
// (≥ 1) entries, its proof, and whether keys of the range follow it. An
// empty range, or no key ≥ from, returns no entries (prove the range
// itself with ProveRange then).
func (t *Trie) ProvePage(prefix, from []byte, limit int) ([]Entry, PageProof, bool, error) {
	if len(prefix) > MaxKeyLen {
		return nil, PageProof{}, false, fmt.Errorf("%w: prefix of %d bytes", ErrBadKey, len(prefix))
	}
	if limit < 1 {
		return nil, PageProof{}, false, fmt.Errorf("commitment: page limit %d", limit)
	}
	root := t.top()
	if root == nil {
		return nil, PageProof{}, false, nil
	}
	steps, n := search(make([]Step, 0, 32), root, prefix, prefixLen(prefix))
	if !bytes.HasPrefix(n.key(), prefix) {
		return nil, PageProof{}, false, nil
	}
	pg := &pager{from: from, limit: limit}
	pg.walk(n)
	if len(pg.entries) == 0 {
		return nil, PageProof{}, false, nil
	}
	return pg.entries, PageProof{Range: Proof{Steps: steps, Terminal: TerminalSubtree, Subtree: n.hash}, Shape: pg.shape}, pg.more, nil
}

// pager walks N in key order: subtrees wholly before from, or after the
// page is full, are opaque; the rest is expanded.
type pager struct {
	from    []byte
	limit   int
	entries []Entry
	shape   []byte
	more    bool
}

// lastKey is the largest key under n.
func lastKey(n *node) []byte {
	for !n.isLeaf() {
		n = n.right
	}
	return n.key()
}

func (p *pager) opaque(n *node) {
	p.shape = append(append(p.shape, shapeOpaque), n.hash[:]...)
}

func (p *pager) walk(n *node) {
	switch {
	case len(p.entries) >= p.limit:
		p.more = true
		p.opaque(n)
	case p.from != nil && bytes.Compare(lastKey(n), p.from) < 0:
		p.opaque(n) // wholly before the page
	case n.isLeaf():
		p.shape = append(p.shape, shapeLeaf)
		p.entries = append(p.entries, Entry{Key: bytes.Clone(n.key()), ValueHash: n.lf.vh})
	default:
		p.shape = binary.BigEndian.AppendUint32(append(p.shape, shapeInner), n.bit)
		p.walk(n.left)
		p.walk(n.right)
	}
}

// VerifyPage checks that entries are a contiguous run of the leaves of the
// range of prefix, and says whether leaves of the range precede and follow
// it:
//
//	a) prefix at most MaxKeyLen (ErrBadKey); entries not empty, strictly
//	   ascending, each extending prefix                            (ErrBadEntries)
//	b) the range proof has TerminalSubtree S, its step bits strictly
//	   increase within the prefix's path bits                      (ErrBadProof),
//	   and hashing S up the steps gives root                        (ErrRootMismatch)
//	c) the shape parses: known tags, inner bits strictly increasing
//	   downwards, no trailing bytes                                (ErrBadProof);
//	   one leaf per entry, and no subtree hash between two of its
//	   leaves (the page is contiguous)                             (ErrIncomplete)
//	d) the shape, its leaves the entries, hashes to S              (ErrIncomplete)
func VerifyPage(root Hash, prefix []byte, entries []Entry, p PageProof) (before, after bool, err error) {
	if len(prefix) > MaxKeyLen {
		return false, false, fmt.Errorf("%w: prefix of %d bytes", ErrBadKey, len(prefix))
	}
	if len(entries) == 0 {
		return false, false, fmt.Errorf("%w: a page without entries", ErrBadEntries)
	}
	for i := range entries {
		k := entries[i].Key
		if len(k) > MaxKeyLen || !bytes.HasPrefix(k, prefix) {
			return false, false, fmt.Errorf("%w: entry %d: key %x outside prefix %x", ErrBadEntries, i, k, prefix)
		}
		if i > 0 && bytes.Compare(entries[i-1].Key, k) >= 0 {
			return false, false, fmt.Errorf("%w: entry %d: key %x not after %x", ErrBadEntries, i, k, entries[i-1].Key)
		}
	}
	if p.Range.Terminal != TerminalSubtree {
		return false, false, fmt.Errorf("%w: a page proof ends at a subtree, not terminal %d", ErrBadProof, p.Range.Terminal)
	}
	if err := checkSteps(p.Range.Steps, prefixLen(prefix)); err != nil {
		return false, false, err
	}
	if climb(p.Range.Subtree, p.Range.Steps, prefix) != root {
		return false, false, fmt.Errorf("%w: page of range %x", ErrRootMismatch, prefix)
	}
	sp := &shapeParser{b: p.Shape, entries: entries}
	h, err := sp.node(-1, 0)
	if err != nil {
		return false, false, err
	}
	switch {
	case len(sp.b) != 0:
		return false, false, fmt.Errorf("%w: %d trailing shape bytes", ErrBadProof, len(sp.b))
	case sp.used != len(entries):
		return false, false, fmt.Errorf("%w: shape has %d leaves for %d entries", ErrIncomplete, sp.used, len(entries))
	case sp.gap:
		return false, false, fmt.Errorf("%w: a subtree outside the page lies between its entries", ErrIncomplete)
	case h != p.Range.Subtree:
		return false, false, fmt.Errorf("%w: the page's shape does not rebuild the range's subtree", ErrIncomplete)
	}
	return sp.before, sp.after, nil
}

// maxShapeDepth bounds the recursion: inner bits strictly increase and are
// below a key's path length.
const maxShapeDepth = 9*MaxKeyLen + 1

type shapeParser struct {
	b       []byte
	entries []Entry
	used    int
	// before: an opaque subtree precedes the first leaf; after: one
	// follows the last leaf; gap: one lies between two leaves.
	before, after, gap bool
}

func (s *shapeParser) node(parentBit, depth int) (Hash, error) {
	if len(s.b) < 1 || depth > maxShapeDepth {
		return Hash{}, fmt.Errorf("%w: short page shape", ErrBadProof)
	}
	tag := s.b[0]
	s.b = s.b[1:]
	switch tag {
	case shapeLeaf:
		if s.used >= len(s.entries) {
			return Hash{}, fmt.Errorf("%w: shape has more leaves than the %d entries", ErrIncomplete, len(s.entries))
		}
		if s.after {
			s.gap = true
		}
		e := &s.entries[s.used]
		s.used++
		return leafHash(e.Key, &e.ValueHash), nil
	case shapeInner:
		if len(s.b) < 4 {
			return Hash{}, fmt.Errorf("%w: short inner node", ErrBadProof)
		}
		bit := int(binary.BigEndian.Uint32(s.b))
		s.b = s.b[4:]
		if bit <= parentBit || bit >= maxShapeDepth {
			return Hash{}, fmt.Errorf("%w: inner node at bit %d under bit %d", ErrBadProof, bit, parentBit)
		}
		l, err := s.node(bit, depth+1)
		if err != nil {
			return Hash{}, err
		}
		r, err := s.node(bit, depth+1)
		if err != nil {
			return Hash{}, err
		}
		return innerHash(bit, &l, &r), nil
	case shapeOpaque:
		if len(s.b) < 32 {
			return Hash{}, fmt.Errorf("%w: short subtree hash", ErrBadProof)
		}
		var h Hash
		copy(h[:], s.b)
		s.b = s.b[32:]
		if s.used == 0 {
			s.before = true
		} else {
			s.after = true
		}
		return h, nil
	}
	return Hash{}, fmt.Errorf("%w: shape tag %d", ErrBadProof, tag)
}
