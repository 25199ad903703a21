package plugins_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/composition"
	p "github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wasmhost/hostile"
)

// TestHostileProposalsRefused sends plugins.propose transactions carrying
// hostile modules (issue 10), uploaded as raw chunks without any of the
// CLI's local checks, through two app instances fed the same blocks: each
// proposal must be refused with CodeActionFailed and a reason naming the
// cause, the chain must go on (a later transaction succeeds, nothing is
// listed), and both apps must compute the same app hash at every height.
func TestHostileProposalsRefused(t *testing.T) {
	a, b := newNet(t, 1, genesis(nil)), newNet(t, 1, genesis(nil))
	ctx := context.Background()
	// run executes the calls on a, and the same raw transactions on b.
	run := func(calls ...call) []*abci.ExecTxResult {
		t.Helper()
		var txs [][]byte
		for _, c := range calls {
			txs = append(txs, a.build(c))
		}
		res := a.blockRaw(calls, txs)
		b.blockRaw(calls, txs)
		ia, err1 := a.a.Info(ctx, &abci.RequestInfo{})
		ib, err2 := b.a.Info(ctx, &abci.RequestInfo{})
		if err1 != nil || err2 != nil || string(ia.LastBlockAppHash) != string(ib.LastBlockAppHash) || ia.LastBlockHeight != a.height {
			t.Fatalf("height %d: app hashes %x and %x (%v, %v)", a.height, ia.LastBlockAppHash, ib.LastBlockAppHash, err1, err2)
		}
		return res
	}
	cases := []struct {
		name string
		wasm []byte
		why  string // in the transaction's log, for the operator
	}{
		{"fuel global", hostile.RefillFuel(), "global index 0 out of range"},
		{"2^28 locals", hostile.ManyLocals(1 << 28), "MaxLocals is 268435456"},
		{"1M functions", hostile.ManyFunctions(1_000_000), "MaxFunctions is 1000000"},
		{"2^27 table entries", hostile.HugeTable(1 << 27), "MaxTableEntries is 134217728"},
		{"sequential loops", hostile.SequentialLoops(10_000), "MaxControl is"},
		{"endless _initialize", hostile.EndlessLoop(), "ran out of fuel in _initialize"},
		{"keccak256 loop in _initialize", hostile.HashLoop("keccak256", 64), "ran out of fuel in _initialize"},
	}
	for _, c := range cases {
		sum, ups := uploads(1, c.wasm)
		run(ups...)
		pp := p.ProposePayload{Scheme: "hostile", KeyType: "ed25519", AddressFormat: "none", SHA256: sum}
		res := run(call{1, "plugins.propose", pp, p.ErrBadModule})
		if !strings.Contains(res[0].Log, c.why) {
			t.Errorf("%s: log %q does not say %q", c.name, res[0].Log, c.why)
		}
		t.Logf("%s: refused at height %d", c.name, a.height)
	}
	run(call{1, "kv.put", kvPut("after"), nil})
	if l := a.list(); len(l.Plugins) != 0 {
		t.Fatalf("plugins listed after refusals: %+v", l.Plugins)
	}
}

// TestHaltRecovers is the operator's recovery path (docs/ARCHITECTURE.md,
// "When a node halts on a plugin"): a node whose safety net is too short
// for its machine (here 1 ms) halts in FinalizeBlock on a proposal that
// spends its whole fuel, rather than recording a result other nodes might
// not; restarted on the same state with the cause fixed (the default
// timeout), it executes the block again and agrees with a node that never
// halted.
func TestHaltRecovers(t *testing.T) {
	ctx := context.Background()
	slow, err := wasmhost.NewRuntimes(wasmhost.Config{CallTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close(ctx)
	ref := newNet(t, 1, genesis(nil))
	n := newNet(t, 1, genesis(nil))
	openWith := func(r *wasmhost.Runtimes) {
		mods := composition.ModulesWasm(r)
		a, err := app.New(app.Config{DBPath: n.dbPath, Modules: mods, Wasm: r})
		if err != nil {
			t.Fatal(err)
		}
		n.a = a
		t.Cleanup(func() { a.Close() })
	}

	sum, ups := uploads(1, hostile.EndlessLoop())
	var txs [][]byte
	for _, c := range ups {
		txs = append(txs, ref.build(c))
	}
	ref.blockRaw(ups, txs)
	n.blockRaw(ups, txs)
	n.a.Close()
	openWith(slow)
	propose := call{1, "plugins.propose", p.ProposePayload{Scheme: "hostile", KeyType: "ed25519", AddressFormat: "none", SHA256: sum},
		p.ErrBadModule}
	raw := ref.build(propose)
	ref.blockRaw([]call{propose}, [][]byte{raw})

	// The halt: FinalizeBlock fails with the timeout, nothing is written.
	_, err = n.a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: n.height + 1, Txs: [][]byte{raw}, Time: time.Unix(n.height+1, 0)})
	if !errors.Is(err, wasmhost.ErrTimeout) {
		t.Fatalf("FinalizeBlock with a 1 ms safety net: %v, want ErrTimeout (a halt)", err)
	}
	n.a.Close()

	// The restart with the cause fixed: CometBFT replays the block.
	openWith(rt)
	n.blockRaw([]call{propose}, [][]byte{raw})
	ia, _ := ref.a.Info(ctx, &abci.RequestInfo{})
	ib, _ := n.a.Info(ctx, &abci.RequestInfo{})
	if ia.LastBlockHeight != ib.LastBlockHeight || string(ia.LastBlockAppHash) != string(ib.LastBlockAppHash) {
		t.Fatalf("after recovery: height %d %x, reference %d %x", ib.LastBlockHeight, ib.LastBlockAppHash, ia.LastBlockHeight, ia.LastBlockAppHash)
	}
}
