package commitment

import (
	"bytes"
	"fmt"
	"sort"
)

// This file is the light client's side: pure functions of their arguments
// (SHA-256 only, no I/O, no clock, no store). The checks are ordered so that
// the error class says what failed: the shape of the proof (ErrBadProof),
// then its authenticity against the root (ErrRootMismatch), then the claim
// it is asked to support (ErrIncomplete, ErrKeyPresent).

// VerifyMembership checks that, in the tree with the given root, key is
// present with valueHash.
//
// Checks, in order:
//
//	a) len(key) <= MaxKeyLen                                       (ErrBadKey)
//	b) the proof's terminal is TerminalNone: the path ends at the claimed
//	   leaf itself                                                 (ErrBadProof)
//	c) the step bits strictly increase downwards and each is below the
//	   key's path length, as in every trie node above a leaf       (ErrBadProof)
//	d) hashing the leaf (key, valueHash) up the steps, entering at each
//	   step the side given by the key's bit, gives root            (ErrRootMismatch)
func VerifyMembership(root Hash, key []byte, valueHash Hash, p Proof) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key of %d bytes", ErrBadKey, len(key))
	}
	if p.Terminal != TerminalNone {
		return fmt.Errorf("%w: membership proof with terminal %d", ErrBadProof, p.Terminal)
	}
	if err := checkSteps(p.Steps, pathLen(key)); err != nil {
		return err
	}
	if climb(leafHash(key, &valueHash), p.Steps, key) != root {
		return fmt.Errorf("%w: membership of %x", ErrRootMismatch, key)
	}
	return nil
}

// VerifyNonMembership checks that, in the tree with the given root, no leaf
// has the key. A trie search for the key ends at exactly one leaf (or finds
// the tree empty); the proof is that search path and the leaf it ends at.
//
// Checks, in order:
//
//	a) len(key) <= MaxKeyLen                                       (ErrBadKey)
//	b) terminal TerminalNone with no steps: root is EmptyRoot
//	   (ErrBadProof if there are steps, ErrRootMismatch if the root differs);
//	   TerminalSubtree is refused                                  (ErrBadProof)
//	c) terminal TerminalLeaf W: the step bits strictly increase, each is
//	   below W's path length, and at every step whose bit lies within the
//	   key's path, the key and W agree on that bit: the search for the key
//	   takes exactly this path                                     (ErrBadProof)
//	d) hashing W up the steps gives root                           (ErrRootMismatch)
//	e) W's key differs from key, so the search ended elsewhere and the key
//	   is absent                                                   (ErrKeyPresent)
func VerifyNonMembership(root Hash, key []byte, p Proof) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key of %d bytes", ErrBadKey, len(key))
	}
	switch p.Terminal {
	case TerminalNone:
		return verifyEmptyTree(root, p)
	case TerminalLeaf:
	default:
		return fmt.Errorf("%w: non-membership proof with terminal %d", ErrBadProof, p.Terminal)
	}
	w := &p.Leaf
	if err := checkWitness(p.Steps, w, key, pathLen(key)); err != nil {
		return err
	}
	if climb(leafHash(w.Key, &w.ValueHash), p.Steps, w.Key) != root {
		return fmt.Errorf("%w: non-membership of %x", ErrRootMismatch, key)
	}
	if bytes.Equal(w.Key, key) {
		return fmt.Errorf("%w: %x", ErrKeyPresent, key)
	}
	return nil
}

// VerifyRange checks that entries are exactly the leaves whose key starts
// with prefix in the tree with the given root: none omitted, none added,
// none altered. An empty prefix claims the whole tree.
//
// In the trie, all keys with the prefix lie under one node N: the node
// reached by following the prefix's bits from the root until a node
// branches at or beyond the prefix's end. The proof is the path to N; if N's
// leaves carry the prefix, N's hash (TerminalSubtree) and the entries must
// rebuild it; if they do not, one leaf under N (TerminalLeaf) shows the range
// empty.
//
// Checks, in order:
//
//	a) len(prefix) <= MaxKeyLen (ErrBadKey); the entries are strictly
//	   ascending by key, and each key starts with prefix and is at most
//	   MaxKeyLen bytes                                             (ErrBadEntries)
//	b) TerminalNone: no steps (ErrBadProof), root is EmptyRoot
//	   (ErrRootMismatch), and entries is empty                     (ErrIncomplete)
//	c) TerminalSubtree S: the step bits strictly increase and each lies
//	   within the prefix's path bits, so the path stops at N and
//	   skips no part of the range                                  (ErrBadProof);
//	   hashing S up the steps, entering the side of the prefix's bit,
//	   gives root                                                  (ErrRootMismatch);
//	   entries is not empty and the trie built from entries alone
//	   hashes to S                                                 (ErrIncomplete)
//	d) TerminalLeaf W: W's key does not start with prefix; the step bits
//	   strictly increase, each is below W's path length, and W agrees with
//	   the prefix at every step bit within the prefix's path bits  (ErrBadProof);
//	   hashing W up the steps gives root                           (ErrRootMismatch);
//	   entries is empty                                            (ErrIncomplete)
func VerifyRange(root Hash, prefix []byte, entries []Entry, p Proof) error {
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: prefix of %d bytes", ErrBadKey, len(prefix))
	}
	for i := range entries {
		k := entries[i].Key
		if len(k) > MaxKeyLen {
			return fmt.Errorf("%w: entry %d: key of %d bytes", ErrBadEntries, i, len(k))
		}
		if !bytes.HasPrefix(k, prefix) {
			return fmt.Errorf("%w: entry %d: key %x outside prefix %x", ErrBadEntries, i, k, prefix)
		}
		if i > 0 && bytes.Compare(entries[i-1].Key, k) >= 0 {
			return fmt.Errorf("%w: entry %d: key %x not after %x", ErrBadEntries, i, k, entries[i-1].Key)
		}
	}
	plen := prefixLen(prefix)
	switch p.Terminal {
	case TerminalNone:
		if err := verifyEmptyTree(root, p); err != nil {
			return err
		}
		if len(entries) > 0 {
			return fmt.Errorf("%w: %d entries claimed in the empty tree", ErrIncomplete, len(entries))
		}
		return nil
	case TerminalSubtree:
		if err := checkSteps(p.Steps, plen); err != nil {
			return err
		}
		if climb(p.Subtree, p.Steps, prefix) != root {
			return fmt.Errorf("%w: range %x", ErrRootMismatch, prefix)
		}
		if len(entries) == 0 {
			return fmt.Errorf("%w: no entries for a non-empty range", ErrIncomplete)
		}
		if subtreeHash(entries) != p.Subtree {
			return fmt.Errorf("%w: %d entries do not rebuild the range's subtree", ErrIncomplete, len(entries))
		}
		return nil
	case TerminalLeaf:
		w := &p.Leaf
		if bytes.HasPrefix(w.Key, prefix) {
			return fmt.Errorf("%w: empty-range witness %x inside the range", ErrBadProof, w.Key)
		}
		if err := checkWitness(p.Steps, w, prefix, plen); err != nil {
			return err
		}
		if climb(leafHash(w.Key, &w.ValueHash), p.Steps, w.Key) != root {
			return fmt.Errorf("%w: range %x", ErrRootMismatch, prefix)
		}
		if len(entries) > 0 {
			return fmt.Errorf("%w: %d entries claimed in an empty range", ErrIncomplete, len(entries))
		}
		return nil
	}
	return fmt.Errorf("%w: terminal %d", ErrBadProof, p.Terminal)
}

// verifyEmptyTree accepts only the proof of the empty tree: no steps.
func verifyEmptyTree(root Hash, p Proof) error {
	if len(p.Steps) != 0 {
		return fmt.Errorf("%w: steps without a terminal", ErrBadProof)
	}
	if root != EmptyRoot {
		return fmt.Errorf("%w: tree is not empty", ErrRootMismatch)
	}
	return nil
}

// checkSteps requires strictly increasing step bits, all below limit.
func checkSteps(steps []Step, limit int) error {
	prev := -1
	for i := range steps {
		b := int(steps[i].Bit)
		if b <= prev || b >= limit {
			return fmt.Errorf("%w: step %d at bit %d (after %d, limit %d)", ErrBadProof, i, b, prev, limit)
		}
		prev = b
	}
	return nil
}

// checkWitness checks that the steps are a trie path down to the witness
// leaf w that a search for the first qlen path bits of q would take: bits
// strictly increase, stay below w's path length, and agree with q wherever
// the step bit is below qlen.
func checkWitness(steps []Step, w *Entry, q []byte, qlen int) error {
	if len(w.Key) > MaxKeyLen {
		return fmt.Errorf("%w: witness key of %d bytes", ErrBadProof, len(w.Key))
	}
	if err := checkSteps(steps, pathLen(w.Key)); err != nil {
		return err
	}
	for i := range steps {
		b := int(steps[i].Bit)
		if b >= qlen {
			break // below N: any leaf of N's subtree will do
		}
		if bitAt(q, b) != bitAt(w.Key, b) {
			return fmt.Errorf("%w: step %d at bit %d leaves the searched path", ErrBadProof, i, b)
		}
	}
	return nil
}

// climb hashes h up the steps, bottom step first; at each step the path
// enters the side given by bit Step.Bit of dir.
func climb(h Hash, steps []Step, dir []byte) Hash {
	for i := len(steps) - 1; i >= 0; i-- {
		s := &steps[i]
		if bitAt(dir, int(s.Bit)) == 0 {
			h = innerHash(int(s.Bit), &h, &s.Sibling)
		} else {
			h = innerHash(int(s.Bit), &s.Sibling, &h)
		}
	}
	return h
}

// subtreeHash returns the hash of the trie holding exactly the given
// entries (non-empty, strictly ascending keys). The trie of a key set is
// unique: the root branches at the first bit where the first and the last
// key differ (the longest common path prefix of a sorted set), keys with 0
// there go left.
func subtreeHash(entries []Entry) Hash {
	if len(entries) == 1 {
		return leafHash(entries[0].Key, &entries[0].ValueHash)
	}
	first, last := entries[0].Key, entries[len(entries)-1].Key
	c := critBit(first, last)
	i := sort.Search(len(entries), func(i int) bool { return bitAt(entries[i].Key, c) == 1 })
	l, r := subtreeHash(entries[:i]), subtreeHash(entries[i:])
	return innerHash(c, &l, &r)
}
