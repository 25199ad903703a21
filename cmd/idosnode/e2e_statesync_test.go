package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/home"
)

// Settings of the state-sync test network: blocks every ~50 ms plus
// consensus time, a retain window of 100 blocks, and a snapshot every 50
// blocks of which 6 are kept, so validators keep the last ~300 blocks and a
// chosen snapshot outlives a joiner's fetch by far.
const (
	ssTimeoutCommit = 50 * time.Millisecond
	ssRetain        = 100
	ssInterval      = 50
	ssKeep          = 6
	ssRunTo         = 1000
)

// TestStateSyncJoinsPrunedNetwork runs 4 validator processes with pruning
// and snapshots to height 1,000, by when every validator has deleted most
// of its blocks. A fifth node made by `idosnode init --state-sync` (two of
// the validators' RPCs) restores a snapshot, catches up, has the same app
// hash as the validators at every height it holds, serves a read that the
// light client verifies (range proof against a header checked with a
// validator as witness), and becomes a validator through `validators join`
// and approvals. A sixth node is killed with SIGKILL while restoring and
// restarted: it starts the sync over and ends with the same app hashes.
func TestStateSyncJoinsPrunedNetwork(t *testing.T) {
	bin := testnet.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 18*time.Minute)
	defer cancel()
	start := time.Now()
	n := &vsNet{t: t, ctx: ctx, bin: bin, dir: filepath.Join(testnet.TempDir(t), "net"), base: testnet.DevnetPorts(t, 6)}
	m, err := devnet.Create(devnet.Config{
		Dir: n.dir, Validators: 4, BasePort: n.base, ChainID: vsChainID, TimeoutCommit: ssTimeoutCommit,
		AppState: vsAppStateExpiry(t, 100_000), SnapshotInterval: ssInterval, SnapshotKeep: ssKeep,
	})
	if err != nil {
		t.Fatal(err)
	}
	var homes []string
	for _, node := range m.Nodes {
		homes = append(homes, filepath.Join(n.dir, node.Name))
	}
	pruneHomes(t, homes)
	for _, node := range m.Nodes {
		v := n.load(node.Name, node.RPCURL())
		n.nodes = append(n.nodes, v)
		n.start(v)
	}
	vals := append([]*vsNode(nil), n.nodes...)
	n.waitLong(fmt.Sprintf("height %d", ssRunTo), 12*time.Minute, func() bool { return n.minHeight(vals) >= ssRunTo })
	for _, v := range vals {
		st, err := v.rpc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Pruned below the oldest snapshot kept: at least this much gone.
		if lo := st.SyncInfo.LatestBlockHeight - ssRetain - ssInterval*ssKeep; st.SyncInfo.EarliestBlockHeight < lo {
			t.Fatalf("%s keeps blocks from %d at height %d: not pruned", v.name, st.SyncInfo.EarliestBlockHeight, st.SyncInfo.LatestBlockHeight)
		}
		t.Logf("%s: blocks %d..%d", v.name, st.SyncInfo.EarliestBlockHeight, st.SyncInfo.LatestBlockHeight)
	}
	t.Logf("4 validators at height %d after %s", ssRunTo, time.Since(start).Round(time.Millisecond))

	// The fifth node joins by state sync through the real command line.
	step := time.Now()
	// It trusts the validators' newest snapshot: one written at ssRunTo,
	// or the one before if that is not finished.
	n4 := n.stateSyncNode(4, ssRunTo-ssInterval, ssTimeoutCommit, vals[0], vals[1])
	if h4, err := home.Load(n4.home); err != nil || h4.CometBFT.StateSync.TrustHeight%ssInterval != 0 {
		t.Fatalf("node4 trusts height %d, not a snapshot's: %v", h4.CometBFT.StateSync.TrustHeight, err)
	}
	n.start(n4)
	st := n.waitSynced(n4)
	if st.SyncInfo.EarliestBlockHeight <= 1 {
		t.Fatalf("node4's blocks start at %d: it replayed instead of restoring", st.SyncInfo.EarliestBlockHeight)
	}
	if b, _ := os.ReadFile(n4.proc.log); !bytes.Contains(b, []byte("snapshot restored")) {
		t.Fatalf("node4 logged no restore:\n%s", tail(n4.proc.log))
	}
	// Every height node4 holds, from its first block, on all five.
	n.checked = st.SyncInfo.EarliestBlockHeight - 1
	n.checkAppHashes()
	t.Logf("node4 restored a snapshot and holds blocks from %d; app hashes equal to %d; %s from start to caught up",
		st.SyncInfo.EarliestBlockHeight, n.checked, time.Since(step).Round(time.Millisecond))

	// A verified read from node4: headers from node4 with a validator as
	// witness, rows from node4's gateway with a range proof.
	_, _, gw4 := devnet.Addrs(n.base, 4)
	verifiedValidators(ctx, t, n4, vals[0], "http://"+gw4, 4)

	// node5 is killed while it restores, then restarted.
	step = time.Now()
	n5 := n.stateSyncNode(5, ssRunTo-ssInterval, ssTimeoutCommit, vals[2], vals[3])
	n.start(n5)
	mid := n.killWhileRestoring(n5)
	n.start(n5)
	st = n.waitSynced(n5)
	n.checked = max(st.SyncInfo.EarliestBlockHeight, n.checked) - 1
	n.checkAppHashes()
	b, _ := os.ReadFile(n5.proc.log)
	if got := bytes.Count(b, []byte("restoring snapshot")); got < 2 {
		t.Fatalf("node5 began %d restores, want one before the kill and one after", got)
	}
	t.Logf("node5 killed %s, restarted, synced from %d after %s", mid, st.SyncInfo.EarliestBlockHeight, time.Since(step).Round(time.Millisecond))

	// node4 becomes a validator: join, 3 of 4 approve (30 of 40).
	n.cli(0, "validators", "join", "--home", n4.home)
	for _, v := range vals[:3] {
		n.approve(v, n4)
	}
	n.expectValidators(append(vals, n4)...)
	n.waitSigns(n4)
	top := n.minHeight(n.running())
	n.waitHeight(n.running(), top+2)
	n.checkAppHashes()
	for _, v := range n.running() {
		b, _ := os.ReadFile(v.proc.log)
		for _, bad := range []string{"wrong Block.Header.AppHash", "does not match AppHash", "CONSENSUS FAILURE"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s logged %q:\n%s", v.name, bad, tail(v.proc.log))
			}
		}
	}
	t.Logf("node4 signs as a validator; all agree to height %d; done after %s", n.checked, time.Since(start).Round(time.Millisecond))
}

// pruneHomes sets the test network's retain window and snapshots: a short
// evidence age and light trusting period so that a 100-block window passes
// node/retain's rules at 50 ms blocks.
func pruneHomes(t *testing.T, homes []string) {
	t.Helper()
	h0, err := home.Load(homes[0])
	if err != nil {
		t.Fatal(err)
	}
	doc, err := h0.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	doc.ConsensusParams.Evidence.MaxAgeNumBlocks = 20
	for _, dir := range homes {
		if err := home.WriteGenesis(dir, doc); err != nil {
			t.Fatal(err)
		}
		h, err := home.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		// CometBFT's gossip routines sleep 100 ms when they have nothing to
		// send, which paces a block at several times that whatever
		// timeout_commit says; CometBFT's own test config uses 5 ms.
		h.CometBFT.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
		cmtcfg.WriteConfigFile(filepath.Join(dir, "config", "config.toml"), h.CometBFT)
		editAppConfig(t, dir, func(c *home.AppConfig) {
			c.RetainBlocks, c.LightTrustingPeriod, c.CompactEveryBlocks = ssRetain, "2s", 100
			// 1,000 blocks of info lines from four nodes cost CPU the blocks
			// need; the checks below look for error lines only.
			c.LogLevel = "warn"
		})
		if h, err = home.Load(dir); err != nil {
			t.Fatal(err)
		}
		if err := h.CheckRetain(); err != nil {
			t.Fatal(err)
		}
	}
}

// stateSyncNode creates node i with `init --state-sync` against two
// servers and checks what it wrote: a trusted height of at least minTrust
// whose hash is the servers' block's.
func (n *vsNet) stateSyncNode(i int, minTrust int64, timeoutCommit time.Duration, a, b *vsNode) *vsNode {
	n.t.Helper()
	name := fmt.Sprintf("node%d", i)
	p2p, rpcAddr, gw := devnet.Addrs(n.base, i)
	out := n.cli(0, "init", "--home", filepath.Join(n.dir, name), "--state-sync", a.rpc.Remote()+","+b.rpc.Remote(),
		"--p2p-laddr", p2p, "--rpc-laddr", rpcAddr, "--gateway-laddr", gw, "--timeout-commit", timeoutCommit.String())
	v := n.load(name, "http://"+rpcAddr)
	h, err := home.Load(v.home)
	if err != nil {
		n.t.Fatal(err)
	}
	ss := h.CometBFT.StateSync
	if !ss.Enable || ss.TrustHeight < minTrust || !strings.Contains(out, ss.TrustHash) {
		n.t.Fatalf("%s: statesync %+v; init said:\n%s", name, ss, out)
	}
	blk, err := a.rpc.Block(n.ctx, &ss.TrustHeight)
	if err != nil || blk.BlockID.Hash.String() != ss.TrustHash {
		n.t.Fatalf("%s trusts %d %s; the validator's block there: %v %v", name, ss.TrustHeight, ss.TrustHash, blk, err)
	}
	n.nodes = append(n.nodes, v)
	return v
}

// waitSynced waits until v has left state and block sync and reached the
// validators' height, and returns its status.
func (n *vsNet) waitSynced(v *vsNode) *coretypes.ResultStatus {
	n.t.Helper()
	var st *coretypes.ResultStatus
	n.waitLong(v.name+" syncing", 3*time.Minute, func() bool {
		s, err := v.rpc.Status(n.ctx)
		if err != nil || s.SyncInfo.CatchingUp || s.SyncInfo.LatestBlockHeight < height(n.ctx, n.nodes[0].rpc)-1 {
			return false
		}
		st = s
		return true
	})
	return st
}

// killWhileRestoring sends SIGKILL to v as soon as its log shows that the
// app accepted a snapshot, and says whether the kill landed before the
// restore finished (the restore of this small state takes seconds, most
// of it waiting for chunks, so it normally does).
func (n *vsNet) killWhileRestoring(v *vsNode) string {
	n.t.Helper()
	n.waitLong(v.name+" restoring a snapshot", 2*time.Minute, func() bool {
		b, _ := os.ReadFile(v.proc.log)
		return bytes.Contains(b, []byte("restoring snapshot"))
	})
	v.proc.kill(syscall.SIGKILL)
	v.proc = nil
	b, _ := os.ReadFile(filepath.Join(v.home, "test-node.log"))
	if bytes.Contains(b, []byte("snapshot restored")) {
		return "after its restore had finished (the window was missed)"
	}
	return "during its restore"
}

// waitLong is eventually with a longer deadline.
func (n *vsNet) waitLong(what string, limit time.Duration, cond func() bool) {
	n.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		for _, v := range n.running() {
			if !v.proc.alive() {
				n.t.Fatalf("%s exited; log %s:\n%s", v.name, v.proc.log, tail(v.proc.log))
			}
		}
		if time.Now().After(deadline) || n.ctx.Err() != nil {
			n.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// verifiedValidators reads the validators table from v's gateway with a
// range proof checked against a header the light client verified (v as
// primary, witness as witness), and expects want rows.
func verifiedValidators(ctx context.Context, t *testing.T, v, witness *vsNode, gateway string, want int) {
	t.Helper()
	h := height(ctx, v.rpc)
	blk, err := witness.rpc.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := lightclient.New(ctx, lightclient.Config{
		ChainID: vsChainID, Primary: v.rpc.Remote(), Witnesses: []string{witness.rpc.Remote()},
		TrustHeight: h, TrustHash: blk.BlockID.Hash, TrustingPeriod: time.Hour, Dir: t.TempDir(),
		Logger: testnet.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	prefix, err := commitment.TablePrefix("validators")
	if err != nil {
		t.Fatal(err)
	}
	r := lightclient.NewReader(gateway, lc, lightclient.ReaderOptions{WaitTimeout: 30 * time.Second, Logger: testnet.Logger(t)})
	read, err := r.Range(ctx, prefix)
	if err != nil {
		t.Fatalf("verified read from %s: %v", v.name, err)
	}
	if len(read.Rows) != want {
		t.Fatalf("verified read: %d validators at height %d, want %d", len(read.Rows), read.Height, want)
	}
	t.Logf("verified read from %s: %d validator rows at height %d, proven against header %d", v.name, len(read.Rows), read.Height, read.Header.Height)
}
