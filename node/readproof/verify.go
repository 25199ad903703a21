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
	root, err := stateRoot(nextAppHash, b)
	if err != nil {
		return nil, err
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

// stateRoot is check 2: the bundle's app hash inputs give nextAppHash; it
// returns the state root they contain.
func stateRoot(nextAppHash []byte, b *Bundle) (apphash.Hash, error) {
	next, err := hash32("verified app hash of the next header", nextAppHash)
	if err != nil {
		return next, err
	}
	prev, err := hash32("prev_app_hash", b.PrevAppHash)
	if err != nil {
		return prev, err
	}
	cs, err := hash32("changeset_hash", b.ChangesetHash)
	if err != nil {
		return cs, err
	}
	root, err := hash32("state_root", b.StateRoot)
	if err != nil {
		return root, err
	}
	if got := apphash.Block(uint64(b.Height), prev, cs, root); got != next {
		return root, fmt.Errorf("%w: app_hash(%d) from the bundle is %x, header %d has %x",
			ErrAppHashMismatch, b.Height, got[:], b.Height+1, next[:])
	}
	return root, nil
}

// VerifyPage checks that b is the page of the range of prefix that starts
// at after (nil: the first page), against the state that nextAppHash
// commits to, and returns its rows and whether more pages follow. A caller
// pages through a range by asking the next page with after = the last row
// key of this one, at the same height, and keeping every row but the first
// (the repeated one) of every page but the first.
//
// Checks, in order:
//
//  1. b is a KindPage bundle about prefix starting at after, at a height
//     >= 1                                                    (ErrWrongAnswer)
//  2. as Verify                                               (ErrAppHashMismatch)
//  3. at least one row; keys extend prefix, strictly ascending; the first
//     is after when after is given; rows decode              (ErrBadRows)
//  4. the page proof verifies (commitment.VerifyPage), and the first page
//     has no key of the range before it                       (ErrProof and
//     the commitment class: ErrIncomplete for a page that is not the
//     range's next run of rows)
func VerifyPage(nextAppHash, prefix, after []byte, b *Bundle) ([]VerifiedRow, bool, error) {
	switch {
	case b == nil:
		return nil, false, fmt.Errorf("%w: no bundle", ErrWrongAnswer)
	case b.Kind != KindPage || !bytes.Equal(b.Key, prefix) || !bytes.Equal(b.After, after):
		return nil, false, fmt.Errorf("%w: asked the page of %x after %x, bundle is a %q of %x after %x",
			ErrWrongAnswer, prefix, after, b.Kind, []byte(b.Key), []byte(b.After))
	case b.Height < 1:
		return nil, false, fmt.Errorf("%w: height %d has no block", ErrWrongAnswer, b.Height)
	}
	root, err := stateRoot(nextAppHash, b)
	if err != nil {
		return nil, false, err
	}
	if len(b.Rows) == 0 {
		return nil, false, fmt.Errorf("%w: page of %x: no rows", ErrBadRows, prefix)
	}
	if after != nil && !bytes.Equal(b.Rows[0].Key, after) {
		return nil, false, fmt.Errorf("%w: page of %x after %x starts at %x", ErrBadRows, prefix, after, []byte(b.Rows[0].Key))
	}
	out, err := decodeRows(KindRange, prefix, b.Rows)
	if err != nil {
		return nil, false, err
	}
	p, err := commitment.DecodePageProof(b.Proof)
	if err != nil {
		return nil, false, fmt.Errorf("%w: page of %x at height %d: %w", ErrProof, prefix, b.Height, err)
	}
	entries := make([]commitment.Entry, len(b.Rows))
	for i, r := range b.Rows {
		entries[i] = commitment.Entry{Key: r.Key, ValueHash: sha256.Sum256(r.Row)}
	}
	before, more, err := commitment.VerifyPage(root, prefix, entries, p)
	if err == nil && before && after == nil {
		err = fmt.Errorf("%w: the first page has rows of the range before it", commitment.ErrIncomplete)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: page of %x at height %d: %w", ErrProof, prefix, b.Height, err)
	}
	return out, more, nil
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
