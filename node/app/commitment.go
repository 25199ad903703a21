package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/idos-network/idos-node/node/changeset"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/readproof"
)

// The state commitment inside the app (docs/spec/commitment.md and
// docs/spec/read-proofs.md).
//
// Leaves (key → value hash) live in the internal table _idos_leaves and are
// written in the block's SQLite transaction, so they commit atomically with
// the rows they hash. Inner nodes live only in memory, as persistent trie
// versions that share their unchanged nodes: a node keeps the versions of
// its last KeepVersions committed heights, and at start rebuilds the latest
// from the leaf table in key order (the trie is a function of its leaf set)
// and checks it against the root committed with the app hash. Storing every
// inner node in SQLite would cost ~20 writes per changed row; a leaf costs
// one.

// DefaultKeepVersions is how many recent heights keep a provable trie
// version in memory when Config.KeepVersions is 0.
const DefaultKeepVersions = 64

// MaxRangeRows bounds the rows of one range proof, so one read cannot make
// the node load a whole table.
const MaxRangeRows = 10_000

// ProofOpType is the type of the ProofOp that carries a read-proof bundle
// (JSON) in an ABCI Query response.
const ProofOpType = "idos/readproof/v1"

var errNoProof = errors.New("no proof")

// ErrCorruptState is returned by New when the committed state does not
// agree with itself (the leaf table does not hash to the committed state
// root); the node refuses to run on it.
var ErrCorruptState = errors.New("app: committed state is corrupt")

// versions holds the recent committed trie versions for readers.
type versions struct {
	mu       sync.RWMutex
	byHeight map[int64]*commitment.Trie
	keep     int64
}

func (v *versions) get(h int64) *commitment.Trie {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.byHeight[h]
}

// add records the version of height h and forgets the ones that fell out of
// the window.
func (v *versions) add(h int64, t *commitment.Trie) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byHeight == nil {
		v.byHeight = map[int64]*commitment.Trie{}
	}
	v.byHeight[h] = t
	for old := range v.byHeight { // deletion only; order does not matter
		if old <= h-v.keep {
			delete(v.byHeight, old)
		}
	}
}

func (v *versions) drop(h int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byHeight, h)
}

// applyCommitment writes the leaves of the changeset's rows into
// _idos_leaves and returns base with the changeset applied.
func (a *App) applyCommitment(ctx context.Context, base *commitment.Trie, cs *changeset.Changeset) (*commitment.Trie, error) {
	ups := make([]commitment.Update, 0, cs.Len())
	for i := range cs.Records {
		r := &cs.Records[i]
		prefix, err := commitment.TablePrefix(r.Table)
		if err != nil {
			return nil, err
		}
		if r.EncodedKey() == nil {
			return nil, fmt.Errorf("app: changeset record of %s without its key", r.Table)
		}
		key := append(prefix, r.EncodedKey()...)
		if r.Op == changeset.OpDelete {
			if _, err := a.db.ExecContext(ctx, `DELETE FROM _idos_leaves WHERE key = ?`, key); err != nil {
				return nil, fmt.Errorf("app: delete leaf: %w", err)
			}
			ups = append(ups, commitment.Del(key))
			continue
		}
		vh, err := commitment.RowHash(r.Row)
		if err != nil {
			return nil, err
		}
		if _, err := a.db.ExecContext(ctx,
			`INSERT INTO _idos_leaves (key, value_hash) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value_hash = excluded.value_hash`,
			key, vh[:]); err != nil {
			return nil, fmt.Errorf("app: write leaf: %w", err)
		}
		ups = append(ups, commitment.Put(key, vh))
	}
	return base.Apply(ups)
}

// rebuildTrie builds the committed trie from the leaf table and checks its
// root against the one committed with the app hash.
func rebuildTrie(ctx context.Context, q querier, want []byte) (*commitment.Trie, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value_hash FROM _idos_leaves ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("app: read leaves: %w", err)
	}
	defer rows.Close()
	var entries []commitment.Entry
	for rows.Next() {
		var e commitment.Entry
		var vh []byte
		if err := rows.Scan(&e.Key, &vh); err != nil {
			return nil, err
		}
		if len(vh) != len(e.ValueHash) {
			return nil, fmt.Errorf("app: corrupt leaf %x", e.Key)
		}
		copy(e.ValueHash[:], vh)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	t, err := commitment.Build(entries)
	if err != nil {
		return nil, fmt.Errorf("app: rebuild state trie: %w", err)
	}
	if root := t.Root(); !bytes.Equal(root[:], want) {
		return nil, fmt.Errorf("%w: state trie rebuilt from %d leaves has root %x, the committed root is %x: the leaf table is corrupt",
			ErrCorruptState, len(entries), root, want)
	}
	return t, nil
}

// ProofRequest asks for a proof by raw commitment key: Key for one row (or
// its absence), Prefix for a range. Exactly one is set.
type ProofRequest struct {
	Key    readproof.Hex `json:"key,omitempty"`
	Prefix readproof.Hex `json:"prefix,omitempty"`
	// Page asks for a page of the range of Prefix (readproof.KindPage) of
	// at most MaxRangeRows rows, starting at After (the previous page's
	// last key; none for the first page), at Height (the first page's;
	// 0 for the latest). A first page of an empty range is answered with
	// the range's (empty) proof.
	Page   bool          `json:"page,omitempty"`
	After  readproof.Hex `json:"after,omitempty"`
	Height int64         `json:"height,omitempty"`
	// Limit is a smaller page size (1..MaxRangeRows; 0: MaxRangeRows).
	Limit int `json:"limit,omitempty"`
}

// scopeOfKey turns a raw key or prefix into a read scope on a public table.
func (a *App) scopeOfKey(req ProofRequest) (module.ReadScope, error) {
	raw, rng := req.Key, false
	switch {
	case req.Key != nil && req.Prefix != nil, req.Key == nil && req.Prefix == nil:
		return module.ReadScope{}, fmt.Errorf("%w: give exactly one of key and prefix", module.ErrInvalidPayload)
	case req.Prefix != nil:
		raw, rng = req.Prefix, true
	}
	i := bytes.IndexByte(raw, 0)
	if i <= 0 {
		return module.ReadScope{}, fmt.Errorf("%w: a key starts with a table name and a 00 byte", module.ErrInvalidPayload)
	}
	table := string(raw[:i])
	vals, err := changeset.DecodeKey(raw[i+1:])
	if err != nil {
		return module.ReadScope{}, fmt.Errorf("%w: %v", module.ErrInvalidPayload, err)
	}
	a.mu.RLock()
	tb, private := a.tables[table], a.privateTables[table]
	a.mu.RUnlock()
	switch {
	case tb == nil:
		return module.ReadScope{}, fmt.Errorf("%w: no table %q", module.ErrNotFound, table)
	case private:
		return module.ReadScope{}, fmt.Errorf("%w: table %s is private; ask through its private read with prove", module.ErrForbidden, table)
	}
	return module.ReadScope{Table: table, Key: vals, Range: rng}, nil
}

// blockFields returns the inputs of app_hash(height) from the snapshot.
func blockFields(ctx context.Context, snap *sql.Tx, height int64) (prev, cs, root []byte, err error) {
	err = snap.QueryRowContext(ctx, `SELECT changeset_hash, state_root FROM _idos_blocks WHERE height = ?`, height).Scan(&cs, &root)
	if err == nil {
		err = snap.QueryRowContext(ctx, `SELECT app_hash FROM _idos_blocks WHERE height = ?`, height-1).Scan(&prev)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("app: block record of height %d: %w", height, err)
	}
	return prev, cs, root, nil
}

// bundleHead checks the scope against its table and returns the table and
// a bundle of height with the app hash inputs and the key (or prefix),
// after checking that trie version t has the committed root.
func (a *App) bundleHead(ctx context.Context, snap *sql.Tx, t *commitment.Trie, height int64, sc module.ReadScope) (*changeset.Table, *readproof.Bundle, error) {
	a.mu.RLock()
	tb := a.tables[sc.Table]
	a.mu.RUnlock()
	if tb == nil {
		return nil, nil, fmt.Errorf("%w: no table %q", module.ErrNotFound, sc.Table)
	}
	if len(sc.Key) > len(tb.PK) || (!sc.Range && len(sc.Key) != len(tb.PK)) {
		return nil, nil, fmt.Errorf("%w: table %s has a %d-column primary key, the key has %d values",
			module.ErrInvalidPayload, sc.Table, len(tb.PK), len(sc.Key))
	}
	key, err := commitment.Key(sc.Table, sc.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", module.ErrInvalidPayload, err)
	}
	prev, csHash, root, err := blockFields(ctx, snap, height)
	if err != nil {
		return nil, nil, err
	}
	if tr := t.Root(); !bytes.Equal(tr[:], root) {
		return nil, nil, fmt.Errorf("app: trie version %d has root %x, the block record says %x", height, tr, root)
	}
	return tb, &readproof.Bundle{Height: height, PrevAppHash: prev, ChangesetHash: csHash, StateRoot: root, Key: key}, nil
}

// bundle proves the rows of scope sc in the snapshot of committed height
// height. The rows come from SQLite, the proof from the trie version of the
// same height; the node checks they agree before answering.
func (a *App) bundle(ctx context.Context, snap *sql.Tx, height int64, sc module.ReadScope) (*readproof.Bundle, error) {
	t := a.versions.get(height)
	if t == nil {
		return nil, fmt.Errorf("app: no state trie version for height %d", height)
	}
	tb, b, err := a.bundleHead(ctx, snap, t, height, sc)
	if err != nil {
		return nil, err
	}
	key := []byte(b.Key)
	rows, err := selectRows(ctx, snap, tb, sc.Key)
	if err != nil {
		return nil, err
	}
	if !sc.Range {
		p, vh, found, err := t.Prove(key)
		if err != nil {
			return nil, err
		}
		b.Proof = p.Encode()
		switch {
		case found && len(rows) == 1 && rows[0].hash == vh:
			b.Kind, b.Rows = readproof.KindRow, []readproof.Row{{Key: key, Row: rows[0].enc}}
		case !found && len(rows) == 0:
			b.Kind = readproof.KindAbsent
		default:
			return nil, fmt.Errorf("app: trie and state disagree on key %x (trie has it: %v, rows: %d)", key, found, len(rows))
		}
		return b, nil
	}
	if len(rows) > MaxRangeRows {
		return nil, fmt.Errorf("%w: the range has %d rows, at most %d are proven at once; narrow the prefix or ask pages",
			module.ErrInvalidPayload, len(rows), MaxRangeRows)
	}
	entries, p, err := t.ProveRange(key)
	if err != nil {
		return nil, err
	}
	if len(entries) != len(rows) {
		return nil, fmt.Errorf("app: trie has %d rows under %x, state has %d", len(entries), key, len(rows))
	}
	b.Kind, b.Proof = readproof.KindRange, p.Encode()
	b.Rows = make([]readproof.Row, len(rows))
	for i, r := range rows {
		if !bytes.Equal(entries[i].Key, r.key) || entries[i].ValueHash != r.hash {
			return nil, fmt.Errorf("app: trie and state disagree under %x at row %d", key, i)
		}
		b.Rows[i] = readproof.Row{Key: r.key, Row: r.enc}
	}
	return b, nil
}

// pageBundle proves the page of the range of scope sc (a prefix) that
// starts at after, at height (0: latest, the snapshot's). Later pages are
// asked at the first page's height, which the node still proves from its
// trie version of that height as long as the page's rows are unchanged
// since: each row is read from the snapshot by its key and must hash to the
// leaf of that version (else ErrNotFound: start again).
func (a *App) pageBundle(ctx context.Context, snap *sql.Tx, latest int64, sc module.ReadScope, after []byte, height int64, limit int) (*readproof.Bundle, error) {
	if limit == 0 {
		limit = MaxRangeRows
	}
	if limit < 1 || limit > MaxRangeRows {
		return nil, fmt.Errorf("%w: page limit %d (1..%d)", module.ErrInvalidPayload, limit, MaxRangeRows)
	}
	if height == 0 {
		height = latest
	}
	if height < 1 || height > latest {
		return nil, fmt.Errorf("%w: height %d (latest %d)", module.ErrInvalidPayload, height, latest)
	}
	t := a.versions.get(height)
	if t == nil {
		return nil, fmt.Errorf("%w: height %d is no longer proven here; start again from the first page", module.ErrNotFound, height)
	}
	tb, b, err := a.bundleHead(ctx, snap, t, height, sc)
	if err != nil {
		return nil, err
	}
	prefix := []byte(b.Key)
	entries, p, _, err := t.ProvePage(prefix, after, limit)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		if after != nil {
			return nil, fmt.Errorf("%w: no rows from %x under %x at height %d; start again from the first page",
				module.ErrNotFound, after, prefix, height)
		}
		_, rp, err := t.ProveRange(prefix) // an empty range: its own proof
		if err != nil {
			return nil, err
		}
		b.Kind, b.Proof, b.Rows = readproof.KindRange, rp.Encode(), []readproof.Row{}
		return b, nil
	}
	b.Kind, b.After, b.Proof = readproof.KindPage, after, p.Encode()
	b.Rows = make([]readproof.Row, len(entries))
	for i, e := range entries {
		vals, err := changeset.DecodeKey(e.Key[len(sc.Table)+1:])
		if err != nil {
			return nil, fmt.Errorf("app: leaf key %x: %w", e.Key, err)
		}
		rows, err := selectRows(ctx, snap, tb, vals)
		if err != nil {
			return nil, err
		}
		if len(rows) != 1 || rows[0].hash != e.ValueHash {
			return nil, fmt.Errorf("%w: row %x changed since height %d; start again from the first page", module.ErrNotFound, e.Key, height)
		}
		b.Rows[i] = readproof.Row{Key: e.Key, Row: rows[0].enc}
	}
	return b, nil
}

type provenRow struct {
	key, enc []byte
	hash     commitment.Hash
}

// selectRows reads the rows of tb whose leading primary-key columns equal
// pk, in commitment key order.
func selectRows(ctx context.Context, snap *sql.Tx, tb *changeset.Table, pk []any) ([]provenRow, error) {
	var q strings.Builder
	fmt.Fprintf(&q, `SELECT * FROM %q`, tb.Name)
	for i := range pk {
		if i == 0 {
			q.WriteString(" WHERE ")
		} else {
			q.WriteString(" AND ")
		}
		fmt.Fprintf(&q, `%q = ?`, tb.Columns[tb.PK[i]])
	}
	q.WriteString(fmt.Sprintf(" LIMIT %d", MaxRangeRows+1))
	rows, err := snap.QueryContext(ctx, q.String(), pk...)
	if err != nil {
		return nil, fmt.Errorf("app: read rows of %s: %w", tb.Name, err)
	}
	defer rows.Close()
	var out []provenRow
	for rows.Next() {
		vals := make([]any, len(tb.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		keyVals := make([]any, len(tb.PK))
		for i, c := range tb.PK {
			keyVals[i] = vals[c]
		}
		key, err := commitment.Key(tb.Name, keyVals)
		if err != nil {
			return nil, err
		}
		enc, err := commitment.EncodeRow(vals)
		if err != nil {
			return nil, err
		}
		out = append(out, provenRow{key: key, enc: enc, hash: sha256.Sum256(enc)})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(x, y provenRow) int { return bytes.Compare(x.key, y.key) })
	return out, nil
}
