package runner

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtcons "github.com/cometbft/cometbft/consensus"
	"github.com/cometbft/cometbft/types"
)

// Pruning defaults (Options.PruneInterval, Options.CompactEvery).
const (
	// DefaultPruneInterval is how often the pruner looks at the block
	// store's base.
	DefaultPruneInterval = 5 * time.Second
	// DefaultCompactEvery is how many pruned heights trigger a full
	// compaction of CometBFT's LevelDB stores. LevelDB only marks deleted
	// keys; their bytes stay in older table and log files until a
	// compaction rewrites them, and CometBFT v0.38 never compacts.
	DefaultCompactEvery = 1000
)

// cometStores is a CometBFT DBProvider that keeps the databases it opens,
// so the node can prune the transaction index and compact the stores
// CometBFT itself never compacts.
type cometStores struct {
	mu  sync.Mutex
	dbs map[string]dbm.DB // by DBContext.ID: blockstore, state, tx_index, evidence
}

func (s *cometStores) provide(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dbs == nil {
		s.dbs = map[string]dbm.DB{}
	}
	s.dbs[ctx.ID] = db
	return db, nil
}

func (s *cometStores) get(id string) dbm.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dbs[id]
}

// txIndexPrunedKey records, in the tx index database, the height below
// which the index has been pruned. It cannot collide with CometBFT's keys:
// those are 32-byte hashes or "<type>.<key>/..." strings.
var txIndexPrunedKey = []byte("_idos/pruned_below")

// pruner deletes transaction index entries of pruned blocks and compacts
// CometBFT's stores. CometBFT prunes the block and state stores itself,
// below the RetainHeight the app returns from Commit.
type pruner struct {
	stores       *cometStores
	walHead      string       // the consensus WAL's head file
	base         func() int64 // the block store's lowest height
	compactEvery int64
	log          *slog.Logger

	compactedAt int64 // base at the last compaction
}

// run prunes every interval until ctx ends.
func (p *pruner) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := p.pass(); err != nil {
			p.log.Error("pruning failed; retrying", "err", err)
		}
	}
}

// pass prunes the tx index below the block store's base and compacts the
// stores once compactEvery heights were pruned since the last compaction.
func (p *pruner) pass() error {
	if n, err := dropRotatedWAL(p.walHead); err != nil {
		return err
	} else if n > 0 {
		p.log.Info("deleted rotated consensus WAL files", "files", n)
	}
	base := p.base()
	if base <= 1 {
		return nil
	}
	if idx := p.stores.get("tx_index"); idx != nil {
		if err := pruneTxIndex(idx, base); err != nil {
			return err
		}
	}
	if p.compactedAt == 0 {
		p.compactedAt = 1
	}
	if base-p.compactedAt < p.compactEvery {
		return nil
	}
	start := time.Now()
	for _, id := range []string{"blockstore", "state", "tx_index"} {
		db := p.stores.get(id)
		if db == nil {
			continue
		}
		if err := db.Compact(nil, nil); err != nil {
			return fmt.Errorf("compact %s: %w", id, err)
		}
	}
	p.log.Info("compacted block stores", "base", base, "took", time.Since(start))
	p.compactedAt = base
	return nil
}

// maxTxIndexHeightsPerPass bounds one pass of pruneTxIndex.
const maxTxIndexHeightsPerPass = 10_000

// pruneTxIndex deletes what CometBFT's kv indexer (v0.38, which never
// prunes) stored for transactions of heights below base: the result by
// hash (it holds the transaction bytes), the tx.height key and the keys of
// indexed event attributes. A hash whose stored result is from base or
// later (the same bytes in a later block) keeps its result.
func pruneTxIndex(db dbm.DB, base int64) error {
	from := int64(1)
	if v, err := db.Get(txIndexPrunedKey); err != nil {
		return fmt.Errorf("tx index: %w", err)
	} else if len(v) == 8 {
		from = int64(binary.BigEndian.Uint64(v))
	}
	if from >= base {
		return nil
	}
	// A node that starts pruning late catches up over several passes,
	// keeping each batch small.
	base = min(base, from+maxTxIndexHeightsPerPass)
	b := db.NewBatch()
	defer b.Close()
	for h := from; h < base; h++ {
		prefix := fmt.Appendf(nil, "%s/%d/%d/", types.TxHeightKey, h, h)
		keys, err := prefixKeys(db, prefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			index, _, _ := bytes.Cut(k[len(prefix):], []byte("$"))
			hash, err := db.Get(k)
			if err != nil {
				return fmt.Errorf("tx index: %w", err)
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			raw, err := db.Get(hash)
			if err != nil || raw == nil {
				continue
			}
			var res abci.TxResult
			if err := res.Unmarshal(raw); err != nil {
				return fmt.Errorf("tx index: result %X: %w", hash, err)
			}
			// The same bytes give the same events (action, sender), so
			// the stored result names this height's event keys even when
			// a later inclusion replaced it.
			if err := deleteEventKeys(db, b, res.Result.Events, h, index); err != nil {
				return err
			}
			if res.Height >= base {
				continue // the result of a kept height
			}
			if err := b.Delete(hash); err != nil {
				return err
			}
		}
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(base))
	if err := b.Set(txIndexPrunedKey, v[:]); err != nil {
		return err
	}
	return b.WriteSync()
}

// deleteEventKeys deletes the index keys of indexed event attributes of
// the transaction at height and index:
// "<type>.<key>/<value>/<height>/<index>$es$<seq>", where seq is a counter
// the indexer does not store, hence the prefix scan.
func deleteEventKeys(db dbm.DB, b dbm.Batch, events []abci.Event, height int64, index []byte) error {
	for _, ev := range events {
		for _, a := range ev.Attributes {
			if !a.Index || ev.Type == "" || a.Key == "" {
				continue
			}
			keys, err := prefixKeys(db, fmt.Appendf(nil, "%s.%s/%s/%d/%s$es$", ev.Type, a.Key, a.Value, height, index))
			if err != nil {
				return err
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// prefixKeys lists the keys starting with prefix.
func prefixKeys(db dbm.DB, prefix []byte) ([][]byte, error) {
	end := bytes.Clone(prefix)
	end[len(end)-1]++ // prefixes here end in '/' or '$', never 0xff
	it, err := db.Iterator(prefix, end)
	if err != nil {
		return nil, fmt.Errorf("tx index: %w", err)
	}
	defer it.Close()
	var keys [][]byte
	for ; it.Valid(); it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
	}
	return keys, it.Error()
}

// tidyStores opens and closes the pruned stores of a stopped node.
// goleveldb deletes a table file replaced by a compaction only once no
// reader holds the version that listed it, which may take up to five
// minutes (its refLoop's maxCachedTime); a replaced file left behind is
// deleted when the store is opened.
func tidyStores(cfg *cmtcfg.Config, opened *cometStores) error {
	var errs []error
	for _, id := range []string{"blockstore", "state", "tx_index"} {
		if opened.get(id) == nil {
			continue // never opened (the tx index may be off)
		}
		db, err := cmtcfg.DefaultDBProvider(&cmtcfg.DBContext{ID: id, Config: cfg})
		if err != nil {
			errs = append(errs, fmt.Errorf("tidy %s: %w", id, err))
			continue
		}
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}

// rotatedWAL matches the consensus WAL's rotated files (wal.000, ...).
var rotatedWAL = regexp.MustCompile(`^\.\d{3,}$`)

// rotatedWALFiles lists the rotated files of the WAL whose head is head.
func rotatedWALFiles(head string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Dir(head))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // consensus has not started yet (state or block sync)
	}
	if err != nil {
		return nil, fmt.Errorf("consensus WAL: %w", err)
	}
	base := filepath.Base(head)
	var out []string
	for _, e := range entries {
		if name := e.Name(); len(name) > len(base) && name[:len(base)] == base && rotatedWAL.MatchString(name[len(base):]) {
			out = append(out, filepath.Join(filepath.Dir(head), name))
		}
	}
	return out, nil
}

// lastEndHeight returns the offset of the last #ENDHEIGHT record in a WAL
// file's bytes, or -1. A torn or corrupt tail ends the scan.
func lastEndHeight(data []byte) int {
	r := bytes.NewReader(data)
	dec := cmtcons.NewWALDecoder(r)
	last := -1
	for {
		at := len(data) - r.Len()
		msg, err := dec.Decode()
		if err != nil {
			return last
		}
		if _, ok := msg.Msg.(cmtcons.EndHeightMessage); ok {
			last = at
		}
	}
}

// dropRotatedWAL deletes the consensus WAL's rotated files once its head
// holds an #ENDHEIGHT marker: replay starts from the last marker, so the
// rotated files are never read again. CometBFT itself keeps them up to
// 1 GB, and they hold old blocks' transactions. Safe while CometBFT runs:
// the files are listed before the head is read, so a rotation in between
// only adds a file this call does not delete.
func dropRotatedWAL(head string) (int, error) {
	rotated, err := rotatedWALFiles(head)
	if err != nil || len(rotated) == 0 {
		return 0, err
	}
	data, err := os.ReadFile(head)
	if err != nil {
		return 0, fmt.Errorf("consensus WAL: %w", err)
	}
	if lastEndHeight(data) < 0 {
		return 0, nil // just rotated: the marker is in a rotated file
	}
	for _, f := range rotated {
		if err := os.Remove(f); err != nil {
			return 0, fmt.Errorf("consensus WAL: %w", err)
		}
	}
	return len(rotated), nil
}

// trimConsensusWAL cuts the consensus WAL (data/cs.wal/wal) of a stopped
// node down to its last #ENDHEIGHT marker and what follows, and deletes
// rotated WAL files. CometBFT replays only from the marker of the last
// committed height, and the WAL holds every proposed block's
// transactions. It must not run while CometBFT has the WAL open.
func trimConsensusWAL(head string) error {
	data, err := os.ReadFile(head)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("consensus WAL: %w", err)
	}
	last := lastEndHeight(data)
	if last < 0 {
		// The head was just rotated: the marker is in an older file.
		return nil
	}
	if last > 0 {
		tmp := head + ".trim"
		if err := os.WriteFile(tmp, data[last:], 0o600); err != nil {
			return fmt.Errorf("consensus WAL: %w", err)
		}
		if err := os.Rename(tmp, head); err != nil {
			return fmt.Errorf("consensus WAL: %w", err)
		}
	}
	_, err = dropRotatedWAL(head)
	return err
}
