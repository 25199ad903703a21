package plugins_test

import (
	"context"
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	p "github.com/idos-network/idos-node/node/module/plugins"
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
	run := func(calls ...call) {
		t.Helper()
		var txs [][]byte
		for _, c := range calls {
			txs = append(txs, a.build(c))
		}
		a.blockRaw(calls, txs)
		b.blockRaw(calls, txs)
		ia, err1 := a.a.Info(ctx, &abci.RequestInfo{})
		ib, err2 := b.a.Info(ctx, &abci.RequestInfo{})
		if err1 != nil || err2 != nil || string(ia.LastBlockAppHash) != string(ib.LastBlockAppHash) || ia.LastBlockHeight != a.height {
			t.Fatalf("height %d: app hashes %x and %x (%v, %v)", a.height, ia.LastBlockAppHash, ib.LastBlockAppHash, err1, err2)
		}
	}
	cases := []struct {
		name string
		wasm []byte
		why  string // in the transaction's log
	}{
		{"fuel global", hostile.RefillFuel(), "global index 0 out of range"},
		{"2^28 locals", hostile.ManyLocals(1 << 28), "MaxLocals is 268435456"},
		{"1M functions", hostile.ManyFunctions(1_000_000), "MaxFunctions is 1000000"},
		{"2^27 table entries", hostile.HugeTable(1 << 27), "MaxTableEntries is 134217728"},
		{"sequential loops", hostile.SequentialLoops(10_000), "MaxControl is"},
		{"endless _initialize", hostile.EndlessLoop(), "ran out of fuel in _initialize"},
	}
	for _, c := range cases {
		sum, ups := uploads(1, c.wasm)
		run(ups...)
		pp := p.ProposePayload{Scheme: "hostile", KeyType: "ed25519", AddressFormat: "none", SHA256: sum}
		run(call{1, "plugins.propose", pp, errors.New(c.why)})
		t.Logf("%s: refused at height %d", c.name, a.height)
	}
	run(call{1, "kv.put", kvPut("after"), nil})
	if l := a.list(); len(l.Plugins) != 0 {
		t.Fatalf("plugins listed after refusals: %+v", l.Plugins)
	}
}
