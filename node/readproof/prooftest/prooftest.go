// Package prooftest builds what an honest node serves for a read: a state
// of rows at a height, its commitment trie, its app hash, and the proof
// bundle for any question. Tests of verifiers (node/readproof, lightclient)
// start from these bundles and make them lie.
package prooftest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/readproof"
)

// Row is one row of a table: its primary key values (for commitment.Key)
// and all its column values by position.
type Row struct {
	Table  string
	PK     []any
	Values []any
}

// State is the state after block Height. AppHash is app_hash(Height), the
// value a verified header Height+1 carries.
type State struct {
	Height        int64
	PrevAppHash   apphash.Hash
	ChangesetHash apphash.Hash
	Trie          *commitment.Trie
	// Rows maps a commitment key to the row's canonical encoding.
	Rows    map[string][]byte
	AppHash apphash.Hash
}

// New builds the state of rows at height, chained on prev. The changeset
// hash is derived from the height: it is only an input of the app hash here.
func New(height int64, prev apphash.Hash, rows []Row) (*State, error) {
	s := &State{Height: height, PrevAppHash: prev, Rows: map[string][]byte{}}
	entries := make([]commitment.Entry, 0, len(rows))
	for _, r := range rows {
		k, err := commitment.Key(r.Table, r.PK)
		if err != nil {
			return nil, err
		}
		enc, err := commitment.EncodeRow(r.Values)
		if err != nil {
			return nil, err
		}
		if _, dup := s.Rows[string(k)]; dup {
			return nil, fmt.Errorf("prooftest: row %x twice", k)
		}
		s.Rows[string(k)] = enc
		entries = append(entries, commitment.Entry{Key: k, ValueHash: sha256.Sum256(enc)})
	}
	slices.SortFunc(entries, func(a, b commitment.Entry) int { return bytes.Compare(a.Key, b.Key) })
	trie, err := commitment.Build(entries)
	if err != nil {
		return nil, err
	}
	s.Trie = trie
	s.ChangesetHash = sha256.Sum256(fmt.Appendf(nil, "changeset %d", height))
	s.AppHash = apphash.Block(uint64(height), prev, s.ChangesetHash, trie.Root())
	return s, nil
}

// Bundle is the honest answer to (kind, key). For KindRow the key must be
// present and for KindAbsent absent.
func (s *State) Bundle(kind readproof.Kind, key []byte) (*readproof.Bundle, error) {
	root := s.Trie.Root()
	b := &readproof.Bundle{Height: s.Height, PrevAppHash: s.PrevAppHash[:], ChangesetHash: s.ChangesetHash[:],
		StateRoot: root[:], Kind: kind, Key: bytes.Clone(key), Rows: []readproof.Row{}}
	switch kind {
	case readproof.KindRow, readproof.KindAbsent:
		p, _, found, err := s.Trie.Prove(key)
		if err != nil {
			return nil, err
		}
		if found != (kind == readproof.KindRow) {
			return nil, fmt.Errorf("prooftest: %s of %x, but the key is present=%v", kind, key, found)
		}
		if found {
			b.Rows = append(b.Rows, readproof.Row{Key: bytes.Clone(key), Row: bytes.Clone(s.Rows[string(key)])})
		}
		b.Proof = p.Encode()
	case readproof.KindRange:
		entries, p, err := s.Trie.ProveRange(key)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			b.Rows = append(b.Rows, readproof.Row{Key: e.Key, Row: bytes.Clone(s.Rows[string(e.Key)])})
		}
		b.Proof = p.Encode()
	default:
		return nil, fmt.Errorf("prooftest: unknown kind %q", kind)
	}
	return b, nil
}

// Answer is Bundle for a key: KindRow if present, KindAbsent if not.
func (s *State) Answer(key []byte) (*readproof.Bundle, error) {
	if _, ok := s.Rows[string(key)]; ok {
		return s.Bundle(readproof.KindRow, key)
	}
	return s.Bundle(readproof.KindAbsent, key)
}

// Truth is what the state holds for (kind, key): the rows a correct
// verifier returns, in key order (empty, not nil, when none).
func (s *State) Truth(kind readproof.Kind, key []byte) []readproof.VerifiedRow {
	var keys []string
	for rk := range s.Rows {
		if (kind == readproof.KindRow && rk == string(key)) ||
			(kind == readproof.KindRange && bytes.HasPrefix([]byte(rk), key)) {
			keys = append(keys, rk)
		}
	}
	slices.Sort(keys)
	out := []readproof.VerifiedRow{}
	for _, rk := range keys {
		vals, err := commitment.DecodeRow(s.Rows[rk])
		if err != nil {
			panic(fmt.Sprintf("prooftest: own row %x does not decode: %v", rk, err))
		}
		out = append(out, readproof.VerifiedRow{Key: []byte(rk), Values: vals})
	}
	return out
}

// Page is the honest page of the range of prefix starting at after (nil:
// the first page), of at most limit rows.
func (s *State) Page(prefix, after []byte, limit int) (*readproof.Bundle, error) {
	entries, p, _, err := s.Trie.ProvePage(prefix, after, limit)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("prooftest: no page of %x after %x", prefix, after)
	}
	root := s.Trie.Root()
	b := &readproof.Bundle{Height: s.Height, PrevAppHash: s.PrevAppHash[:], ChangesetHash: s.ChangesetHash[:],
		StateRoot: root[:], Kind: readproof.KindPage, Key: bytes.Clone(prefix), After: bytes.Clone(after), Proof: p.Encode()}
	for _, e := range entries {
		b.Rows = append(b.Rows, readproof.Row{Key: e.Key, Row: bytes.Clone(s.Rows[string(e.Key)])})
	}
	return b, nil
}
