package runner_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
)

// TestStateSyncJoin runs two real CometBFT nodes in process: a validator
// that takes a snapshot every 5 blocks, and a full node that joins by
// CometBFT's state sync (light client against the validator's RPC, the
// trust height and hash from its block 1), restores the newest snapshot
// through OfferSnapshot/ApplySnapshotChunk, block-syncs the rest and
// follows the chain with the same app hashes.
func TestStateSyncJoin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ha := newHome(t, "idos-statesync-test")
	ha.App.SnapshotInterval = 5
	// Keep them all: the joiner fetches the one it chose seconds later.
	ha.App.SnapshotKeep = 1000
	a, err := runner.Start(ctx, ha, testnet.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	waitHeight(ctx, t, a, 12)
	if err := a.App().WaitSnapshots(); err != nil {
		t.Fatal(err)
	}
	trust, err := a.Client().Block(ctx, ptr(int64(1)))
	if err != nil {
		t.Fatal(err)
	}

	gen, err := ha.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	nk, err := ha.NodeKey()
	if err != nil {
		t.Fatal(err)
	}
	hb := initHome(t, home.Options{
		Genesis:         gen,
		PersistentPeers: []string{fmt.Sprintf("%s@%s", nk.ID(), trimTCP(ha.CometBFT.P2P.ListenAddress))},
	})
	rpc := "http://" + trimTCP(ha.CometBFT.RPC.ListenAddress)
	ss := hb.CometBFT.StateSync
	ss.Enable = true
	ss.RPCServers = []string{rpc, rpc} // CometBFT asks for two; one server here
	ss.TrustHeight = 1
	ss.TrustHash = trust.BlockID.Hash.String()
	ss.TrustPeriod = time.Hour
	ss.DiscoveryTime = 5 * time.Second
	b, err := runner.Start(ctx, hb, testnet.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()

	// The joiner restored a snapshot: its block store starts there, not
	// at 1, and its state was never replayed from genesis.
	st := waitHeight(ctx, t, b, 1)
	for st.SyncInfo.CatchingUp {
		st = waitHeight(ctx, t, b, st.SyncInfo.LatestBlockHeight+1)
	}
	if st.SyncInfo.EarliestBlockHeight < 5 {
		t.Fatalf("the joiner's blocks start at %d: it replayed instead of restoring a snapshot", st.SyncInfo.EarliestBlockHeight)
	}
	// Same app hash as the validator at a later height.
	info, err := b.Client().ABCIInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := info.Response.LastBlockHeight
	waitHeight(ctx, t, a, h+1)
	blk, err := a.Client().Block(ctx, ptr(h+1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blk.Block.AppHash, info.Response.LastBlockAppHash) {
		t.Fatalf("height %d: joiner's app hash %X, the validator's header says %X", h, info.Response.LastBlockAppHash, blk.Block.AppHash)
	}
	// And it keeps up to the validator's current height (CometBFT halts a
	// node whose app hash differs from the one the next header carries).
	now := waitHeight(ctx, t, a, h+1).SyncInfo.LatestBlockHeight
	waitHeight(ctx, t, b, now)
	for _, r := range []*runner.Running{a, b} {
		blk, err := r.Client().Block(ctx, ptr(now))
		if err != nil {
			t.Fatal(err)
		}
		if blk.Block.Height != now {
			t.Fatalf("block %d", blk.Block.Height)
		}
	}
	t.Logf("joined by state sync: earliest block %d, app hash equal at height %d, followed to %d", st.SyncInfo.EarliestBlockHeight, h, now)
}

// waitHeight waits until r has committed height h and returns its status.
func waitHeight(ctx context.Context, t *testing.T, r *runner.Running, h int64) *coretypes.ResultStatus {
	t.Helper()
	for {
		st, err := r.Client().Status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= h {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("height %d not reached: %v", h, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ptr[T any](v T) *T { return &v }

func trimTCP(addr string) string {
	const p = "tcp://"
	if len(addr) > len(p) && addr[:len(p)] == p {
		return addr[len(p):]
	}
	return addr
}
