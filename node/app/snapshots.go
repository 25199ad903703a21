package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/changeset"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/snapshot"
	"github.com/idos-network/idos-node/node/snapshot/snapstore"
	"github.com/idos-network/idos-node/node/sqlstate"
)

// State-sync snapshots, the serving side (docs/spec/snapshots.md).
//
// Commit of every SnapshotInterval-th height opens a read transaction on
// the committed state (a WAL snapshot: later blocks do not change what it
// sees) and hands it, with the trie version of that height, to a
// background goroutine that writes the chunks; block production never
// waits for it. One snapshot is taken at a time: a height that comes due
// while one is still being written is skipped (logged). None of this is
// consensus: nodes take snapshots or not, each on its own.

// DefaultSnapshotKeep is how many snapshots a node keeps when
// Config.SnapshotKeep is 0.
const DefaultSnapshotKeep = 2

type snapshots struct {
	store      *snapstore.Store
	interval   int64
	keep       int
	chunkBytes int
	oldest     atomic.Int64 // the oldest snapshot kept, for the retain window
	running    atomic.Bool
	wg         sync.WaitGroup
	cancel     context.CancelFunc
	ctx        context.Context
	lastErr    atomic.Pointer[error]
}

// openSnapshots sets up the store when cfg asks for snapshots.
func (a *App) openSnapshots(cfg Config) error {
	if cfg.SnapshotDir == "" {
		return nil
	}
	st, err := snapstore.Open(cfg.SnapshotDir)
	if err != nil {
		return err
	}
	s := &snapshots{store: st, interval: cfg.SnapshotInterval, keep: cfg.SnapshotKeep, chunkBytes: cfg.SnapshotChunkBytes}
	if s.keep <= 0 {
		s.keep = DefaultSnapshotKeep
	}
	if s.chunkBytes <= 0 {
		s.chunkBytes = snapshot.DefaultChunkBytes
	}
	oldest, err := st.Prune(s.keep)
	if err != nil {
		return err
	}
	s.oldest.Store(oldest)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	a.snaps = s
	// Blocks from the oldest snapshot on stay, so a node restored from
	// it can fetch the blocks that bring it to the tip.
	if a.retain.OldestSnapshot == nil {
		a.retain.OldestSnapshot = s.oldest.Load
	}
	return nil
}

// closeSnapshots stops a snapshot being written (it is discarded) and waits.
func (a *App) closeSnapshots() {
	if a.snaps != nil {
		a.snaps.cancel()
		a.snaps.wg.Wait()
	}
}

// WaitSnapshots waits for the snapshot being written, if any, and returns
// the error of the last one that failed (nil if none did).
func (a *App) WaitSnapshots() error {
	if a.snaps == nil {
		return nil
	}
	a.snaps.wg.Wait()
	if e := a.snaps.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

// snapJob is what a snapshot of one height needs, fixed at Commit.
type snapJob struct {
	tx     *sql.Tx // read transaction pinned at the height
	trie   *commitment.Trie
	tables []*changeset.Table
	meta   snapshot.Metadata
}

// maybeSnapshot starts the snapshot of the height just committed if one is
// due. Called by Commit after the committed fields are set.
func (a *App) maybeSnapshot(ctx context.Context) {
	s := a.snaps
	if s == nil || s.interval <= 0 || a.height%s.interval != 0 {
		return
	}
	if !s.running.CompareAndSwap(false, true) {
		a.log.Warn("snapshot skipped: the previous one is still being written", "height", a.height)
		return
	}
	job, err := a.snapshotJob(ctx)
	if err != nil {
		s.running.Store(false)
		a.log.Error("snapshot not taken", "height", a.height, "err", err)
		s.lastErr.Store(&err)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.running.Store(false)
		defer job.tx.Rollback()
		if err := a.writeSnapshot(s.ctx, job); err != nil {
			if !errors.Is(err, context.Canceled) {
				a.log.Error("snapshot failed", "height", job.meta.Height, "err", err)
			}
			s.lastErr.Store(&err)
			return
		}
		s.lastErr.Store(nil)
	}()
}

// snapshotJob pins a read transaction at the committed height and collects
// the metadata fields that do not depend on the chunks.
func (a *App) snapshotJob(ctx context.Context) (*snapJob, error) {
	tx, err := a.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	job, err := a.fillJob(ctx, tx)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return job, nil
}

func (a *App) fillJob(ctx context.Context, tx *sql.Tx) (*snapJob, error) {
	// SQLite takes a WAL read snapshot at a transaction's first read;
	// reading the height now pins it before the next block can commit.
	meta, err := readMeta(ctx, tx)
	if err != nil {
		return nil, err
	}
	a.mu.RLock()
	height, chainID, params := a.height, a.chainID, a.params
	a.mu.RUnlock()
	if meta.height != height {
		return nil, fmt.Errorf("app: snapshot read at height %d, committed %d", meta.height, height)
	}
	job := &snapJob{tx: tx, trie: a.trie, tables: a.db.Tables()}
	m := &job.meta
	m.Height, m.ChainID = height, chainID
	if m.Genesis, err = params.Canonical(); err != nil {
		return nil, err
	}
	prev, cs, root, err := blockFields(ctx, tx, height)
	if err != nil {
		return nil, err
	}
	copy(m.PrevAppHash[:], prev)
	copy(m.ChangesetHash[:], cs)
	copy(m.StateRoot[:], root)
	if r := job.trie.Root(); r != m.StateRoot {
		return nil, fmt.Errorf("app: trie root %x, block record %x", r, m.StateRoot)
	}
	var changes int64
	if err := tx.QueryRowContext(ctx, `SELECT changes FROM _idos_blocks WHERE height = ?`, height).Scan(&changes); err != nil {
		return nil, fmt.Errorf("app: block record %d: %w", height, err)
	}
	m.Changes = uint32(changes)
	if m.Schema, err = stateSchema(ctx, tx); err != nil {
		return nil, err
	}
	return job, nil
}

// stateSchema reads the schema of the state: every object but SQLite's own
// and the node's internal tables, ordered by (type, name).
func stateSchema(ctx context.Context, q querier) ([]snapshot.SchemaObject, error) {
	rows, err := q.QueryContext(ctx, `SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		return nil, fmt.Errorf("app: read schema: %w", err)
	}
	defer rows.Close()
	var out []snapshot.SchemaObject
	for rows.Next() {
		var o snapshot.SchemaObject
		if err := rows.Scan(&o.Type, &o.Name, &o.SQL); err != nil {
			return nil, err
		}
		if strings.HasPrefix(o.Name, "sqlite_") || strings.HasPrefix(o.Name, sqlstate.InternalPrefix) {
			continue
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// writeSnapshot streams every state row in key order into chunks of about
// chunkBytes, each proven with a page of the trie version of the height,
// checking as it goes that the rows hash to the trie's leaves.
func (a *App) writeSnapshot(ctx context.Context, job *snapJob) error {
	w, err := a.snaps.store.Create(job.meta.Height)
	if err != nil {
		return err
	}
	if err := buildChunks(ctx, job, a.snaps.chunkBytes, w.Chunk); err != nil {
		w.Abort()
		return err
	}
	if err := w.Finish(job.meta.Encode()); err != nil {
		w.Abort()
		return err
	}
	oldest, err := a.snaps.store.Prune(a.snaps.keep)
	if err != nil {
		return err
	}
	a.snaps.oldest.Store(oldest)
	a.log.Info("snapshot taken", "height", job.meta.Height, "rows", job.meta.Rows, "chunks", len(job.meta.Chunks))
	return nil
}

// buildChunks fills job.meta's Rows and Chunks and hands each chunk's
// encoding to emit.
func buildChunks(ctx context.Context, job *snapJob, chunkBytes int, emit func([]byte) error) error {
	it := &rowIter{ctx: ctx, tx: job.tx, tables: job.tables}
	defer it.close()
	var pending []snapshot.Row
	size := 0
	m := &job.meta
	m.Rows, m.Chunks = 0, nil
	for index := uint32(0); ; index++ {
		// A chunk after the first repeats the previous one's last row
		// and needs at least one new row, however large.
		minRows := 1
		if index > 0 {
			minRows = 2
		}
		for size < chunkBytes || len(pending) < minRows {
			r, ok, err := it.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			pending = append(pending, r)
			size += len(r.Key) + len(r.Row)
		}
		if len(pending) < minRows {
			return fmt.Errorf("app: snapshot of height %d: the trie has rows the state does not", m.Height)
		}
		enc, info, more, err := snapshot.MakeChunk(job.trie, index, pending)
		if err != nil {
			return fmt.Errorf("app: snapshot of height %d: %w", m.Height, err)
		}
		if err := emit(enc); err != nil {
			return err
		}
		m.Chunks = append(m.Chunks, info)
		if index == 0 {
			m.Rows += uint64(len(pending))
		} else {
			m.Rows += uint64(len(pending) - 1)
		}
		if !more {
			if _, extra, err := it.next(); err != nil || extra {
				return errors.Join(err, fmt.Errorf("app: snapshot of height %d: the state has rows the trie does not", m.Height))
			}
			break
		}
		last := pending[len(pending)-1]
		pending, size = []snapshot.Row{last}, len(last.Key)+len(last.Row)
	}
	if m.Rows != uint64(job.trie.Len()) {
		return fmt.Errorf("app: snapshot of height %d has %d rows, the trie %d", m.Height, m.Rows, job.trie.Len())
	}
	if len(m.Encode()) > snapshot.MaxMetadataBytes {
		return fmt.Errorf("app: snapshot metadata of height %d over %d bytes", m.Height, snapshot.MaxMetadataBytes)
	}
	return nil
}

// rowIter reads the state tables in name order, each in primary-key order,
// which is commitment key order (changeset.EncodeKey preserves SQLite's
// BINARY order; next checks it).
type rowIter struct {
	ctx    context.Context
	tx     *sql.Tx
	tables []*changeset.Table
	t      int
	rows   *sql.Rows
	vals   []any
	ptrs   []any
	prev   []byte
}

func (it *rowIter) close() {
	if it.rows != nil {
		it.rows.Close()
	}
}

func (it *rowIter) next() (snapshot.Row, bool, error) {
	for {
		if it.rows == nil {
			if it.t >= len(it.tables) {
				return snapshot.Row{}, false, nil
			}
			tb := it.tables[it.t]
			order := make([]string, len(tb.PK))
			for i, c := range tb.PK {
				order[i] = fmt.Sprintf("%q", tb.Columns[c])
			}
			rows, err := it.tx.QueryContext(it.ctx, fmt.Sprintf(`SELECT * FROM %q ORDER BY %s`, tb.Name, strings.Join(order, ", ")))
			if err != nil {
				return snapshot.Row{}, false, fmt.Errorf("app: snapshot: read %s: %w", tb.Name, err)
			}
			it.rows = rows
			it.vals, it.ptrs = make([]any, len(tb.Columns)), make([]any, len(tb.Columns))
			for i := range it.vals {
				it.ptrs[i] = &it.vals[i]
			}
		}
		if !it.rows.Next() {
			err := it.rows.Err()
			it.rows.Close()
			it.rows = nil
			it.t++
			if err != nil {
				return snapshot.Row{}, false, err
			}
			continue
		}
		tb := it.tables[it.t]
		if err := it.rows.Scan(it.ptrs...); err != nil {
			return snapshot.Row{}, false, err
		}
		pk := make([]any, len(tb.PK))
		for i, c := range tb.PK {
			pk[i] = it.vals[c]
		}
		key, err := commitment.Key(tb.Name, pk)
		if err != nil {
			return snapshot.Row{}, false, err
		}
		if bytes.Compare(it.prev, key) >= 0 {
			return snapshot.Row{}, false, fmt.Errorf("app: snapshot: table %s is not read in key order at %x", tb.Name, key)
		}
		enc, err := commitment.EncodeRow(it.vals)
		if err != nil {
			return snapshot.Row{}, false, err
		}
		it.prev = key
		return snapshot.Row{Key: key, Row: enc}, true, nil
	}
}

// SnapshotHeights answers the ABCI query /snapshots: the heights of the
// snapshots this node offers, oldest first.
type SnapshotHeights struct {
	Heights []int64 `json:"heights"`
}

func (a *App) snapshotHeights() ([]int64, error) {
	if a.snaps == nil {
		return []int64{}, nil
	}
	hs, err := a.snaps.store.Heights()
	if hs == nil {
		hs = []int64{}
	}
	return hs, err
}

// ListSnapshots offers the snapshots on disk.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	res := &abci.ResponseListSnapshots{}
	if a.snaps == nil {
		return res, nil
	}
	hs, err := a.snaps.store.Heights()
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		m, raw, err := a.snaps.store.Metadata(h)
		if errors.Is(err, snapstore.ErrNotFound) {
			continue // pruned since listed
		}
		if err != nil {
			return nil, err
		}
		hash := sha256.Sum256(raw)
		res.Snapshots = append(res.Snapshots, &abci.Snapshot{
			Height: uint64(h), Format: snapshot.Format, Chunks: uint32(len(m.Chunks)), Hash: hash[:], Metadata: raw,
		})
	}
	return res, nil
}

// LoadSnapshotChunk serves one chunk as stored; an unknown one is an empty
// answer, which CometBFT reports to the asking peer as missing.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	if a.snaps == nil || req.Format != snapshot.Format {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	b, err := a.snaps.store.Chunk(int64(req.Height), req.Chunk)
	if errors.Is(err, snapstore.ErrNotFound) {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: b}, nil
}
