package drivers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/module/plugins"
)

// tinyModule is the smallest WebAssembly module with a custom section
// named name, so that each test module has its own hash; it passes the
// meter's static check.
func tinyModule(name string) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	body := append([]byte{byte(len(name))}, name...)
	return append(append(b, 0, byte(len(body))), body...)
}

// upload is the steps of plugins.upload of wasm by p, and its hash.
func upload(p *party, wasm []byte) (string, []step) {
	sum, chunks := plugins.UploadChunks(wasm, plugins.DefaultChunkSize)
	var out []step
	for _, c := range chunks {
		out = append(out, step{p, "plugins.upload", c, nil})
	}
	return sum, out
}

// storedModule reads drivers.module; ok is false when state has none.
func (n *net) storedModule(sum string) (drivers.StoredModule, bool) {
	n.t.Helper()
	b, _ := json.Marshal(drivers.ModuleQuery{SHA256: sum, WithModule: true})
	res, err := n.apps[0].Query(context.Background(), &abci.RequestQuery{Path: "/drivers.module", Data: b})
	if err != nil {
		n.t.Fatal(err)
	}
	var m drivers.StoredModule
	if res.Code != 0 || json.Unmarshal(res.Value, &m) != nil || m.SHA256 != sum {
		n.t.Fatalf("drivers.module: code %d %s", res.Code, res.Log)
	}
	return m, m.Found
}

// TestDriverModuleByProposal: a validator uploads a driver module with
// plugins.upload and a chain proposal takes it into state (kind
// "driver"); 2/3 approve the chain, which names it from then on. A
// proposal naming a module that is neither uploaded nor in state is
// refused, and so are an upload over max_module_bytes and one the meter's
// static check refuses, each in its block.
func TestDriverModuleByProposal(t *testing.T) {
	w := newWorld(t, 2)
	n, v := w.n, w.vals
	wasm := tinyModule("driver-a")
	sum, up := upload(v[1], wasm)
	c := chainConfig()
	c.Chain, c.DriverSHA256 = "eip155:5", sum

	// Neither uploaded nor in state.
	n.block(step{v[1], "drivers.propose_chain", drivers.ChainPayload{Chain: c}, plugins.ErrUpload})
	if _, ok := n.storedModule(sum); ok {
		t.Fatal("a refused proposal stored its module")
	}
	n.block(append(up, step{v[1], "drivers.propose_chain", drivers.ChainPayload{Chain: c}, nil})...)
	m, ok := n.storedModule(sum)
	if !ok || !bytes.Equal(m.Module, wasm) || m.Kind != plugins.KindDriver || m.Uploader != v[1].sender.Identifier || m.Height != n.height {
		t.Fatalf("stored module %+v %v", m, ok)
	}
	var meta drivers.StoredModule
	n.query("drivers.module", drivers.ModuleQuery{SHA256: sum}, &meta)
	if !meta.Found || meta.Size != int64(len(wasm)) || meta.Module != nil {
		t.Fatalf("drivers.module without the bytes: %+v", meta)
	}
	n.block(step{v[2], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: c.Digest()}, nil},
		step{v[3], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: c.Digest()}, nil})
	var cs []drivers.ChainRow
	n.query("drivers.chains", nil, &cs)
	if len(cs) != 2 || cs[1].Chain.Chain != "eip155:5" || cs[1].Status != "enabled" || cs[1].DriverSHA256 != sum { // in (chain, contract) order
		t.Fatalf("chains %+v", cs)
	}
	// A module in state needs no upload: another validator reconfigures
	// the chain with it.
	c2 := c
	c2.Confirmations = 20
	n.block(step{v[2], "drivers.propose_chain", drivers.ChainPayload{Chain: c2}, nil})

	// Over the cap: 9 MiB decompressed (max_module_bytes is 8 MiB), a few
	// KiB uploaded.
	big := append(tinyModule("big"), make([]byte, 9<<20)...)
	bigSum, bigUp := upload(v[3], big)
	bc := c
	bc.Chain, bc.DriverSHA256 = "eip155:6", bigSum
	n.block(append(bigUp, step{v[3], "drivers.propose_chain", drivers.ChainPayload{Chain: bc}, plugins.ErrBadModule})...)
	// Not WebAssembly: the meter's static check refuses it.
	junk := []byte("not a wasm module")
	junkSum, junkUp := upload(v[4], junk)
	jc := c
	jc.Chain, jc.DriverSHA256 = "eip155:7", junkSum
	n.block(append(junkUp, step{v[4], "drivers.propose_chain", drivers.ChainPayload{Chain: jc}, plugins.ErrBadModule})...)
	for _, s := range []string{bigSum, junkSum} {
		if _, ok := n.storedModule(s); ok {
			t.Errorf("refused module %s is in state", s)
		}
	}
}

// TestDriverModuleDropped: a module only a proposal named leaves state
// when the proposal expires; one an enabled chain names stays, and goes
// when the chain is reconfigured to another module.
func TestDriverModuleDropped(t *testing.T) {
	w := newWorld(t, 1)
	n, v := w.n, w.vals
	a, b := tinyModule("a"), tinyModule("b")
	sumA, upA := upload(v[1], a)
	sumB, upB := upload(v[2], b)
	ca, cb := chainConfig(), chainConfig()
	ca.Chain, ca.DriverSHA256 = "eip155:5", sumA
	cb.Chain, cb.DriverSHA256 = "eip155:6", sumB
	n.block(append(append(upA, upB...),
		step{v[1], "drivers.propose_chain", drivers.ChainPayload{Chain: ca}, nil},
		step{v[2], "drivers.propose_chain", drivers.ChainPayload{Chain: cb}, nil})...)
	n.block(step{v[3], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: ca.Digest()}, nil},
		step{v[4], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: ca.Digest()}, nil})
	for range expiry {
		n.blockRaw()
	}
	if _, ok := n.storedModule(sumB); ok {
		t.Error("the module of an expired proposal is still in state")
	}
	if _, ok := n.storedModule(sumA); !ok {
		t.Fatal("the module of an enabled chain left state")
	}
	// Chain a moves to the genesis chain's driver: module a is unused.
	ca2 := ca
	ca2.DriverSHA256 = chainConfig().DriverSHA256
	n.block(step{v[1], "drivers.propose_chain", drivers.ChainPayload{Chain: ca2}, nil},
		step{v[2], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: ca2.Digest()}, nil},
		step{v[3], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: ca2.Digest()}, nil})
	if _, ok := n.storedModule(sumA); ok {
		t.Error("a module no chain config names is still in state")
	}
}
