package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/go-logfmt/logfmt"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/snapshot"
)

// Settings of the bad-peer network: full nodes snapshot every 10 blocks in
// chunks of about 256 bytes of rows, so that a small state makes dozens of
// chunks and each liar among the peers of a snapshot is asked for one
// with near certainty (below).
const (
	bpTimeoutCommit = 100 * time.Millisecond
	bpInterval      = 10
	bpChunkBytes    = 256
	bpFetchers      = 4
	// bpRows kv rows fill the state; with the genesis rows they make
	// about 100 chunks.
	bpRows = 80
)

// TestStateSyncBadPeers: a node joining by state sync meets three lying
// peers beside an honest one, all real processes whose snapshot files were
// altered on disk (the node has no hook for lying):
//
//   - the forger alone offers the newest snapshot, whose metadata is true
//     (it composes to the app hash) but lists a chunk 0 with an altered
//     row: rejected at chunk 0, forger banned;
//   - the corrupter offers the same snapshot as the honest node but serves
//     every chunk with a flipped byte, and the mixer serves in its place
//     the chunks of an older snapshot: each is refused at its first chunk
//     and banned (at most bpFetchers chunks of it, those already in flight,
//     are ever applied-and-refused), the chunk fetched again elsewhere;
//   - the restore completes from the honest node's chunks alone, and the
//     joiner then follows the chain with the validators' app hashes.
//
// CometBFT asks a random peer of the snapshot for each chunk; with about
// 100 chunks among three peers, the chance that one liar is never asked
// is below (2/3)^90, about 1e-16.
func TestStateSyncBadPeers(t *testing.T) {
	bin := testnet.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	n := &vsNet{t: t, ctx: ctx, bin: bin, dir: filepath.Join(testnet.TempDir(t), "net"), base: testnet.DevnetPorts(t, 7)}
	m, err := devnet.Create(devnet.Config{
		Dir: n.dir, Validators: 2, BasePort: n.base, ChainID: vsChainID, TimeoutCommit: bpTimeoutCommit,
		AppState: vsAppStateExpiry(t, 100_000),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The validators take no snapshots: the ones on offer are the full
	// nodes', whose sets the test controls.
	for _, node := range m.Nodes {
		v := n.load(node.Name, node.RPCURL())
		editAppConfig(t, v.home, func(c *home.AppConfig) { c.SnapshotInterval = 0 })
		n.nodes = append(n.nodes, v)
		n.start(v)
	}
	vals := append([]*vsNode(nil), n.nodes...)
	n.waitHeight(vals, 2)

	full := make([]*vsNode, 4)
	for i := range full {
		full[i] = n.joinNode(2+i, vals[0], false)
		editAppConfig(t, full[i].home, func(c *home.AppConfig) {
			c.SnapshotInterval, c.SnapshotKeep, c.SnapshotChunkBytes = bpInterval, 100, bpChunkBytes
		})
		n.start(full[i])
	}
	honest, forger, corrupter, mixer := full[0], full[1], full[2], full[3]
	ids := map[string]string{}
	for _, v := range append(vals, full...) {
		ids[v.p2pID] = v.name
	}

	// Snapshot 10 holds the genesis state; then bpRows kv rows, so that
	// later snapshots differ from it and have many chunks.
	older := int64(bpInterval)
	n.waitLong("snapshot 10 on the full nodes", 2*time.Minute, func() bool { return holdAll(full, older) })
	last := fillState(ctx, t, vals[0], bpRows)
	common := (last/bpInterval + 1) * bpInterval
	served := []*vsNode{honest, corrupter, mixer}
	n.waitLong(fmt.Sprintf("snapshot %d", common), 2*time.Minute, func() bool { return holdAll(served, common) })
	for _, v := range served {
		v.proc.kill(syscall.SIGTERM)
		v.proc = nil
		keepSnapshots(t, v, older, common)
	}
	want := readSnap(t, honest, common, "metadata")
	meta, err := snapshot.DecodeMetadata(want)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Chunks) < 80 {
		t.Fatalf("snapshot %d has %d chunks; the odds below need about 100", common, len(meta.Chunks))
	}
	for _, v := range []*vsNode{corrupter, mixer} {
		if got := readSnap(t, v, common, "metadata"); !bytes.Equal(got, want) {
			t.Fatalf("%s's snapshot %d differs from %s's: snapshots are not deterministic", v.name, common, honest.name)
		}
	}
	oldMeta, err := snapshot.DecodeMetadata(readSnap(t, mixer, older, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range meta.Chunks {
		name := fmt.Sprintf("chunk-%06d", i)
		bad := readSnap(t, corrupter, common, name)
		bad[len(bad)/2] ^= 1
		writeSnap(t, corrupter, common, name, bad)
		other := readSnap(t, mixer, older, fmt.Sprintf("chunk-%06d", min(i, len(oldMeta.Chunks)-1)))
		if bytes.Equal(other, readSnap(t, mixer, common, name)) {
			t.Fatalf("chunk %d of snapshot %d is chunk %d of %d", i, common, min(i, len(oldMeta.Chunks)-1), older)
		}
		writeSnap(t, mixer, common, name, other)
	}
	for _, v := range served {
		editAppConfig(t, v.home, func(c *home.AppConfig) { c.SnapshotInterval = 0 })
		n.start(v)
	}

	// The forger's newest snapshot: true metadata but for chunk 0's hash,
	// which is that of chunk 0 with one row altered.
	newest := common + bpInterval
	n.waitLong(fmt.Sprintf("snapshot %d on %s", newest, forger.name), 2*time.Minute, func() bool { return holdAll([]*vsNode{forger}, newest) })
	forger.proc.kill(syscall.SIGTERM)
	forger.proc = nil
	keepSnapshots(t, forger, newest)
	fm, err := snapshot.DecodeMetadata(readSnap(t, forger, newest, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	c0, err := snapshot.DecodeChunk(readSnap(t, forger, newest, "chunk-000000"))
	if err != nil {
		t.Fatal(err)
	}
	row := bytes.Clone(c0.Rows[0].Row)
	row[len(row)-1] ^= 1
	c0.Rows[0].Row = row
	forged := c0.Encode()
	fm.Chunks[0].Hash = sha256.Sum256(forged)
	writeSnap(t, forger, newest, "chunk-000000", forged)
	writeSnap(t, forger, newest, "metadata", fm.Encode())
	editAppConfig(t, forger.home, func(c *home.AppConfig) { c.SnapshotInterval = 0 })
	n.start(forger)
	t.Logf("peers ready after %s: %s offers %d (forged), %s, %s and %s offer %d (%d chunks; corrupted, of snapshot %d, honest)",
		time.Since(start).Round(time.Millisecond), forger.name, newest, corrupter.name, mixer.name, honest.name, common, len(meta.Chunks), older)

	// The joiner: `init --state-sync` against the validators, and the four
	// full nodes as peers.
	step := time.Now()
	joiner := n.stateSyncNode(6, newest, bpTimeoutCommit, vals[0], vals[1])
	h, err := home.Load(joiner.home)
	if err != nil {
		t.Fatal(err)
	}
	peers := []string{h.CometBFT.P2P.PersistentPeers}
	for i, v := range full {
		p2p, _, _ := devnet.Addrs(n.base, 2+i)
		peers = append(peers, v.p2pID+"@"+p2p)
	}
	h.CometBFT.P2P.PersistentPeers = strings.Join(peers, ",")
	h.CometBFT.StateSync.ChunkFetchers = bpFetchers
	cmtcfg.WriteConfigFile(filepath.Join(joiner.home, "config", "config.toml"), h.CometBFT)
	n.start(joiner)
	st := n.waitSynced(joiner)
	t.Logf("%s synced after %s, blocks from %d", joiner.name, time.Since(step).Round(time.Millisecond), st.SyncInfo.EarliestBlockHeight)

	// What the joiner's app logged, chunk by chunk.
	lines := logLines(t, joiner.proc.log)
	count := func(msg, key, value string) (k int) {
		for _, l := range lines {
			if l["msg"] == msg && l[key] == value {
				k++
			}
		}
		return k
	}
	hs := func(h int64) string { return strconv.FormatInt(h, 10) }
	var rejected []map[string]string
	for _, l := range lines {
		if l["msg"] == "snapshot rejected at a chunk" {
			rejected = append(rejected, l)
		}
	}
	if len(rejected) != 1 || rejected[0]["height"] != hs(newest) || rejected[0]["index"] != "0" || ids[rejected[0]["sender"]] != forger.name {
		t.Errorf("rejections %v, want snapshot %d at chunk 0 from %s", rejected, newest, forger.name)
	}
	if k := count("snapshot chunk applied", "height", hs(newest)); k != 0 {
		t.Errorf("%d chunks of the forged snapshot applied", k)
	}
	for _, liar := range []*vsNode{corrupter, mixer} {
		k := count("snapshot chunk refused, fetching it again", "sender", liar.p2pID)
		if k < 1 || k > bpFetchers {
			t.Errorf("%d chunks of %s refused; want 1 and, once banned, at most the %d already requested", k, liar.name, bpFetchers)
		}
		t.Logf("%s: refused %d of its chunks (in flight when it was banned)", liar.name, k)
	}
	applied := 0
	for _, l := range lines {
		if l["msg"] != "snapshot chunk applied" {
			continue
		}
		applied++
		if l["height"] != hs(common) || ids[l["sender"]] != honest.name {
			t.Errorf("chunk %s of snapshot %s applied from %s", l["index"], l["height"], ids[l["sender"]])
		}
	}
	if applied != len(meta.Chunks) || count("snapshot restored", "height", hs(common)) != 1 {
		t.Errorf("%d of %d chunks applied; restores of %d: %d\n%s", applied, len(meta.Chunks), common,
			count("snapshot restored", "height", hs(common)), tail(joiner.proc.log))
	}

	n.checked = st.SyncInfo.EarliestBlockHeight - 1
	top := n.minHeight(n.running())
	n.waitHeight(n.running(), top+3)
	n.checkAppHashes()
	t.Logf("app hashes of all %d nodes equal from %d to %d; done after %s", len(n.running()), st.SyncInfo.EarliestBlockHeight, n.checked, time.Since(start).Round(time.Millisecond))
}

// editAppConfig rewrites dir's idos.json through edit.
func editAppConfig(t *testing.T, dir string, edit func(*home.AppConfig)) {
	t.Helper()
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(&h.App)
	b, err := json.MarshalIndent(h.App, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config", home.AppConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := home.Load(dir); err != nil {
		t.Fatal(err)
	}
}

// snapDir is where v keeps the snapshot of height (node/snapshot/snapstore).
func snapDir(v *vsNode, height int64) string {
	return filepath.Join(v.home, cmtcfg.DefaultDataDir, "snapshots", strconv.FormatInt(height, 10))
}

func holdAll(vs []*vsNode, height int64) bool {
	for _, v := range vs {
		if _, err := os.Stat(filepath.Join(snapDir(v, height), "metadata")); err != nil {
			return false
		}
	}
	return true
}

func readSnap(t *testing.T, v *vsNode, height int64, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(snapDir(v, height), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeSnap(t *testing.T, v *vsNode, height int64, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(snapDir(v, height), name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// keepSnapshots deletes v's snapshots but those of heights, as an operator
// may, and fails if one of them is missing.
func keepSnapshots(t *testing.T, v *vsNode, heights ...int64) {
	t.Helper()
	dir := filepath.Dir(snapDir(v, 1))
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, h := range heights {
		keep[strconv.FormatInt(h, 10)] = true
		if !holdAll([]*vsNode{v}, h) {
			t.Fatalf("%s has no snapshot %d", v.name, h)
		}
	}
	for _, e := range ents {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// fillState commits k kv.put transactions, one per new ed25519 account,
// through v, and returns the height of the last.
func fillState(ctx context.Context, t *testing.T, v *vsNode, k int) int64 {
	t.Helper()
	var last int64
	for i := range k {
		seed := sha256.Sum256([]byte("bad-peers " + strconv.Itoa(i)))
		acc := client.NewAccount(auth.NewEd25519Signer(ed25519.NewKeyFromSeed(seed[:])), vsChainID)
		raw, err := acc.Build("kv.put", kv.PutPayload{Key: fmt.Sprintf("row-%03d", i), Value: strings.Repeat("v", 100)})
		if err != nil {
			t.Fatal(err)
		}
		if i < k-1 {
			if res, err := v.rpc.BroadcastTxSync(ctx, raw); err != nil || res.Code != 0 {
				t.Fatalf("kv.put %d: %v %+v", i, err, res)
			}
			continue
		}
		last = commitTx(ctx, t, v.rpc, raw)
	}
	return last
}

// logLines decodes a node's log (slog's text format is logfmt), one map
// per record.
func logLines(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]string
	d := logfmt.NewDecoder(f)
	for d.ScanRecord() {
		l := map[string]string{}
		for d.ScanKeyval() {
			l[string(d.Key())] = string(d.Value())
		}
		if l["msg"] != "" {
			out = append(out, l)
		}
	}
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
