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
// proposal must be refused with a reason naming the cause, either in its
// own block (the static checks, code 41) or by the nodes' check at its
// check height (a module that must run to fail); the chain must go on (a
// later transaction succeeds, nothing is pending or active), and both apps
// must compute the same app hash at every height.
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
		name    string
		wasm    []byte
		checked bool   // refused by the check, not in the proposal's block
		why     string // in the transaction's log or the refusal, for the operator
	}{
		{"fuel global", hostile.RefillFuel(), false, "global index 0 out of range"},
		{"2^28 locals", hostile.ManyLocals(1 << 28), false, "MaxLocals is 268435456"},
		{"1M functions", hostile.ManyFunctions(1_000_000), false, "MaxFunctions is 1000000"},
		{"2^27 table entries", hostile.HugeTable(1 << 27), false, "MaxTableEntries is 134217728"},
		{"sequential loops", hostile.SequentialLoops(10_000), false, "MaxControl is"},
		{"endless _initialize", hostile.EndlessLoop(), true, "out of fuel"},
		{"keccak256 loop in _initialize", hostile.HashLoop("keccak256", 64), true, "out of fuel"},
	}
	for _, c := range cases {
		sum, ups := uploads(1, c.wasm)
		run(ups...)
		pp := p.ProposePayload{Scheme: "hostile", KeyType: "ed25519", AddressFormat: "none", SHA256: sum}
		if !c.checked {
			res := run(call{1, "plugins.propose", pp, p.ErrBadModule})
			if !strings.Contains(res[0].Log, c.why) {
				t.Errorf("%s: log %q does not say %q", c.name, res[0].Log, c.why)
			}
			t.Logf("%s: refused at height %d", c.name, a.height)
			continue
		}
		run(call{1, "plugins.propose", pp, nil})
		at := a.plugin("hostile").CheckHeight
		for a.height < at {
			run()
		}
		if pl := a.plugin("hostile"); pl.Status != p.StatusRefused || !strings.Contains(pl.Refusal, c.why) {
			t.Errorf("%s: after the check %+v, want refused: %s", c.name, pl, c.why)
		}
		t.Logf("%s: refused by the check at height %d", c.name, a.height)
	}
	run(call{1, "kv.put", kvPut("after"), nil})
	for _, pl := range a.list().Plugins {
		if pl.Status != p.StatusRefused {
			t.Fatalf("plugin after refusals: %+v", pl)
		}
	}
}

// TestHaltRecovers is the operator's recovery path (docs/ARCHITECTURE.md,
// "When a node halts on a plugin"): a node whose safety net is too short
// for its machine (here 1 ms) halts in FinalizeBlock at the check height of
// a proposal whose module spends its whole fuel, rather than recording a
// verdict other nodes might not; the proposal's own block does not run the
// module, so it passes. Restarted on the same state with the cause fixed
// (the default timeout) and without the background check it had, it
// checks in the block, executes it again and agrees with a node that never
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
	propose := call{1, "plugins.propose", p.ProposePayload{Scheme: "hostile", KeyType: "ed25519", AddressFormat: "none", SHA256: sum}, nil}
	raw := ref.build(propose)
	ref.blockRaw([]call{propose}, [][]byte{raw})
	n.blockRaw([]call{propose}, [][]byte{raw})
	at := ref.plugin("hostile").CheckHeight
	for ref.height < at-1 {
		ref.block()
		n.blockRaw(nil, nil)
	}
	ref.block()

	// The halt: FinalizeBlock fails with the timeout, nothing is written.
	_, err = n.a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: n.height + 1, Time: time.Unix(n.height+1, 0)})
	if !errors.Is(err, wasmhost.ErrTimeout) {
		t.Fatalf("FinalizeBlock at the check height with a 1 ms safety net: %v, want ErrTimeout (a halt)", err)
	}
	n.a.Close()

	// The restart with the cause fixed: CometBFT replays the block.
	openWith(rt)
	n.blockRaw(nil, nil)
	ia, _ := ref.a.Info(ctx, &abci.RequestInfo{})
	ib, _ := n.a.Info(ctx, &abci.RequestInfo{})
	if ia.LastBlockHeight != ib.LastBlockHeight || string(ia.LastBlockAppHash) != string(ib.LastBlockAppHash) {
		t.Fatalf("after recovery: height %d %x, reference %d %x", ib.LastBlockHeight, ib.LastBlockAppHash, ia.LastBlockHeight, ia.LastBlockAppHash)
	}
	if pl := n.plugin("hostile"); pl.Status != p.StatusRefused {
		t.Fatalf("after recovery: %+v", pl)
	}
}
