package plugins_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	p "github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/sigplugins"
)

// lowFuel lets the solana plugin register (its ABI version and metadata
// calls) but not verify a signature, which takes about 300,000 fuel
// (sigplugins' vectors).
const lowFuel = 50_000

func genesisSolana(mod func(*wasmhost.Limits)) []byte {
	b, _ := sigplugins.Lookup("solana")
	return genesis(func(g *composition.GenesisState) {
		g.Plugins.Genesis = []p.GenesisPlugin{{Bundled: "solana", SHA256: b.SHA256()}}
		if mod != nil {
			mod(&g.Plugins.Wasm)
		}
	})
}

// finalize runs one block of raw transactions and commits it; it returns
// the results and the app hash.
func (n *net) finalize(txs ...[]byte) ([]*abci.ExecTxResult, []byte) {
	n.t.Helper()
	n.height++
	ctx := context.Background()
	res, err := n.a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: n.height, Txs: txs, Time: time.Unix(n.height, 0)})
	if err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		n.t.Fatal(err)
	}
	return res.TxResults, res.AppHash
}

// outOfFuel asserts a plugin-signed transaction was refused because the
// verification ran out of fuel (a plugin fault, so the signature is not
// accepted: CodeUnauthorized).
func outOfFuel(t *testing.T, code uint32, log string) {
	t.Helper()
	if code != app.CodeUnauthorized || !strings.Contains(log, wasmhost.ErrOutOfFuel.Error()) {
		t.Fatalf("code %d %q, want unauthorized: %s", code, log, wasmhost.ErrOutOfFuel)
	}
}

// TestGenesisWasmLimits: the app runs plugins with the limits of genesis,
// not with code defaults; out-of-range limits are refused at genesis.
func TestGenesisWasmLimits(t *testing.T) {
	n := newNet(t, 1, genesisSolana(func(l *wasmhost.Limits) { l.FuelLimit = lowFuel }))
	raw := n.build(call{from: -3, action: "kv.put", payload: kvPut("x")})
	chk := n.checkTx(raw)
	outOfFuel(t, chk.Code, chk.Log)
	res, _ := n.finalize(raw)
	outOfFuel(t, res[0].Code, res[0].Log)
	if l := n.list(); l.Params.Wasm.FuelLimit != lowFuel || len(l.WasmLimits) != 1 || l.WasmLimits[0].ActiveFrom != 0 {
		t.Fatalf("list: %+v %+v", l.Params.Wasm, l.WasmLimits)
	}

	// The same transaction verifies under the default limits.
	d := newNet(t, 1, genesisSolana(nil))
	if res, _ := d.finalize(raw); res[0].Code != app.CodeOK {
		t.Fatalf("default limits: %d %s", res[0].Code, res[0].Log)
	}

	// The memory cap is the genesis one too: a Go module's initial memory
	// exceeds one page, so the genesis is refused.
	a, err := app.New(app.Config{DBPath: filepath.Join(t.TempDir(), "s.sqlite"), Modules: modules(), Wasm: rt})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chain,
		AppStateBytes: genesisSolana(func(l *wasmhost.Limits) { l.MemoryLimitPages = 1 }),
		Validators:    []abci.ValidatorUpdate{abci.Ed25519ValidatorUpdate(key(1).Public().(ed25519.PublicKey), 10)}})
	if !errors.Is(err, wasmhost.ErrInvalidModule) {
		t.Fatalf("genesis with a one-page memory cap: %v, want ErrInvalidModule", err)
	}

	for _, bad := range []func(*wasmhost.Limits){
		func(l *wasmhost.Limits) { l.FuelLimit = 0 },
		func(l *wasmhost.Limits) { l.InitFuelLimit = wasmhost.MaxFuelLimit + 1 },
		func(l *wasmhost.Limits) { l.StackBudget = 0 },
		func(l *wasmhost.Limits) { l.MemoryLimitPages = wasmhost.MaxMemoryLimitPages + 1 },
	} {
		g := composition.DefaultGenesis()
		bad(&g.Plugins.Wasm)
		b, _ := json.Marshal(g)
		if _, err := parseGenesis(b); !errors.Is(err, wasmhost.ErrBadLimits) {
			t.Errorf("%+v: ParseGenesis = %v, want ErrBadLimits", g.Plugins.Wasm, err)
		}
	}
	if _, err := parseGenesis([]byte(`{"plugins": {"wasm": {"fuel_limit": 1.5}}}`)); err == nil {
		t.Error("a fractional fuel_limit was accepted")
	}
	if _, err := parseGenesis([]byte(`{"plugins": {"wasm": {"fuel_limit": -1}}}`)); err == nil {
		t.Error("a negative fuel_limit was accepted")
	}
	// A limit left out keeps its default.
	g, err := parseGenesis([]byte(`{"plugins": {"wasm": {"fuel_limit": 1000}}}`))
	if want := (wasmhost.Limits{FuelLimit: 1000, InitFuelLimit: wasmhost.DefaultInitFuelLimit,
		StackBudget: wasmhost.DefaultStackBudget, MemoryLimitPages: wasmhost.DefaultMemoryLimitPages}); err != nil || g.Plugins.Wasm != want {
		t.Fatalf("ParseGenesis = %+v, %v; want %+v", g.Plugins.Wasm, err, want)
	}
}

// TestParamsProposal: a change of the fuel limit, proposed by one validator
// and approved by a second (2/3 of the power), takes effect at decision
// height + activation_delay_blocks on two apps fed the same blocks, with
// the same app hash at every height; nothing changes before.
func TestParamsProposal(t *testing.T) {
	n1 := newNet(t, 3, genesisSolana(nil))
	n2 := newNet(t, 3, genesisSolana(nil))
	// both runs the same block on the two apps; n1 builds it.
	both := func(want []error, txs ...[]byte) []*abci.ExecTxResult {
		t.Helper()
		r1, h1 := n1.finalize(txs...)
		r2, h2 := n2.finalize(txs...)
		if !bytes.Equal(h1, h2) {
			t.Fatalf("height %d: app hashes differ: %x vs %x", n1.height, h1, h2)
		}
		for i, r := range r1 {
			if r.Code != r2[i].Code || r.Log != r2[i].Log {
				t.Fatalf("height %d tx %d: %d %q vs %d %q", n1.height, i, r.Code, r.Log, r2[i].Code, r2[i].Log)
			}
			if i < len(want) && want[i] != nil && r.Code != n1.a.ResultCode(want[i]) {
				t.Fatalf("height %d tx %d: code %d %q, want %v", n1.height, i, r.Code, r.Log, want[i])
			}
			if i < len(want) && want[i] == nil && r.Code != app.CodeOK {
				t.Fatalf("height %d tx %d: %d %q", n1.height, i, r.Code, r.Log)
			}
		}
		return r1
	}
	low := wasmhost.DefaultLimits()
	low.FuelLimit = lowFuel
	put := func(k string) []byte { return n1.build(call{from: -4, action: "kv.put", payload: kvPut(k)}) }
	params := func(from int, action string, l wasmhost.Limits) []byte {
		return n1.build(call{from: from, action: action, payload: p.ParamsPayload{Wasm: l}})
	}
	bad := low
	bad.StackBudget = 0

	both([]error{nil,
		module.ErrInvalidPayload, // limits out of range
		p.ErrNotValidator,        // not a validator
		p.ErrNoProposal,          // approving what nobody proposed
		nil,                      // 1 of 3 opens the proposal
		p.ErrDuplicate,           // twice
	}, put("a"),
		params(1, "plugins.propose_params", bad),
		params(9, "plugins.propose_params", low),
		params(2, "plugins.approve_params", low),
		params(1, "plugins.propose_params", low),
		params(1, "plugins.approve_params", low))
	if l := n1.list(); len(l.WasmLimits) != 1 || l.Params.Wasm != wasmhost.DefaultLimits() {
		t.Fatalf("decided by 1 of 3: %+v", l.WasmLimits)
	}
	both([]error{nil}, params(2, "plugins.approve_params", low))
	decided := n1.height
	l := n1.list()
	if len(l.WasmLimits) != 2 || l.WasmLimits[1].ActiveFrom != decided+2 || l.WasmLimits[1].Wasm != low {
		t.Fatalf("after 2 of 3 at %d: %+v", decided, l.WasmLimits)
	}
	var req p.Request
	for _, r := range requests(t, n1) {
		if r.Kind == p.KindParams {
			req = r
		}
	}
	// The subject is the canonical text (the vector in plugins.md).
	if req.Status != p.RequestApproved || req.Decided != decided ||
		req.Scheme != "fuel_limit=50000,init_fuel_limit=50000000,stack_budget=64000,memory_limit_pages=1024" {
		t.Fatalf("request %+v", req)
	}
	// Block decided+1 still runs under the old limits; the new ones apply
	// from decided+2, in CheckTx after Commit(decided+1) and in the block.
	both([]error{nil}, put("b"))
	raw := put("c")
	res := n1.checkTx(raw)
	outOfFuel(t, res.Code, res.Log)
	r := both(nil, raw)
	outOfFuel(t, r[0].Code, r[0].Log)
	if n1.height != decided+2 {
		t.Fatalf("height %d", n1.height)
	}

	// A restarted node reads the limits from state.
	if err := n1.a.Close(); err != nil {
		t.Fatal(err)
	}
	n1.open()
	raw = put("d")
	r = both(nil, raw)
	outOfFuel(t, r[0].Code, r[0].Log)

	// Limits under which a plugin in state no longer registers are
	// refused when decided: the solana module needs more than 1 fuel for
	// _initialize.
	tiny := wasmhost.DefaultLimits()
	tiny.InitFuelLimit = 1
	both([]error{nil, nil}, params(1, "plugins.propose_params", tiny), params(3, "plugins.propose_params", tiny))
	refused := 0
	for _, r := range requests(t, n1) {
		if r.Kind == p.KindParams && strings.Contains(r.Scheme, "init_fuel_limit=1,") {
			if r.Status != p.RequestRefused || r.Decided != n1.height {
				t.Fatalf("tiny limits: %+v", r)
			}
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d requests of the tiny limits", refused)
	}
	if l := n1.list(); len(l.WasmLimits) != 2 {
		t.Fatalf("refused limits were scheduled: %+v", l.WasmLimits)
	}
}

func requests(t *testing.T, n *net) []p.Request {
	t.Helper()
	res, err := n.a.Query(context.Background(), &abci.RequestQuery{Path: "/plugins.requests", Data: []byte(`{"all":true}`)})
	if err != nil || res.Code != app.CodeOK {
		t.Fatalf("requests: %v %s", err, res.Log)
	}
	var out p.RequestsResult
	if err := json.Unmarshal(res.Value, &out); err != nil {
		t.Fatal(err)
	}
	return out.Requests
}

// TestRuntimesRefuseLocalLimits: a node's local Wasm configuration cannot
// set the consensus limits.
func TestRuntimesRefuseLocalLimits(t *testing.T) {
	for _, cfg := range []wasmhost.Config{{FuelLimit: 1}, {InitFuelLimit: 1}, {StackBudget: 1}, {MemoryLimitPages: 1}} {
		if _, err := wasmhost.NewRuntimes(cfg); !errors.Is(err, wasmhost.ErrLocalLimits) {
			t.Errorf("%+v: %v, want ErrLocalLimits", cfg, err)
		}
	}
	rts, err := wasmhost.NewRuntimes(wasmhost.Config{CallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rts.Close(context.Background())
	low := wasmhost.DefaultLimits()
	low.MemoryLimitPages = 3
	r1, err := rts.Get(context.Background(), low)
	if err != nil {
		t.Fatal(err)
	}
	if r2, _ := rts.Get(context.Background(), low); r1 != r2 || r1.Limits() != low {
		t.Fatalf("runtime of %+v: %+v", low, r1.Limits())
	}
	if _, err := rts.Get(context.Background(), wasmhost.Limits{}); !errors.Is(err, wasmhost.ErrBadLimits) {
		t.Fatalf("zero limits: %v", err)
	}

	// The runtime of each set of limits runs plugins under them: the same
	// verification needs ~300,000 fuel, so it runs out under lowFuel.
	msg := []byte("limits")
	sig := ed25519.Sign(key(7), msg)
	signer := key(7).Public().(ed25519.PublicKey)
	low.MemoryLimitPages = wasmhost.DefaultMemoryLimitPages
	for _, c := range []struct {
		fuel uint64
		want error
	}{{lowFuel, wasmhost.ErrOutOfFuel}, {wasmhost.DefaultFuelLimit, nil}} {
		low.FuelLimit = c.fuel
		r, err := rts.Get(context.Background(), low)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := r.Register(context.Background(), solanaWasm())
		if err != nil {
			t.Fatal(err)
		}
		_, used, err := pl.VerifyFuel(signer, msg, sig)
		if !errors.Is(err, c.want) || (c.want == nil && (used <= lowFuel || used > c.fuel)) {
			t.Errorf("fuel limit %d: used %d, err %v; want %v", c.fuel, used, err, c.want)
		}
	}
}

// parseGenesis is app.ParseGenesis for the standard modules, typed.
func parseGenesis(appState []byte) (composition.GenesisState, error) {
	var g composition.GenesisState
	pg, err := app.ParseGenesis(composition.Modules(), appState)
	if err != nil {
		return g, err
	}
	c, _ := pg.Canonical()
	err = json.Unmarshal(c, &g)
	return g, err
}
