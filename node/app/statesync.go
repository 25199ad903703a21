package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/changeset"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/snapshot"
	"github.com/idos-network/idos-node/node/sqlstate"
)

// State sync, the restoring side (docs/spec/snapshots.md).
//
// OfferSnapshot checks the snapshot's metadata against the app hash
// CometBFT's light client verified for its height, and that the snapshot's
// chain, genesis and schema are this node's. Every chunk is then verified
// as it arrives (snapshot.VerifyChunk: a page proof against the state
// root) before its rows are written, into a separate database file
// (<state>.restore). After the last chunk the trie is rebuilt from the
// written leaves and checked against the root, the node's bookkeeping
// (_idos_meta, _idos_blocks) is written, and the file is renamed over the
// (empty) state database; only then does Info report the height. A crash
// at any point before the rename leaves the empty state and a temporary
// file, which the next start deletes.

// ErrPopulated is why a node with state refuses to restore a snapshot.
var ErrPopulated = errors.New("app: refusing to state-sync over a populated database")

// restoreSuffix names the temporary database a restore writes.
const restoreSuffix = ".restore"

type restore struct {
	m        *snapshot.Metadata
	path     string
	db       *sql.DB
	conn     *sql.Conn // the one connection; statements are prepared on it
	next     uint32
	prevLast []byte
	tables   map[string]*changeset.Table
	inserts  map[string]*sql.Stmt
	leaf     *sql.Stmt
}

func (r *restore) close() {
	for _, st := range r.inserts {
		st.Close()
	}
	if r.leaf != nil {
		r.leaf.Close()
	}
	if r.conn != nil {
		r.conn.Close()
	}
	if r.db != nil {
		r.db.Close()
	}
}

// discard drops the restore in progress and its file.
func (a *App) discardRestore() {
	if a.restoring == nil {
		return
	}
	a.restoring.close()
	removeDB(a.restoring.path)
	a.restoring = nil
}

func removeDB(path string) {
	for _, s := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(path + s)
	}
}

// OfferSnapshot accepts a snapshot whose metadata composes to the trusted
// app hash and matches this node's chain, genesis and schema.
func (a *App) OfferSnapshot(ctx context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	reject := func(res abci.ResponseOfferSnapshot_Result, err error) (*abci.ResponseOfferSnapshot, error) {
		a.log.Warn("snapshot refused", "height", req.GetSnapshot().GetHeight(), "result", res, "err", err)
		return &abci.ResponseOfferSnapshot{Result: res}, nil
	}
	a.discardRestore() // a snapshot offered after another failed
	a.mu.RLock()
	populated := a.hasHeight || a.block.open
	a.mu.RUnlock()
	if populated {
		return reject(abci.ResponseOfferSnapshot_ABORT, ErrPopulated)
	}
	if a.cfg.ChainID == "" {
		return reject(abci.ResponseOfferSnapshot_ABORT, errors.New("app: no genesis configured for state sync (Config.ChainID, Config.GenesisAppState)"))
	}
	g, err := ParseGenesis(a.modules, a.cfg.GenesisAppState)
	if err != nil {
		return reject(abci.ResponseOfferSnapshot_ABORT, err)
	}
	canonical, _ := g.Canonical()
	s := req.GetSnapshot()
	if s == nil || s.Format != snapshot.Format {
		return reject(abci.ResponseOfferSnapshot_REJECT_FORMAT, fmt.Errorf("format %d", s.GetFormat()))
	}
	// Metadata that is not the chain's state at its height was made up
	// by every peer that offered it: CometBFT lists a snapshot under its
	// height, format, hash and metadata together, so REJECT_SENDER bans
	// exactly the peers that offered these bytes. A schema unlike this
	// node's may be honest (another version of the node): REJECT only.
	m, err := snapshot.VerifyMetadata(int64(s.Height), req.AppHash, s.Metadata)
	if err != nil {
		return reject(abci.ResponseOfferSnapshot_REJECT_SENDER, err)
	}
	if h := sha256.Sum256(s.Metadata); !bytes.Equal(h[:], s.Hash) || int(s.Chunks) != len(m.Chunks) {
		return reject(abci.ResponseOfferSnapshot_REJECT_SENDER, fmt.Errorf("%w: hash or chunk count differ from the metadata", snapshot.ErrMalformed))
	}
	if m.ChainID != a.cfg.ChainID || !bytes.Equal(m.Genesis, canonical) {
		return reject(abci.ResponseOfferSnapshot_REJECT_SENDER, errors.New("app: snapshot of another chain or genesis"))
	}
	r, err := a.startRestore(ctx, m)
	if err != nil {
		if errors.Is(err, errSchema) {
			return reject(abci.ResponseOfferSnapshot_REJECT, err)
		}
		return nil, err
	}
	a.restoring = r
	a.log.Info("restoring snapshot", "height", m.Height, "chunks", len(m.Chunks), "rows", m.Rows)
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ACCEPT}, nil
}

var errSchema = errors.New("app: snapshot schema is not this node's")

// startRestore creates the temporary database with this node's own schema
// and compares it with the snapshot's.
func (a *App) startRestore(ctx context.Context, m *snapshot.Metadata) (*restore, error) {
	path := a.dbPath + restoreSuffix
	removeDB(path)
	// The schema is made by sqlstate exactly as InitChain makes it, which
	// also checks the schema rules.
	sdb, err := sqlstate.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	err = sdb.BeginBlock(ctx)
	if err == nil {
		err = sdb.Migrate(ctx, internalSchema...)
	}
	if err == nil {
		err = sdb.Migrate(ctx, a.stateDDL()...)
	}
	if err == nil {
		err = sdb.Commit(ctx)
	}
	tables := sdb.Tables()
	if cerr := sdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		removeDB(path)
		return nil, err
	}
	// Rows are written by a connection without a journal: a crash leaves
	// a file that the next start deletes, and nothing is ever rolled back.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		removeDB(path)
		return nil, err
	}
	db.SetMaxOpenConns(1)
	r := &restore{m: m, path: path, db: db, tables: map[string]*changeset.Table{}, inserts: map[string]*sql.Stmt{}}
	fail := func(err error) (*restore, error) {
		r.close()
		removeDB(path)
		return nil, err
	}
	if r.conn, err = db.Conn(ctx); err != nil {
		return fail(err)
	}
	schema, err := stateSchema(ctx, r.conn)
	if err != nil {
		return fail(err)
	}
	if !slices.Equal(schema, m.Schema) {
		return fail(fmt.Errorf("%w: %d objects, this node has %d", errSchema, len(m.Schema), len(schema)))
	}
	for _, tb := range tables {
		r.tables[tb.Name] = tb
		q := fmt.Sprintf(`INSERT INTO %q VALUES (%s)`, tb.Name, strings.TrimSuffix(strings.Repeat("?,", len(tb.Columns)), ","))
		if r.inserts[tb.Name], err = r.conn.PrepareContext(ctx, q); err != nil {
			return fail(err)
		}
	}
	if r.leaf, err = r.conn.PrepareContext(ctx, `INSERT INTO _idos_leaves (key, value_hash) VALUES (?, ?)`); err != nil {
		return fail(err)
	}
	return r, nil
}

// stateDDL is the schema InitChain creates.
func (a *App) stateDDL() []string {
	ddl := []string{accountsSchema}
	for _, m := range a.modules {
		ddl = append(ddl, m.Schema...)
	}
	return ddl
}

// ApplySnapshotChunk verifies a chunk and writes its rows; after the last
// one it completes the restore. A chunk that is not the one the metadata
// lists is fetched again from another peer and its sender banned; a listed
// chunk that does not prove out rejects the snapshot and its sender.
func (a *App) ApplySnapshotChunk(ctx context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	r := a.restoring
	if r == nil {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
	}
	if req.Index != r.next {
		// CometBFT applies chunks in order; anything else is a bug.
		return nil, fmt.Errorf("app: snapshot chunk %d applied, %d expected", req.Index, r.next)
	}
	senders := []string{}
	if req.Sender != "" {
		senders = []string{req.Sender}
	}
	rows, err := snapshot.VerifyChunk(r.m, req.Index, r.prevLast, req.Chunk)
	switch {
	case errors.Is(err, snapshot.ErrChunkHash):
		a.log.Warn("snapshot chunk refused, fetching it again", "height", r.m.Height, "index", req.Index, "sender", req.Sender, "err", err)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY,
			RefetchChunks: []uint32{req.Index}, RejectSenders: senders}, nil
	case err != nil:
		a.log.Warn("snapshot rejected at a chunk", "height", r.m.Height, "index", req.Index, "sender", req.Sender, "err", err)
		a.discardRestore()
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT,
			RejectSenders: senders}, nil
	}
	if err := r.write(ctx, rows); err != nil {
		// Proven rows that do not fit this node's schema: the snapshot
		// cannot be restored here.
		a.log.Warn("snapshot rejected: rows do not fit the schema", "height", r.m.Height, "index", req.Index, "sender", req.Sender, "err", err)
		a.discardRestore()
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT,
			RejectSenders: senders}, nil
	}
	r.prevLast = rows[len(rows)-1].Key
	r.next++
	// Which peer served which chunk: what an operator (and the real-process
	// test of bad peers) reads to see a banned peer never served again.
	a.log.Info("snapshot chunk applied", "height", r.m.Height, "index", req.Index, "of", len(r.m.Chunks), "sender", req.Sender)
	if int(r.next) < len(r.m.Chunks) {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	}
	if err := a.finishRestore(ctx); err != nil {
		a.discardRestore()
		return nil, err
	}
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
}

// write inserts a verified chunk's rows and their leaves in one
// transaction.
func (r *restore) write(ctx context.Context, rows []snapshot.Row) (err error) {
	if _, err := r.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = r.conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	for _, row := range rows {
		i := bytes.IndexByte(row.Key, 0)
		if i <= 0 {
			return fmt.Errorf("app: snapshot row key %x has no table", row.Key)
		}
		tb := r.tables[string(row.Key[:i])]
		if tb == nil {
			return fmt.Errorf("app: snapshot row of unknown table %q", row.Key[:i])
		}
		vals, err := commitment.DecodeRow(row.Row)
		if err != nil {
			return err
		}
		if len(vals) != len(tb.Columns) {
			return fmt.Errorf("app: snapshot row of %s has %d columns, the table %d", tb.Name, len(vals), len(tb.Columns))
		}
		pk := make([]any, len(tb.PK))
		for j, c := range tb.PK {
			pk[j] = vals[c]
		}
		// The proof binds key and row bytes; the node reads the row back
		// by its primary key, so the two must agree.
		key, err := commitment.Key(tb.Name, pk)
		if err != nil {
			return err
		}
		if !bytes.Equal(key, row.Key) {
			return fmt.Errorf("app: snapshot row of %s under key %x has primary key %x", tb.Name, row.Key, key)
		}
		if _, err := r.inserts[tb.Name].ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("app: restore row of %s: %w", tb.Name, err)
		}
		vh := sha256.Sum256(row.Row)
		if _, err := r.leaf.ExecContext(ctx, row.Key, vh[:]); err != nil {
			return fmt.Errorf("app: restore leaf: %w", err)
		}
	}
	_, err = r.conn.ExecContext(ctx, "COMMIT")
	return err
}

// finishRestore rebuilds the trie, writes the bookkeeping a replayed node
// has, makes the file durable, puts it in place and opens it.
func (a *App) finishRestore(ctx context.Context) error {
	r := a.restoring
	m := r.m
	t, err := rebuildTrie(ctx, r.conn, m.StateRoot[:])
	if err != nil {
		return err
	}
	if uint64(t.Len()) != m.Rows {
		return fmt.Errorf("app: restored %d rows, the snapshot lists %d", t.Len(), m.Rows)
	}
	appHash := m.AppHash()
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO _idos_meta (key, value) VALUES ('chain_id', ?), ('genesis', ?), ('height', ?), ('app_hash', ?), ('state_root', ?)`,
			[]any{[]byte(m.ChainID), m.Genesis, u64(m.Height), appHash[:], m.StateRoot[:]}},
		// Proofs at height H quote app_hash(H-1); the state of H-1 was
		// never here, so its record holds the app hash alone.
		{`INSERT INTO _idos_blocks (height, changeset_hash, changes, app_hash, state_root) VALUES (?, x'', 0, ?, x''), (?, ?, ?, ?, ?)`,
			[]any{m.Height - 1, m.PrevAppHash[:], m.Height, m.ChangesetHash[:], int64(m.Changes), appHash[:], m.StateRoot[:]}},
	}
	for _, s := range stmts {
		if _, err := r.conn.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("app: restore bookkeeping: %w", err)
		}
	}
	// Back to the node's journal mode, with everything on disk, before
	// the file takes the state's name.
	for _, p := range []string{"PRAGMA synchronous = FULL", "PRAGMA journal_mode = WAL", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := r.conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("app: restore: %s: %w", p, err)
		}
	}
	if err := syncFile(r.path); err != nil {
		return err
	}
	r.close()
	r.db = nil
	if err := a.db.Replace(ctx, r.path); err != nil {
		return err
	}
	a.restoring = nil
	if err := a.loadCommitted(ctx); err != nil {
		return err
	}
	if err := a.startPlugins(ctx, a.cfg); err != nil {
		return err
	}
	a.log.Info("snapshot restored", "height", m.Height, "rows", m.Rows, "app_hash", fmt.Sprintf("%X", appHash[:]))
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("app: restore: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("app: restore: %w", err)
	}
	return nil
}
