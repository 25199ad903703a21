package lightclient_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
)

// benchBlocks is the chain length the sync benchmarks cross.
const benchBlocks = 10_000

var bench struct {
	once sync.Once
	node *testNode
	dir  string // removed by TestMain unless kept
	keep bool
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.node != nil {
		bench.node.r.Stop()
	}
	if bench.dir != "" && !bench.keep {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchChain returns a single-validator node whose chain is at least
// benchBlocks long. It produces the blocks with a 1 ms commit timeout, then
// restarts the node with a 1 s timeout so that block production does not
// compete with the benchmark for the CPU. IDOS_LIGHT_BENCH_DIR keeps the
// chain in that directory between runs (produced once, then reused).
func benchChain(b *testing.B) *testNode {
	b.Helper()
	bench.once.Do(func() { bench.node, bench.err = makeBenchChain(b) })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.node
}

func makeBenchChain(b *testing.B) (*testNode, error) {
	dir := os.Getenv("IDOS_LIGHT_BENCH_DIR")
	bench.keep = dir != ""
	if dir == "" {
		d, err := os.MkdirTemp("", "idos-light-bench-")
		if err != nil {
			return nil, err
		}
		dir = d
		bench.dir = d
	}
	nodeDir := filepath.Join(dir, "node")
	chainID := "idos-light-bench"
	fresh := false
	if _, err := os.Stat(nodeDir); os.IsNotExist(err) {
		fresh = true
		base := testnet.Ports(b, 2)
		if err := home.Init(nodeDir, home.Options{
			ChainID:           chainID,
			P2PListenAddr:     "127.0.0.1:" + strconv.Itoa(base),
			RPCListenAddr:     "127.0.0.1:" + strconv.Itoa(base+1),
			GatewayListenAddr: "127.0.0.1:0",
			TimeoutCommit:     time.Millisecond,
		}); err != nil {
			return nil, err
		}
	}
	start := func(timeoutCommit time.Duration, txIndex bool) (*testNode, error) {
		h, err := home.Load(nodeDir)
		if err != nil {
			return nil, err
		}
		h.CometBFT.Consensus.TimeoutCommit = timeoutCommit
		if !txIndex {
			// CometBFT 0.38 does not close the tx index on stop, so a
			// restart in the same process cannot reopen it; the light
			// client does not need it.
			h.CometBFT.TxIndex.Indexer = "null"
		}
		pv, err := h.PrivValidator()
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r, err := runner.Start(ctx, h, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return &testNode{r: r, rpc: "http://" + strings.TrimPrefix(h.CometBFT.RPC.ListenAddress, "tcp://"),
			chainID: chainID, key: pv.Key.PrivKey}, nil
	}
	if !fresh { // a kept chain: serve it with slow blocks
		n, err := start(time.Second, false)
		if err != nil {
			return nil, err
		}
		n.waitHeight(b, benchBlocks+1)
		return n, nil
	}
	n, err := start(time.Millisecond, true)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	n.waitHeightWithin(b, benchBlocks+1, 30*time.Minute)
	b.Logf("produced %d blocks in %s (1 ms commit timeout, one validator)", benchBlocks+1, time.Since(t0).Round(time.Second))
	if err := n.r.Stop(); err != nil {
		return nil, err
	}
	return start(time.Second, false)
}

// BenchmarkSyncSkipping measures a fresh light client, trusting height 1,
// syncing to the latest header across benchBlocks blocks with skipping
// verification and one witness (the same node). The validator set does not
// change, so skipping verifies the target directly: the cost does not grow
// with the number of blocks.
func BenchmarkSyncSkipping(b *testing.B) { benchSync(b, false) }

// BenchmarkSyncSequential is the same sync verifying every header in
// between (two RPC calls and one commit verification per block).
func BenchmarkSyncSequential(b *testing.B) { benchSync(b, true) }

func benchSync(b *testing.B, sequential bool) {
	n := benchChain(b)
	ctx := context.Background()
	var target int64
	for b.Loop() {
		b.StopTimer()
		cfg := benchConfig(b, n)
		cfg.Sequential = sequential
		c, err := lightclient.New(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sh, err := c.Sync(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		target = sh.Height
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(target-1), "blocks")
}

// BenchmarkVerifyHeader measures verifying one header the client has not
// seen, next to one it has: through the client (two RPC calls to the
// primary, the commit check, two to the witness for the cross-check, a
// store write) and the pure CometBFT check alone (light.VerifyAdjacent).
func BenchmarkVerifyHeader(b *testing.B) {
	n := benchChain(b)
	ctx := context.Background()
	c, err := lightclient.New(ctx, benchConfig(b, n))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	b.Run("client", func(b *testing.B) {
		h := int64(1)
		for b.Loop() {
			h++
			if h > benchBlocks {
				b.Fatal("ran out of unverified heights")
			}
			if _, err := c.VerifiedHeader(ctx, h); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("pure", func(b *testing.B) {
		trusted, untrusted := n.header(b, 100), n.header(b, 101)
		vals, err := n.r.Client().Validators(ctx, &untrusted.Height, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		vs := types.NewValidatorSet(vals.Validators)
		now := untrusted.Time.Add(time.Second)
		for b.Loop() {
			if err := light.VerifyAdjacent(trusted, untrusted, vs, time.Hour*24*365, now, time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchConfig trusts height 1 for a year, so a chain kept between runs
// (IDOS_LIGHT_BENCH_DIR) stays usable.
func benchConfig(b *testing.B, n *testNode) lightclient.Config {
	cfg := n.config(b, 1, n.rpc, n.rpc)
	cfg.TrustingPeriod = 365 * 24 * time.Hour
	return cfg
}
