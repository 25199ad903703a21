package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/snapshot"
)

// syncSource is an app that took snapshots, with the blocks it ran.
type syncSource struct {
	a      *App
	dir    string
	blocks [][][]byte
	hashes map[int64][]byte
}

// defaultGenesis is the canonical default genesis app_state.
func defaultGenesis(t testing.TB) []byte {
	g, err := ParseGenesis(composition.Modules(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := g.Canonical()
	return c
}

// kvBlocks returns n blocks of perBlock kv transactions each, by 10
// senders, with values of a few hundred bytes: the first block inserts;
// later ones update the first block's rows (odd i), insert, and block 2
// deletes some of the first block's rows.
func kvBlocks(t testing.TB, n, perBlock int) [][][]byte {
	accs := make([]*client.Account, 10)
	for i := range accs {
		accs[i] = edAccount(byte(40 + i))
	}
	var blocks [][][]byte
	for b := 0; b < n; b++ {
		var txs [][]byte
		for i := 0; i < perBlock; i++ {
			acc := accs[i%len(accs)]
			v := fmt.Sprintf("%0200d", b*perBlock+i)
			switch {
			case b == 1 && i%7 == 0:
				txs = append(txs, build(t, acc, "kv.delete", kv.DeletePayload{Key: fmt.Sprintf("key-0-%d", i)}))
			case b > 0 && i%2 == 1:
				txs = append(txs, build(t, acc, "kv.put", kv.PutPayload{Key: fmt.Sprintf("key-0-%d", i), Value: v}))
			default:
				txs = append(txs, build(t, acc, "kv.put", kv.PutPayload{Key: fmt.Sprintf("key-%d-%d", b, i), Value: v}))
			}
		}
		blocks = append(blocks, txs)
	}
	return blocks
}

// newSource runs blocks on a fresh app that snapshots every interval
// heights in small chunks, and waits for its snapshots.
func newSource(t *testing.T, blocks [][][]byte, interval int64) *syncSource {
	t.Helper()
	dir := t.TempDir()
	a, err := New(Config{Modules: composition.Modules(), DBPath: filepath.Join(dir, "state.sqlite"),
		SnapshotDir: filepath.Join(dir, "snapshots"), SnapshotInterval: interval, SnapshotKeep: 10, SnapshotChunkBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	s := &syncSource{a: a, dir: dir, blocks: blocks, hashes: map[int64][]byte{}}
	s.hashes[0] = initChain(t, a)
	for i, txs := range blocks {
		res := runBlock(t, a, int64(i+1), txs...)
		for j, r := range res.TxResults {
			if r.Code != CodeOK {
				t.Fatalf("block %d tx %d: code %d %s", i+1, j, r.Code, r.Log)
			}
		}
		s.hashes[int64(i+1)] = res.AppHash
		// One snapshot is written at a time; a height due while one is
		// being written is skipped, so let each finish.
		if err := a.WaitSnapshots(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// snapshotAt returns the source's snapshot of height h and its chunks.
func (s *syncSource) snapshotAt(t *testing.T, h int64) (*abci.Snapshot, [][]byte) {
	t.Helper()
	ctx := context.Background()
	list, err := s.a.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range list.Snapshots {
		if int64(sn.Height) != h {
			continue
		}
		var chunks [][]byte
		for i := uint32(0); i < sn.Chunks; i++ {
			c, err := s.a.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: sn.Height, Format: sn.Format, Chunk: i})
			if err != nil || len(c.Chunk) == 0 {
				t.Fatalf("chunk %d of height %d: %v (%d bytes)", i, h, err, len(c.Chunk))
			}
			chunks = append(chunks, c.Chunk)
		}
		return sn, chunks
	}
	t.Fatalf("no snapshot of height %d in %d", h, len(list.Snapshots))
	return nil, nil
}

// newSyncTarget opens an empty app that may restore snapshots of testChain.
func newSyncTarget(t *testing.T, dir string) *App {
	t.Helper()
	a, err := New(Config{Modules: composition.Modules(), DBPath: filepath.Join(dir, "state.sqlite"),
		ChainID: testChain, GenesisAppState: defaultGenesis(t)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func offer(t *testing.T, a *App, sn *abci.Snapshot, appHash []byte) abci.ResponseOfferSnapshot_Result {
	t.Helper()
	res, err := a.OfferSnapshot(context.Background(), &abci.RequestOfferSnapshot{Snapshot: sn, AppHash: appHash})
	if err != nil {
		t.Fatal(err)
	}
	return res.Result
}

func apply(t *testing.T, a *App, i int, chunk []byte, sender string) *abci.ResponseApplySnapshotChunk {
	t.Helper()
	res, err := a.ApplySnapshotChunk(context.Background(), &abci.RequestApplySnapshotChunk{Index: uint32(i), Chunk: chunk, Sender: sender})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// restoreAll offers the snapshot and applies every chunk, each accepted.
func restoreAll(t *testing.T, a *App, sn *abci.Snapshot, chunks [][]byte, appHash []byte) {
	t.Helper()
	if r := offer(t, a, sn, appHash); r != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", r)
	}
	for i, c := range chunks {
		if r := apply(t, a, i, c, "honest"); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}
}

func checkInfo(t *testing.T, a *App, h int64, hash []byte) {
	t.Helper()
	info, err := a.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != h || !bytes.Equal(info.LastBlockAppHash, hash) {
		t.Fatalf("Info: height %d hash %X, want %d %X", info.LastBlockHeight, info.LastBlockAppHash, h, hash)
	}
}

// TestStateSyncRestores restores a snapshot taken while the source went on
// producing blocks, then runs the source's next blocks on the restored app:
// same height, app hash, state root and rows, and the same app hash after
// every later block, also across a restart.
func TestStateSyncRestores(t *testing.T) {
	blocks := kvBlocks(t, 5, 120)
	src := newSource(t, blocks, 3)
	sn, chunks := src.snapshotAt(t, 3)
	if len(chunks) < 4 {
		t.Fatalf("want several chunks, got %d", len(chunks))
	}
	dir := t.TempDir()
	dst := newSyncTarget(t, dir)
	defer func() { dst.Close() }()
	restoreAll(t, dst, sn, chunks, src.hashes[3])
	checkInfo(t, dst, 3, src.hashes[3])
	if _, err := os.Stat(filepath.Join(dir, "state.sqlite"+restoreSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary database left behind: %v", err)
	}
	m, err := snapshot.DecodeMetadata(sn.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	if got := dst.trie.Root(); got != m.StateRoot {
		t.Fatalf("state root %x, want %x", got, m.StateRoot)
	}
	// Every row of every table is the source's at height 3: the source
	// has moved on, so compare with its snapshot's rows, which were
	// proven against the root; here, count the restored rows.
	var n int
	if err := dst.db.Reader().QueryRow(`SELECT count(*) FROM _idos_leaves`).Scan(&n); err != nil || uint64(n) != m.Rows {
		t.Fatalf("%d leaves (%v), want %d", n, err, m.Rows)
	}
	var ok string
	if err := dst.db.Reader().QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
	// A proven read at the restored height works (it quotes H-1's app hash).
	res, err := dst.Query(context.Background(), &abci.RequestQuery{Path: "/proof",
		Data: []byte(fmt.Sprintf(`{"prefix":"%s"}`, hex.EncodeToString(mustPrefix(t, "validators"))))})
	if err != nil || res.Code != CodeOK {
		t.Fatalf("proof query after restore: %v %+v", err, res)
	}
	for h := int64(4); h <= int64(len(blocks)); h++ {
		r := runBlock(t, dst, h, blocks[h-1]...)
		if !bytes.Equal(r.AppHash, src.hashes[h]) {
			t.Fatalf("height %d: restored app hash %X, source %X", h, r.AppHash, src.hashes[h])
		}
		if h == 4 {
			dst.Close()
			dst = newSyncTarget(t, dir)
			checkInfo(t, dst, 4, src.hashes[4])
		}
	}
}

// TestSnapshotReadsItsHeight: a snapshot is read from the transaction
// Commit pinned, so blocks committed while it is written do not leak into
// it (block production does not wait for it).
func TestSnapshotReadsItsHeight(t *testing.T) {
	blocks := kvBlocks(t, 5, 100)
	src := newSource(t, blocks[:3], 0)
	ctx := context.Background()
	job, err := src.a.snapshotJob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer job.tx.Rollback()
	for h := int64(4); h <= 5; h++ {
		src.hashes[h] = runBlock(t, src.a, h, blocks[h-1]...).AppHash
	}
	var chunks [][]byte
	if err := buildChunks(ctx, job, 8<<10, func(c []byte) error { chunks = append(chunks, c); return nil }); err != nil {
		t.Fatal(err)
	}
	meta := job.meta.Encode()
	hash := sha256.Sum256(meta)
	sn := &abci.Snapshot{Height: 3, Format: snapshot.Format, Chunks: uint32(len(chunks)), Hash: hash[:], Metadata: meta}
	dst := newSyncTarget(t, t.TempDir())
	defer dst.Close()
	restoreAll(t, dst, sn, chunks, src.hashes[3])
	checkInfo(t, dst, 3, src.hashes[3])
	for h := int64(4); h <= 5; h++ {
		if r := runBlock(t, dst, h, blocks[h-1]...); !bytes.Equal(r.AppHash, src.hashes[h]) {
			t.Fatalf("height %d: %X, source %X", h, r.AppHash, src.hashes[h])
		}
	}
}

func mustPrefix(t *testing.T, table string) []byte {
	p, err := commitment.TablePrefix(table)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStateSyncRejects: a bad chunk is refused at once, the snapshot or
// the sender as the fault lies, and an honest one then completes.
func TestStateSyncRejects(t *testing.T) {
	blocks := kvBlocks(t, 6, 80)
	src := newSource(t, blocks, 3)
	sn, chunks := src.snapshotAt(t, 3)
	other, otherChunks := src.snapshotAt(t, 6)
	m, err := snapshot.DecodeMetadata(sn.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("corrupted chunk and chunk of another snapshot: refetch, sender banned", func(t *testing.T) {
		dst := newSyncTarget(t, t.TempDir())
		defer dst.Close()
		if r := offer(t, dst, sn, src.hashes[3]); r != abci.ResponseOfferSnapshot_ACCEPT {
			t.Fatalf("offer: %v", r)
		}
		if r := apply(t, dst, 0, chunks[0], "honest"); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk 0: %v", r.Result)
		}
		bad := bytes.Clone(chunks[1])
		bad[len(bad)/2] ^= 1
		for _, c := range []struct {
			name  string
			chunk []byte
		}{{"corrupted", bad}, {"of another snapshot", otherChunks[1]}} {
			r := apply(t, dst, 1, c.chunk, "liar")
			if r.Result != abci.ResponseApplySnapshotChunk_RETRY || !equalU32(r.RefetchChunks, 1) || !equalStr(r.RejectSenders, "liar") {
				t.Fatalf("%s chunk: %+v", c.name, r)
			}
		}
		for i := 1; i < len(chunks); i++ {
			if r := apply(t, dst, i, chunks[i], "honest"); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
				t.Fatalf("chunk %d: %v", i, r.Result)
			}
		}
		checkInfo(t, dst, 3, src.hashes[3])
	})

	t.Run("rows that do not match the app hash: snapshot rejected at the first bad chunk", func(t *testing.T) {
		// A snapshot with the true block fields (so it composes to the
		// trusted app hash) whose chunk 2 carries an altered row, listed
		// with that chunk's hash.
		forged := *m
		forged.Chunks = append([]snapshot.ChunkInfo(nil), m.Chunks...)
		c, err := snapshot.DecodeChunk(chunks[2])
		if err != nil {
			t.Fatal(err)
		}
		row := bytes.Clone(c.Rows[3].Row)
		row[len(row)-1] ^= 1
		c.Rows[3].Row = row
		fc := c.Encode()
		forged.Chunks[2].Hash = sha256.Sum256(fc)
		meta := forged.Encode()
		hash := sha256.Sum256(meta)
		fsn := &abci.Snapshot{Height: sn.Height, Format: sn.Format, Chunks: sn.Chunks, Hash: hash[:], Metadata: meta}

		dst := newSyncTarget(t, t.TempDir())
		defer dst.Close()
		if r := offer(t, dst, fsn, src.hashes[3]); r != abci.ResponseOfferSnapshot_ACCEPT {
			t.Fatalf("offer: %v", r)
		}
		for i := 0; i < 2; i++ {
			if r := apply(t, dst, i, chunks[i], "forger"); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
				t.Fatalf("chunk %d: %v", i, r.Result)
			}
		}
		r := apply(t, dst, 2, fc, "forger")
		if r.Result != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT || !equalStr(r.RejectSenders, "forger") {
			t.Fatalf("forged chunk: %+v", r)
		}
		// Nothing of it stays; the honest snapshot then restores.
		checkInfo(t, dst, 0, nil)
		restoreAll(t, dst, sn, chunks, src.hashes[3])
		checkInfo(t, dst, 3, src.hashes[3])
	})

	t.Run("metadata that does not compose to the trusted app hash", func(t *testing.T) {
		dst := newSyncTarget(t, t.TempDir())
		defer dst.Close()
		// Every peer that offered these bytes made them up: all are banned.
		if r := offer(t, dst, sn, src.hashes[4]); r != abci.ResponseOfferSnapshot_REJECT_SENDER {
			t.Fatalf("offer against another height's hash: %v", r)
		}
		if r := offer(t, dst, other, src.hashes[3]); r != abci.ResponseOfferSnapshot_REJECT_SENDER {
			t.Fatalf("offer of height 6 with height 3's hash: %v", r)
		}
		wrong := *sn
		wrong.Format = snapshot.Format + 1
		if r := offer(t, dst, &wrong, src.hashes[3]); r != abci.ResponseOfferSnapshot_REJECT_FORMAT {
			t.Fatalf("offer of another format: %v", r)
		}
		if r, err := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: 0, Chunk: chunks[0]}); err != nil ||
			r.Result != abci.ResponseApplySnapshotChunk_ABORT {
			t.Fatalf("chunk without an accepted snapshot: %v %v", r, err)
		}
	})

	t.Run("populated database refused", func(t *testing.T) {
		if r := offer(t, src.a, sn, src.hashes[3]); r != abci.ResponseOfferSnapshot_ABORT {
			t.Fatalf("offer to a node with state: %v", r)
		}
	})
}

// TestStateSyncCrashMidApply abandons a restore after some chunks, as a
// crash would; a new app on the same home starts empty, with no leftover
// file, and the sync completes.
func TestStateSyncCrashMidApply(t *testing.T) {
	src := newSource(t, kvBlocks(t, 3, 120), 3)
	sn, chunks := src.snapshotAt(t, 3)
	dir := t.TempDir()
	crashed := newSyncTarget(t, dir)
	if r := offer(t, crashed, sn, src.hashes[3]); r != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", r)
	}
	for i := 0; i < len(chunks)/2; i++ {
		if r := apply(t, crashed, i, chunks[i], "p"); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}
	tmp := filepath.Join(dir, "state.sqlite"+restoreSuffix)
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("the restore should be writing %s: %v", tmp, err)
	}
	// Not closed: the crashed app's handles stay open, as a killed
	// process's would until it is gone.
	a := newSyncTarget(t, dir)
	defer a.Close()
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a new start left the half-restored file: %v", err)
	}
	checkInfo(t, a, 0, nil)
	restoreAll(t, a, sn, chunks, src.hashes[3])
	checkInfo(t, a, 3, src.hashes[3])
	crashed.db.Close()
}

// TestStateSyncGolden restores the golden workload (every module, signature
// plugins active, validators changed) from a snapshot and runs the rest of
// it: the app hash of every later height is the pinned one, so the
// restored node loaded the active plugins and the validator set.
func TestStateSyncGolden(t *testing.T) {
	ctx := context.Background()
	rts, w := goldenSetup(t)
	pinned := readGolden(t)
	const at = 9 // solana is active from height 7 to 11
	dir := t.TempDir()
	src, err := New(Config{DBPath: filepath.Join(dir, "src.sqlite"), Modules: composition.ModulesWasm(rts), Wasm: rts,
		SnapshotDir: filepath.Join(dir, "snapshots"), SnapshotInterval: at, SnapshotChunkBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.InitChain(ctx, &abci.RequestInitChain{ChainId: testChain, AppStateBytes: w.state, Time: genesisTime,
		InitialHeight: 1, Validators: w.genVals}); err != nil {
		t.Fatal(err)
	}
	raws := func(h int64) [][]byte {
		var out [][]byte
		for _, tx := range w.blocks[h-1] {
			out = append(out, tx.raw)
		}
		return out
	}
	for h := int64(1); h <= at; h++ {
		runBlock(t, src, h, raws(h)...)
	}
	if err := src.WaitSnapshots(); err != nil {
		t.Fatal(err)
	}
	ss := &syncSource{a: src}
	sn, chunks := ss.snapshotAt(t, at)
	hash, _ := hex.DecodeString(pinned[at])
	dst, err := New(Config{DBPath: filepath.Join(dir, "dst.sqlite"), Modules: composition.ModulesWasm(rts), Wasm: rts,
		ChainID: testChain, GenesisAppState: w.state})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	restoreAll(t, dst, sn, chunks, hash)
	checkInfo(t, dst, at, hash)
	for h := int64(at + 1); h <= int64(len(w.blocks)); h++ {
		r := runBlock(t, dst, h, raws(h)...)
		for j, tr := range r.TxResults {
			if want := w.blocks[h-1][j].code; want != anyCode && int64(tr.Code) != want {
				t.Errorf("height %d tx %d (%s): code %d %q, want %d", h, j, w.blocks[h-1][j].what, tr.Code, tr.Log, want)
			}
		}
		if got := hex.EncodeToString(r.AppHash); got != pinned[h] {
			t.Fatalf("height %d after restoring %d: app hash %s, pinned %s", h, at, got, pinned[h])
		}
	}
	checkGoldenOutcome(t, dst)
}

func equalU32(got []uint32, want ...uint32) bool {
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func equalStr(got []string, want ...string) bool {
	return fmt.Sprint(got) == fmt.Sprint(want)
}
