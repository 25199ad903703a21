package readproof

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
)

// Error classes of Verify, one per step of docs/spec/read-proofs.md
// ("Verification"). Every error Verify returns wraps exactly one of them;
// a step-4 error also wraps the commitment class that says what the proof
// got wrong (commitment.ErrBadProof, ErrRootMismatch, ErrIncomplete,
// ErrKeyPresent, ErrBadEntries, ErrBadKey). Test with errors.Is.
var (
	// ErrWrongAnswer: the bundle answers another question (kind or key),
	// or no question at all (no bundle, a height with no block).
	ErrWrongAnswer = errors.New("readproof: bundle does not answer the question asked")
	// ErrAppHashMismatch: the app hash recomputed from the bundle is not the
	// verified header's: a forged state root, a root of another height, or
	// fields mixed from different heights.
	ErrAppHashMismatch = errors.New("readproof: bundle's app hash does not match the verified header")
	// ErrBadRows: the rows are not a well-formed claim (wrong count for the
	// kind, a key outside the prefix or out of order, a row that does not
	// decode).
	ErrBadRows = errors.New("readproof: malformed rows")
	// ErrProof: the commitment proof does not show the claim against the
	// bundle's state root; the wrapped commitment class says why.
	ErrProof = errors.New("readproof: commitment proof rejected")
)

// VerifiedRow is a row the proof showed to be in the state: its commitment
// key and its column values by position (nil, int64, string or []byte, as
// commitment.DecodeRow returns them). It owns its memory.
type VerifiedRow struct {
	Key    []byte
	Values []any
}

// Verify checks that b answers the read (kind, key) with the state that the
// app hash nextAppHash commits to, and returns the proven rows: the one row
// (KindRow), none (KindAbsent), or every row under the prefix in key order
// (KindRange, possibly none).
//
// nextAppHash must come from a header the caller verified itself: the
// header of block b.Height+1, which carries app_hash(b.Height). Verify
// trusts nothing else in b. It is pure: no I/O, no clock. Freshness (how
// far b.Height may lag) is the caller's policy.
//
// Checks, in order (docs/spec/read-proofs.md, "Verification"):
//
//  1. b is not nil, kind is known, b.Kind == kind, b.Key == key, and
//     b.Height >= 1                                           (ErrWrongAnswer)
//  2. nextAppHash, b.PrevAppHash, b.ChangesetHash and b.StateRoot are
//     32 bytes each, and apphash.Block(b.Height, PrevAppHash,
//     ChangesetHash, StateRoot) == nextAppHash                (ErrAppHashMismatch)
//  3. the rows fit the kind: KindRow exactly one, whose key is key;
//     KindAbsent none; KindRange keys that start with key, strictly
//     ascending; every row decodes (commitment.DecodeRow)     (ErrBadRows)
//  4. the proof decodes and verifies against b.StateRoot:
//     KindRow membership of (key, SHA-256(row)), KindAbsent non-membership
//     of key, KindRange completeness of the rows under key    (ErrProof and
//     the commitment class)
func Verify(nextAppHash []byte, kind Kind, key []byte, b *Bundle) ([]VerifiedRow, error) {
	// 1) The question.
	if b == nil {
		return nil, fmt.Errorf("%w: no bundle", ErrWrongAnswer)
	}
	switch kind {
	case KindRow, KindAbsent, KindRange:
	default:
		return nil, fmt.Errorf("%w: unknown kind %q asked", ErrWrongAnswer, kind)
	}
	if b.Kind != kind {
		return nil, fmt.Errorf("%w: asked %s of %x, bundle claims %q", ErrWrongAnswer, kind, key, b.Kind)
	}
	if !bytes.Equal(b.Key, key) {
		return nil, fmt.Errorf("%w: asked %s of %x, bundle is about %x", ErrWrongAnswer, kind, key, []byte(b.Key))
	}
	if b.Height < 1 {
		return nil, fmt.Errorf("%w: height %d has no block", ErrWrongAnswer, b.Height)
	}

	// 2) The state root is the one the verified header commits to.
	next, err := hash32("verified app hash of the next header", nextAppHash)
	if err != nil {
		return nil, err
	}
	prev, err := hash32("prev_app_hash", b.PrevAppHash)
	if err != nil {
		return nil, err
	}
	cs, err := hash32("changeset_hash", b.ChangesetHash)
	if err != nil {
		return nil, err
	}
	root, err := hash32("state_root", b.StateRoot)
	if err != nil {
		return nil, err
	}
	if got := apphash.Block(uint64(b.Height), prev, cs, root); got != next {
		return nil, fmt.Errorf("%w: app_hash(%d) from the bundle is %x, header %d has %x",
			ErrAppHashMismatch, b.Height, got[:], b.Height+1, next[:])
	}

	// 3) The rows are a well-formed claim.
	out, err := decodeRows(kind, key, b.Rows)
	if err != nil {
		return nil, err
	}

	// 4) The proof shows the claim against the root.
	p, err := commitment.DecodeProof(b.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: %s of %x at height %d: %w", ErrProof, kind, key, b.Height, err)
	}
	switch kind {
	case KindRow:
		err = commitment.VerifyMembership(root, key, sha256.Sum256(b.Rows[0].Row), p)
	case KindAbsent:
		err = commitment.VerifyNonMembership(root, key, p)
	case KindRange:
		entries := make([]commitment.Entry, len(b.Rows))
		for i, r := range b.Rows {
			entries[i] = commitment.Entry{Key: r.Key, ValueHash: sha256.Sum256(r.Row)}
		}
		err = commitment.VerifyRange(root, key, entries, p)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s of %x at height %d: %w", ErrProof, kind, key, b.Height, err)
	}
	return out, nil
}

// hash32 converts a 32-byte field; any other length cannot be an input of
// the app hash, so it is an app hash mismatch named after the field.
func hash32(field string, b []byte) (apphash.Hash, error) {
	var h apphash.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("%w: %s is %d bytes, want %d", ErrAppHashMismatch, field, len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}

// decodeRows is check 3: the rows' count, keys and order fit the kind, and
// every row decodes. It returns copies, so the result never aliases b.
func decodeRows(kind Kind, key []byte, rows []Row) ([]VerifiedRow, error) {
	switch kind {
	case KindRow:
		if len(rows) != 1 {
			return nil, fmt.Errorf("%w: row of %x: %d rows, want exactly 1", ErrBadRows, key, len(rows))
		}
		if !bytes.Equal(rows[0].Key, key) {
			return nil, fmt.Errorf("%w: row of %x: the row's key is %x", ErrBadRows, key, []byte(rows[0].Key))
		}
	case KindAbsent:
		if len(rows) != 0 {
			return nil, fmt.Errorf("%w: absent %x: %d rows, want none", ErrBadRows, key, len(rows))
		}
		return nil, nil
	case KindRange:
		for i, r := range rows {
			if !bytes.HasPrefix(r.Key, key) {
				return nil, fmt.Errorf("%w: range %x: row %d: key %x outside the prefix", ErrBadRows, key, i, []byte(r.Key))
			}
			if i > 0 && bytes.Compare(rows[i-1].Key, r.Key) >= 0 {
				return nil, fmt.Errorf("%w: range %x: row %d: key %x not after %x",
					ErrBadRows, key, i, []byte(r.Key), []byte(rows[i-1].Key))
			}
		}
	}
	out := make([]VerifiedRow, len(rows))
	for i, r := range rows {
		vals, err := commitment.DecodeRow(r.Row)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %x: row %d (key %x): %w", ErrBadRows, kind, key, i, []byte(r.Key), err)
		}
		out[i] = VerifiedRow{Key: bytes.Clone([]byte(r.Key)), Values: vals}
	}
	return out, nil
}
