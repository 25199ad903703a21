package app

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/snapshot"
)

// benchRows is the state size of the snapshot benchmarks:
// IDOS_SNAPSHOT_ROWS (default 100,000; the 1,000,000 case of
// docs/BENCHMARKS.md sets it).
func benchRows(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("IDOS_SNAPSHOT_ROWS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("IDOS_SNAPSHOT_ROWS=%q", s)
		}
		n = v
	}
	return n
}

// bulkModule fills a table shaped like a credential row (a UUID-like text
// key, an owner, ~100 bytes of content) with rows 100,000 per block from
// its end-of-block hook, so a large state is built through FinalizeBlock
// and Commit without signing a million transactions.
func bulkModule(total int) module.Module {
	const perBlock = 100_000
	return module.Module{
		Name:   "bulk",
		Schema: []string{`CREATE TABLE bulk_rows (id TEXT PRIMARY KEY, owner TEXT NOT NULL, content BLOB NOT NULL) STRICT, WITHOUT ROWID`},
		EndBlock: func(env *module.Env) ([]module.ValidatorUpdate, error) {
			from := int(env.Height-1) * perBlock
			for i := from; i < min(from+perBlock, total); i++ {
				sum := sha256.Sum256([]byte(strconv.Itoa(i)))
				id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
				content := append(sum[:], sum[:]...)
				content = append(content, sum[:]...)
				if _, err := env.DB.ExecContext(env.Ctx, `INSERT INTO bulk_rows (id, owner, content) VALUES (?, ?, ?)`,
					id, fmt.Sprintf("owner-%d", i%10_000), content); err != nil {
					return nil, err
				}
			}
			return nil, nil
		},
	}
}

// bulkSource builds a state of total bulk rows on an app that snapshots
// nothing by itself.
func bulkSource(b *testing.B, dir string, total int) (*App, []byte) {
	b.Helper()
	mods := append(composition.Modules(), bulkModule(total))
	a, err := New(Config{Modules: mods, DBPath: filepath.Join(dir, "src.sqlite")})
	if err != nil {
		b.Fatal(err)
	}
	initChain(b, a)
	var hash []byte
	for h := int64(1); h <= int64((total+99_999)/100_000); h++ {
		hash = runBlock(b, a, h).AppHash
	}
	return a, hash
}

// BenchmarkSnapshot measures, on a state of IDOS_SNAPSHOT_ROWS bulk rows
// plus the genesis rows:
//
//   - create: writing a snapshot (read transaction, rows in key order,
//     a page proof per 4 MiB chunk) into memory, against a reference
//     that only reads the same rows in the same order (readonly);
//   - restore: OfferSnapshot and ApplySnapshotChunk of every chunk into a
//     fresh app, verification, rebuild and rename included, against a
//     reference that bulk-inserts the same rows into a fresh SQLite file
//     with no verification and no commitment (insertonly).
//
// Each iteration runs both, interleaved, so the ratio holds on a noisy
// machine.
func BenchmarkSnapshot(b *testing.B) {
	total := benchRows(b)
	ctx := context.Background()
	dir := b.TempDir()
	src, hash := bulkSource(b, dir, total)
	defer src.Close()
	height := src.height
	mods := append(composition.Modules(), bulkModule(total))
	g, _ := ParseGenesis(mods, nil)
	genesis, _ := g.Canonical()

	var create, readonly, restore, insertonly time.Duration
	var size int
	var nchunks int
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		// create
		t0 := time.Now()
		job, err := src.snapshotJob(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var chunks [][]byte
		size = 0
		if err := buildChunks(ctx, job, snapshot.DefaultChunkBytes, func(c []byte) error {
			chunks = append(chunks, c)
			size += len(c)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		job.tx.Rollback()
		create += time.Since(t0)
		nchunks = len(chunks)
		meta := job.meta.Encode()
		size += len(meta)

		// readonly reference
		t0 = time.Now()
		tx, err := src.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		it := &rowIter{ctx: ctx, tx: tx, tables: src.db.Tables()}
		var rows []snapshot.Row
		for {
			r, ok, err := it.next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			rows = append(rows, r)
		}
		it.close()
		tx.Rollback()
		readonly += time.Since(t0)

		// restore
		sum := sha256.Sum256(meta)
		sn := &abci.Snapshot{Height: uint64(height), Format: snapshot.Format, Chunks: uint32(len(chunks)), Hash: sum[:], Metadata: meta}
		rdir := filepath.Join(dir, fmt.Sprint("r", n))
		os.MkdirAll(rdir, 0o700)
		t0 = time.Now()
		dst, err := New(Config{Modules: mods, DBPath: filepath.Join(rdir, "state.sqlite"), ChainID: testChain, GenesisAppState: genesis})
		if err != nil {
			b.Fatal(err)
		}
		res, err := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: sn, AppHash: hash})
		if err != nil || res.Result != abci.ResponseOfferSnapshot_ACCEPT {
			b.Fatalf("offer: %v %v", res, err)
		}
		for i, c := range chunks {
			r, err := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: uint32(i), Chunk: c})
			if err != nil || r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
				b.Fatalf("chunk %d: %v %v", i, r, err)
			}
		}
		restore += time.Since(t0)
		dst.Close()

		// insertonly reference
		t0 = time.Now()
		if err := bulkInsert(ctx, filepath.Join(rdir, "plain.sqlite"), rows); err != nil {
			b.Fatal(err)
		}
		insertonly += time.Since(t0)
		os.RemoveAll(rdir)
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(per(create), "create-s")
	b.ReportMetric(per(create)/per(readonly), "create/readonly")
	b.ReportMetric(per(restore), "restore-s")
	b.ReportMetric(per(restore)/per(insertonly), "restore/insertonly")
	b.ReportMetric(float64(size)/(1<<20), "MiB")
	b.ReportMetric(float64(nchunks), "chunks")
	b.ReportMetric(float64(total), "rows")
}

// bulkInsert writes rows into one table of a fresh SQLite file the fastest
// plain way (no journal, one transaction): the floor under a restore.
func bulkInsert(ctx context.Context, path string, rows []snapshot.Row) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k BLOB PRIMARY KEY, v BLOB NOT NULL) STRICT, WITHOUT ROWID`); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO t VALUES (?, ?)`)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r.Key, r.Row); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// BenchmarkBlockDuringSnapshot measures what a snapshot being written costs
// block production: blocks of 200 kv.put transactions (signatures checked
// in CheckTx first, as in a running node) on a state of
// IDOS_SNAPSHOT_ROWS bulk rows, with a snapshot of that state written in
// the background ("during") and without ("alone"), interleaved per
// iteration. The snapshot competes for the same 2 cores; SQLite's WAL
// keeps the writer from waiting for its read transaction.
func BenchmarkBlockDuringSnapshot(b *testing.B) {
	total := benchRows(b)
	ctx := context.Background()
	src, _ := bulkSource(b, b.TempDir(), total)
	defer src.Close()
	accounts := make([]*client.Account, 20)
	for i := range accounts {
		accounts[i] = edAccount(byte(60 + i))
	}
	const perBlock, blocksPerRun = 200, 10
	next := src.height + 1
	makeBlock := func(seq int) [][]byte {
		txs := make([][]byte, perBlock)
		for i := range txs {
			txs[i] = build(b, accounts[i%len(accounts)], "kv.put", kv.PutPayload{Key: fmt.Sprintf("k%d", i), Value: fmt.Sprintf("v%d", seq)})
			if r, _ := src.CheckTx(ctx, &abci.RequestCheckTx{Tx: txs[i]}); r.Code != CodeOK {
				b.Fatalf("CheckTx: %s", r.Log)
			}
		}
		return txs
	}
	run := func() time.Duration {
		var spent time.Duration
		for i := 0; i < blocksPerRun; i++ {
			txs := makeBlock(int(next))
			t0 := time.Now()
			runBlock(b, src, next, txs...)
			spent += time.Since(t0)
			next++
		}
		return spent
	}
	var alone, during, snap time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		alone += run()
		job, err := src.snapshotJob(ctx)
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan time.Duration, 1)
		go func() {
			t0 := time.Now()
			err := buildChunks(ctx, job, snapshot.DefaultChunkBytes, func([]byte) error { return nil })
			job.tx.Rollback()
			if err != nil {
				b.Error(err)
			}
			done <- time.Since(t0)
		}()
		during += run()
		snap += <-done
	}
	perBlockMs := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N*blocksPerRun) }
	b.ReportMetric(perBlockMs(alone), "ms/block-alone")
	b.ReportMetric(perBlockMs(during), "ms/block-during")
	b.ReportMetric(float64(during)/float64(alone), "during/alone")
	b.ReportMetric(snap.Seconds()/float64(b.N), "snapshot-s")
}
