// Package commitment is the Merkle state commitment of the node: a binary
// Patricia (crit-bit) trie over every row of the state, keyed by
// (table, primary key) in an order-preserving encoding, whose leaves hold the
// hash of the row's canonical encoding. The byte-level rules are in
// docs/spec/commitment.md.
//
// The trie gives three kinds of proof against a root hash:
//   - membership: this key has this value hash;
//   - non-membership: no leaf has this key (also the proof of a deletion);
//   - range completeness: these are all the leaves whose key starts with a
//     prefix, nothing omitted and nothing added.
//
// Verification (verify.go, proof.go) is pure: no I/O, no clock, only SHA-256.
// The trie (tree.go) lives in memory as immutable, persistent versions
// (Trie): Apply makes the next version from one block's updates and shares
// every unchanged node with the previous one, so recent versions stay
// provable for as long as the node keeps them. The node stores only the
// leaves and rebuilds the trie with Build at startup.
package commitment

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/idos-network/idos-node/node/changeset"
)

// Error classes. Every error returned by this package wraps one of them;
// test with errors.Is.
var (
	// ErrBadProof: the proof is malformed (does not decode, or its shape
	// does not fit the claim, or its path does not follow the key or
	// prefix). Nothing about the state can be concluded.
	ErrBadProof = errors.New("commitment: malformed proof")
	// ErrRootMismatch: the proof is well formed but does not hash to the
	// trusted root: a forged value or key, or a proof for another root.
	ErrRootMismatch = errors.New("commitment: proof does not match root")
	// ErrIncomplete: the proof is authentic for its subtree, but the
	// claimed range entries are not exactly the leaves under it (an entry
	// was dropped, added or altered).
	ErrIncomplete = errors.New("commitment: range entries incomplete or altered")
	// ErrBadEntries: the claimed range entries are not a valid claim at all
	// (not strictly ascending, or a key outside the prefix).
	ErrBadEntries = errors.New("commitment: range entries not sorted or outside prefix")
	// ErrKeyPresent: a non-membership proof authenticates a leaf with the
	// very key it was meant to show absent.
	ErrKeyPresent = errors.New("commitment: key is present")
	// ErrBadKey: a key is longer than MaxKeyLen, or a table name is empty
	// or contains NUL.
	ErrBadKey = errors.New("commitment: invalid key")
	// ErrBadUpdate: a batch holds the same key twice, or an invalid key;
	// or Build got entries that are not strictly ascending.
	ErrBadUpdate = errors.New("commitment: invalid update batch")
	// ErrBadRow: bytes given to DecodeRow are not the EncodeRow encoding of
	// any row, so a stored or received row cannot be trusted to hash to
	// the value hash it claims.
	ErrBadRow = errors.New("commitment: malformed row encoding")
)

// MaxKeyLen bounds the length of a key in bytes, so that every bit position
// fits in a u32 and proof decoding stays bounded.
const MaxKeyLen = 1 << 16

// Hash is a SHA-256 digest: a node hash, a root, or a value hash.
type Hash = [32]byte

// EmptyRoot is the root of the tree with no leaves: SHA-256 of the empty
// string. No node encoding is empty, so it is never the hash of a node.
var EmptyRoot = Hash(sha256.Sum256(nil))

// Node encoding tags (the first byte of every hashed node).
const (
	tagLeaf  byte = 0x00
	tagInner byte = 0x01
)

// Entry is one leaf: a key and the hash of its value.
type Entry struct {
	Key       []byte
	ValueHash Hash
}

// Key returns the commitment key of a row: the table name, a 0x00 byte, then
// changeset.EncodeKey of the primary-key values in key order. Table names are
// never empty and never contain NUL, so keys of different tables never share
// a table part, and all rows of one table share the prefix TablePrefix(table).
//
// Because EncodeKey concatenates self-delimiting column encodings, Key of the
// leading k primary-key columns is a byte prefix of the key of every row that
// starts with those values: the prefix for a range over a leading part of a
// composite key (e.g. all kv entries of one owner).
func Key(table string, pk []any) ([]byte, error) {
	p, err := TablePrefix(table)
	if err != nil {
		return nil, err
	}
	enc, err := changeset.EncodeKey(pk)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	k := append(p, enc...)
	if len(k) > MaxKeyLen {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadKey, len(k), MaxKeyLen)
	}
	return k, nil
}

// TablePrefix returns table | 0x00, the prefix of every key of the table.
func TablePrefix(table string) ([]byte, error) {
	if table == "" {
		return nil, fmt.Errorf("%w: empty table name", ErrBadKey)
	}
	for i := 0; i < len(table); i++ {
		if table[i] == 0 {
			return nil, fmt.Errorf("%w: table name contains NUL", ErrBadKey)
		}
	}
	if len(table)+1 > MaxKeyLen {
		return nil, fmt.Errorf("%w: table name too long", ErrBadKey)
	}
	p := make([]byte, 0, len(table)+1+32)
	return append(append(p, table...), 0x00), nil
}

// Value tags of the row encoding; the same as the changeset value encoding.
const (
	valNull    byte = 0x00
	valInteger byte = 0x01
	valText    byte = 0x02
	valBlob    byte = 0x03
)

// EncodeRow returns the canonical encoding of a row: the column count as u16
// big-endian, then every column value by position, each as in the changeset
// encoding (docs/spec/changeset.md): 00 for NULL; 01 and 8 bytes big-endian
// two's complement for INTEGER; 02, a u32 big-endian length and the UTF-8
// bytes for TEXT; 03, a u32 length and the bytes for BLOB. These are exactly
// the bytes that follow the table name of a changeset INSERT record.
func EncodeRow(values []any) ([]byte, error) {
	if len(values) > 0xFFFF {
		return nil, fmt.Errorf("%w: %d columns", changeset.ErrNondeterministicValue, len(values))
	}
	dst := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(values)*12), uint16(len(values)))
	for _, v := range values {
		switch x := v.(type) {
		case nil:
			dst = append(dst, valNull)
		case int64:
			dst = binary.BigEndian.AppendUint64(append(dst, valInteger), uint64(x))
		case string:
			if uint64(len(x)) > 0xFFFFFFFF {
				return nil, fmt.Errorf("%w: TEXT too long", changeset.ErrNondeterministicValue)
			}
			dst = binary.BigEndian.AppendUint32(append(dst, valText), uint32(len(x)))
			dst = append(dst, x...)
		case []byte:
			if uint64(len(x)) > 0xFFFFFFFF {
				return nil, fmt.Errorf("%w: BLOB too long", changeset.ErrNondeterministicValue)
			}
			dst = binary.BigEndian.AppendUint32(append(dst, valBlob), uint32(len(x)))
			dst = append(dst, x...)
		default:
			return nil, fmt.Errorf("%w: unsupported value type %T", changeset.ErrNondeterministicValue, v)
		}
	}
	return dst, nil
}

// DecodeRow is the strict inverse of EncodeRow: it accepts exactly the
// encodings EncodeRow produces, so a row read back (from the node's leaf
// table, or from a read proof) re-encodes to the same bytes and therefore
// to the same value hash. Values come back as nil, int64, string or []byte
// (a zero-length BLOB as an empty, non-nil []byte, so it stays distinct
// from NULL); BLOB bytes are copied, never aliasing b.
//
// Every error wraps ErrBadRow: input shorter than its header or than a
// value's length says, an unknown value tag, or bytes left over after the
// counted columns. TEXT is not checked for UTF-8 because EncodeRow does not
// check it either, and the inverse must accept every encoding it makes.
func DecodeRow(b []byte) ([]any, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, no column count", ErrBadRow, len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > len(b) { // every value takes at least its tag byte
		return nil, fmt.Errorf("%w: %d columns in %d bytes", ErrBadRow, n, len(b))
	}
	values := make([]any, n)
	for i := range values {
		if len(b) < 1 {
			return nil, fmt.Errorf("%w: column %d missing", ErrBadRow, i)
		}
		tag := b[0]
		b = b[1:]
		switch tag {
		case valNull:
		case valInteger:
			if len(b) < 8 {
				return nil, fmt.Errorf("%w: column %d: short INTEGER", ErrBadRow, i)
			}
			values[i] = int64(binary.BigEndian.Uint64(b))
			b = b[8:]
		case valText, valBlob:
			if len(b) < 4 {
				return nil, fmt.Errorf("%w: column %d: short length", ErrBadRow, i)
			}
			l := uint64(binary.BigEndian.Uint32(b))
			b = b[4:]
			if l > uint64(len(b)) {
				return nil, fmt.Errorf("%w: column %d: %d bytes announced, %d left", ErrBadRow, i, l, len(b))
			}
			if tag == valText {
				values[i] = string(b[:l])
			} else {
				values[i] = append([]byte{}, b[:l]...)
			}
			b = b[l:]
		default:
			return nil, fmt.Errorf("%w: column %d: unknown tag %#02x", ErrBadRow, i, tag)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after %d columns", ErrBadRow, len(b), n)
	}
	return values, nil
}

// RowHash returns SHA-256(EncodeRow(values)), the value hash of a row's
// leaf. values are every column of the row by position (nil, int64, string
// or []byte).
func RowHash(values []any) (Hash, error) {
	enc, err := EncodeRow(values)
	if err != nil {
		return Hash{}, err
	}
	return sha256.Sum256(enc), nil
}

// --- the trie's view of a key ---------------------------------------------
//
// The trie branches on the bits of a key's *path*: for every key byte a 1
// bit then the byte's 8 bits, most significant first; after the last byte a
// single 0 bit. Paths are prefix-free (no key's path is a proper prefix of
// another's) and order-preserving (path order = bytewise key order, a key
// before its extensions), so arbitrary byte strings can be keys. A byte
// prefix P corresponds to the first 9*len(P) path bits, without the final 0.

// pathLen is the number of bits of k's path.
func pathLen(k []byte) int { return 9*len(k) + 1 }

// prefixLen is the number of path bits shared by exactly the keys that start
// with the byte prefix p.
func prefixLen(p []byte) int { return 9 * len(p) }

// bitAt returns bit i of k's path; positions at and past the end read 0.
func bitAt(k []byte, i int) byte {
	j, r := i/9, i%9
	if j >= len(k) {
		return 0
	}
	if r == 0 {
		return 1
	}
	return (k[j] >> (8 - r)) & 1
}

// critBit returns the first path position where a and b differ, or
// pathLen(a) when a == b.
func critBit(a, b []byte) int {
	n := min(len(a), len(b))
	j := 0
	for j+8 <= n && binary.LittleEndian.Uint64(a[j:]) == binary.LittleEndian.Uint64(b[j:]) {
		j += 8
	}
	for j < n && a[j] == b[j] {
		j++
	}
	if j < n {
		return 9*j + 1 + bits.LeadingZeros8(a[j]^b[j])
	}
	if len(a) == len(b) {
		return pathLen(a)
	}
	return 9 * n // one key ends (0) where the other continues (1)
}

// leafHash is SHA-256(0x00 | u32 len(key) | key | valueHash).
func leafHash(key []byte, vh *Hash) Hash {
	var small [1 + 4 + 96 + 32]byte
	buf := small[:0]
	if 1+4+len(key)+32 > len(small) {
		buf = make([]byte, 0, 1+4+len(key)+32)
	}
	buf = appendLeaf(buf, key, vh)
	return sha256.Sum256(buf)
}

func appendLeaf(dst, key []byte, vh *Hash) []byte {
	dst = append(dst, tagLeaf)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(key)))
	dst = append(dst, key...)
	return append(dst, vh[:]...)
}

// innerLen is the length of the hashed part of an inner node.
const innerLen = 1 + 4 + 32 + 32

// innerHash is SHA-256(0x01 | u32 bit | left | right).
func innerHash(bit int, left, right *Hash) Hash {
	var buf [innerLen]byte
	buf[0] = tagInner
	binary.BigEndian.PutUint32(buf[1:5], uint32(bit))
	copy(buf[5:37], left[:])
	copy(buf[37:69], right[:])
	return sha256.Sum256(buf[:])
}
