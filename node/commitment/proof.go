package commitment

import (
	"encoding/binary"
	"fmt"
)

// Step is one inner node on the path from the root down: the path bit the
// node branches on and the hash of the child that the path does not enter.
// Which side the path enters is not stored: the verifier reads it from the
// key's bit at Bit.
type Step struct {
	Bit     uint32
	Sibling Hash
}

// Terminal says what a proof's path ends at.
type Terminal byte

const (
	// TerminalNone: the path ends at the leaf the caller claims
	// (membership), or, with no steps, the tree is empty.
	TerminalNone Terminal = 0
	// TerminalLeaf: the path ends at the leaf Proof.Leaf, which shows that
	// no key (non-membership) or no key with the prefix (empty range) is
	// present.
	TerminalLeaf Terminal = 1
	// TerminalSubtree: the path ends at the subtree with hash
	// Proof.Subtree, whose leaves are exactly the claimed range entries.
	TerminalSubtree Terminal = 2
)

// Proof is a path from the root to a terminal. One type serves all three
// claims; each Verify function states which shapes it accepts.
type Proof struct {
	// Steps runs from the root downwards.
	Steps    []Step
	Terminal Terminal
	// Leaf is set when Terminal is TerminalLeaf.
	Leaf Entry
	// Subtree is set when Terminal is TerminalSubtree.
	Subtree Hash
}

const proofVersion = 1

// Encode returns the canonical binary encoding of p (docs/spec/commitment.md):
//
//	version u8 (=1) | step count u32 | (bit u32 | sibling 32 bytes)*
//	| terminal u8 | terminal body
//	terminal 0: nothing
//	terminal 1: key length u32 | key | value hash 32 bytes
//	terminal 2: subtree hash 32 bytes
//
// Integers are big-endian.
func (p *Proof) Encode() []byte {
	n := 1 + 4 + len(p.Steps)*36 + 1
	switch p.Terminal {
	case TerminalLeaf:
		n += 4 + len(p.Leaf.Key) + 32
	case TerminalSubtree:
		n += 32
	}
	dst := make([]byte, 0, n)
	dst = append(dst, proofVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Steps)))
	for i := range p.Steps {
		dst = binary.BigEndian.AppendUint32(dst, p.Steps[i].Bit)
		dst = append(dst, p.Steps[i].Sibling[:]...)
	}
	dst = append(dst, byte(p.Terminal))
	switch p.Terminal {
	case TerminalLeaf:
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Leaf.Key)))
		dst = append(dst, p.Leaf.Key...)
		dst = append(dst, p.Leaf.ValueHash[:]...)
	case TerminalSubtree:
		dst = append(dst, p.Subtree[:]...)
	}
	return dst
}

// DecodeProof parses the canonical encoding. Every error wraps ErrBadProof:
// an unknown version or terminal, a key longer than MaxKeyLen, a short
// input, or trailing bytes. So DecodeProof(b) succeeds only for b equal to
// the Encode of its result.
func DecodeProof(b []byte) (Proof, error) {
	var p Proof
	if len(b) < 5 {
		return p, fmt.Errorf("%w: %d bytes", ErrBadProof, len(b))
	}
	if b[0] != proofVersion {
		return p, fmt.Errorf("%w: version %d", ErrBadProof, b[0])
	}
	n := binary.BigEndian.Uint32(b[1:5])
	b = b[5:]
	if uint64(n)*36 > uint64(len(b)) {
		return p, fmt.Errorf("%w: %d steps in %d bytes", ErrBadProof, n, len(b))
	}
	if n > 0 {
		p.Steps = make([]Step, n)
	}
	for i := range p.Steps {
		p.Steps[i].Bit = binary.BigEndian.Uint32(b)
		copy(p.Steps[i].Sibling[:], b[4:36])
		b = b[36:]
	}
	if len(b) < 1 {
		return p, fmt.Errorf("%w: no terminal", ErrBadProof)
	}
	p.Terminal = Terminal(b[0])
	b = b[1:]
	switch p.Terminal {
	case TerminalNone:
	case TerminalLeaf:
		if len(b) < 4 {
			return p, fmt.Errorf("%w: short leaf", ErrBadProof)
		}
		kl := binary.BigEndian.Uint32(b)
		b = b[4:]
		if kl > MaxKeyLen || uint64(kl)+32 > uint64(len(b)) {
			return p, fmt.Errorf("%w: leaf key of %d bytes", ErrBadProof, kl)
		}
		p.Leaf.Key = append([]byte{}, b[:kl]...)
		copy(p.Leaf.ValueHash[:], b[kl:kl+32])
		b = b[kl+32:]
	case TerminalSubtree:
		if len(b) < 32 {
			return p, fmt.Errorf("%w: short subtree hash", ErrBadProof)
		}
		copy(p.Subtree[:], b)
		b = b[32:]
	default:
		return p, fmt.Errorf("%w: terminal %d", ErrBadProof, p.Terminal)
	}
	if len(b) != 0 {
		return p, fmt.Errorf("%w: %d trailing bytes", ErrBadProof, len(b))
	}
	return p, nil
}
