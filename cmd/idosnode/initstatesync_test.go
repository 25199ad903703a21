package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
)

// TestInitStateSync runs two real single-validator chains in process with
// the same chain id (so only their blocks tell them apart) and checks what
// `init --state-sync` takes from them: the trusted block is one every
// server agrees on, a disagreement or an unreachable server is refused
// with its typed error, and one server is repeated with a warning because
// CometBFT's light client wants a primary and a witness.
func TestInitStateSync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// a snapshots every 2 blocks; b takes none.
	a := startChain(ctx, t, "idos-ss-init", 2)
	b := startChain(ctx, t, "idos-ss-init", -1)
	urlA := "http://" + strings.TrimPrefix(a.Home().CometBFT.RPC.ListenAddress, "tcp://")
	urlB := "http://" + strings.TrimPrefix(b.Home().CometBFT.RPC.ListenAddress, "tcp://")
	var offered app.SnapshotHeights
	for len(offered.Heights) == 0 {
		res, err := a.Client().ABCIQuery(ctx, "/snapshots", nil)
		if err != nil || res.Response.Code != app.CodeOK {
			t.Fatalf("query /snapshots: %v %+v", err, res)
		}
		if err := json.Unmarshal(res.Response.Value, &offered); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The trusted height is a's newest snapshot, whose hash both "servers"
	// (a twice) gave.
	ss, err := fetchStateSync(ctx, []string{urlA, urlA})
	if err != nil {
		t.Fatal(err)
	}
	blk, err := a.Client().Block(ctx, &ss.Sync.TrustHeight)
	if err != nil {
		t.Fatal(err)
	}
	if ss.Sync.TrustHash != blk.BlockID.Hash.String() || ss.Repeated || len(ss.Peers) != 1 {
		t.Fatalf("trust %d %s (repeated %v, peers %v); block there is %s", ss.Sync.TrustHeight, ss.Sync.TrustHash, ss.Repeated, ss.Peers, blk.BlockID.Hash)
	}
	if !ss.AtSnapshot || ss.Sync.TrustHeight%2 != 0 || ss.Sync.TrustHeight < offered.Heights[len(offered.Heights)-1] {
		t.Fatalf("trust height %d (at a snapshot: %v); a offered %v before", ss.Sync.TrustHeight, ss.AtSnapshot, offered.Heights)
	}
	// b offers none: its newest height.
	ss, err = fetchStateSync(ctx, []string{urlB, urlB})
	if err != nil || ss.AtSnapshot || ss.Sync.TrustHeight < 3 {
		t.Fatalf("without snapshots: %+v %v", ss, err)
	}

	if _, err := fetchStateSync(ctx, []string{urlA, urlB}); !errors.Is(err, ErrTrustMismatch) {
		t.Fatalf("servers of two chains: %v, want ErrTrustMismatch", err)
	}
	if _, err := fetchStateSync(ctx, []string{urlA, "http://127.0.0.1:" + strconv.Itoa(testnet.Ports(t, 1))}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("a closed port: %v, want ErrUnreachable", err)
	}

	// Through the command line, with one server.
	dir := filepath.Join(t.TempDir(), "joiner")
	stdout, stderr, code := runCLI("init", "--home", dir, "--state-sync", urlA)
	if code != 0 {
		t.Fatalf("init --state-sync: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "warning: one state-sync server") {
		t.Errorf("no warning for one server: %q", stderr)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs := h.CometBFT.StateSync
	tp, _ := h.App.TrustingPeriod()
	if !cs.Enable || len(cs.RPCServers) != 2 || cs.RPCServers[0] != urlA || cs.RPCServers[1] != urlA ||
		cs.TrustHeight < 1 || len(cs.TrustHash) != 64 || cs.TrustPeriod != tp || cs.DiscoveryTime != home.DefaultDiscoveryTime {
		t.Fatalf("statesync config %+v", cs)
	}
	peer, _ := a.Home().NodeKey()
	if !strings.HasPrefix(h.CometBFT.P2P.PersistentPeers, string(peer.ID())+"@") {
		t.Errorf("persistent peers %q, want the server's node", h.CometBFT.P2P.PersistentPeers)
	}
	if !strings.Contains(stdout, "trust height "+strconv.FormatInt(cs.TrustHeight, 10)+" (the newest snapshot they offer) hash "+cs.TrustHash) {
		t.Errorf("init output lacks the trust:\n%s", stdout)
	}
}

// startChain runs a one-validator chain in process until height 3, with a
// snapshot every snapshotInterval blocks (-1: none).
func startChain(ctx context.Context, t *testing.T, chainID string, snapshotInterval int64) *runner.Running {
	t.Helper()
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 2)
	if err := home.Init(dir, home.Options{ChainID: chainID, TimeoutCommit: 100 * time.Millisecond, SnapshotInterval: snapshotInterval,
		P2PListenAddr: "127.0.0.1:" + strconv.Itoa(base), RPCListenAddr: "127.0.0.1:" + strconv.Itoa(base+1),
		GatewayListenAddr: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.Start(ctx, h, testnet.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	for {
		st, err := r.Client().Status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= 3 {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatal("chain did not reach height 3")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestTrustHeight: the newest snapshot height offered at or below the
// newest common height, else that height.
func TestTrustHeight(t *testing.T) {
	for _, c := range []struct {
		latest  int64
		offered [][]int64
		want    int64
		at      bool
	}{
		{100, nil, 100, false},
		{100, [][]int64{{}, nil}, 100, false},
		{100, [][]int64{{50, 90}, {80}}, 90, true},
		{100, [][]int64{{50}, {60, 110}}, 60, true}, // 110: not every server has it
		{100, [][]int64{{100}}, 100, true},
		{100, [][]int64{{120}}, 100, false},
	} {
		if got, at := trustHeight(c.latest, c.offered); got != c.want || at != c.at {
			t.Errorf("trustHeight(%d, %v) = %d, %v; want %d, %v", c.latest, c.offered, got, at, c.want, c.at)
		}
	}
}
