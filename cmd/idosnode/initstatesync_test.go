package main

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
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
	a := startChain(ctx, t, "idos-ss-init")
	b := startChain(ctx, t, "idos-ss-init")
	urlA := "http://" + strings.TrimPrefix(a.Home().CometBFT.RPC.ListenAddress, "tcp://")
	urlB := "http://" + strings.TrimPrefix(b.Home().CometBFT.RPC.ListenAddress, "tcp://")

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
	if !strings.Contains(stdout, "trust height "+strconv.FormatInt(cs.TrustHeight, 10)+" hash "+cs.TrustHash) {
		t.Errorf("init output lacks the trust:\n%s", stdout)
	}
}

// startChain runs a one-validator chain in process until height 3.
func startChain(ctx context.Context, t *testing.T, chainID string) *runner.Running {
	t.Helper()
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 2)
	if err := home.Init(dir, home.Options{ChainID: chainID, TimeoutCommit: 100 * time.Millisecond,
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
