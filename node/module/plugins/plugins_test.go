package plugins_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	p "github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
	"github.com/idos-network/idos-node/sigplugins"
)

const chain = "idos-plugins"

// rt is shared by every app of the test binary: compiling a 2.6 MB Go
// module takes seconds (tens under -race), and wazero reuses compiled code
// within a runtime (one per set of Wasm limits).
var rt *wasmhost.Runtimes

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	if rt, err = wasmhost.NewRuntimes(wasmhost.Config{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	rt.Close(ctx)
	os.Exit(code)
}

func solanaWasm() []byte { b, _ := sigplugins.Lookup("solana"); return b.Wasm() }

func key(i int) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i)}, 32)) }

// net is an app driven block by block; keys 1..n are the genesis
// validators (power 10 each).
type net struct {
	t      *testing.T
	a      *app.App
	dbPath string
	height int64
	accs   map[string]*client.Account
}

func modules() []module.Module {
	return composition.ModulesWasm(rt) // the standard modules, checking proposals in rt
}

func genesis(mod func(*composition.GenesisState)) []byte {
	g := composition.DefaultGenesis()
	g.Plugins.ProposalExpiryBlocks = 5
	g.Plugins.CheckDelayBlocks = 3
	if mod != nil {
		mod(&g)
	}
	b, _ := json.Marshal(g)
	return b
}

func newNet(t *testing.T, n int, state []byte) *net {
	t.Helper()
	nt := &net{t: t, dbPath: filepath.Join(t.TempDir(), "s.sqlite"), accs: map[string]*client.Account{}}
	nt.open()
	var vals []abci.ValidatorUpdate
	for i := 1; i <= n; i++ {
		vals = append(vals, abci.Ed25519ValidatorUpdate(key(i).Public().(ed25519.PublicKey), 10))
	}
	if _, err := nt.a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chain, AppStateBytes: state, Validators: vals}); err != nil {
		t.Fatal(err)
	}
	return nt
}

func (n *net) open() {
	a, err := app.New(app.Config{DBPath: n.dbPath, Modules: modules(), Wasm: rt})
	if err != nil {
		n.t.Fatal(err)
	}
	n.a = a
	n.t.Cleanup(func() { a.Close() })
}

// signer i is validator key i (ed25519); signer -i is key i under the
// solana plugin's scheme.
func (n *net) account(i int) *client.Account {
	s := auth.NewEd25519Signer(key(i))
	if i < 0 {
		s = auth.NewEd25519SignerAs("solana", key(-i))
	}
	id := fmt.Sprint(i)
	acc, ok := n.accs[id]
	if !ok {
		acc = client.NewAccount(s, chain)
		n.accs[id] = acc
	}
	return acc
}

type call struct {
	from    int
	action  string
	payload any
	// wantErr: nil for success; an action error whose result code the
	// transaction must get; or errUnauthorized for a refused signature.
	wantErr error
}

// errUnauthorized stands for a transaction refused with CodeUnauthorized.
var errUnauthorized = errors.New("unauthorized")

func (n *net) build(c call) []byte {
	n.t.Helper()
	raw, err := n.account(c.from).Build(c.action, c.payload)
	if err != nil {
		n.t.Fatal(err)
	}
	return raw
}

func (n *net) block(calls ...call) {
	n.t.Helper()
	var txs [][]byte
	for _, c := range calls {
		txs = append(txs, n.build(c))
	}
	n.blockRaw(calls, txs)
}

func (n *net) blockRaw(calls []call, txs [][]byte) []*abci.ExecTxResult {
	n.t.Helper()
	res, _ := n.finalize(txs...)
	for i, r := range res {
		c := calls[i]
		switch {
		case c.wantErr == nil && r.Code != app.CodeOK:
			n.t.Errorf("height %d: %s by %d failed: %s", n.height, c.action, c.from, r.Log)
		case c.wantErr == errUnauthorized && r.Code != app.CodeUnauthorized:
			n.t.Errorf("height %d: %s by %d: code %d %q, want unauthorized", n.height, c.action, c.from, r.Code, r.Log)
		case c.wantErr != nil && c.wantErr != errUnauthorized && r.Code != n.a.ResultCode(c.wantErr):
			n.t.Errorf("height %d: %s by %d: code %d %q, want %q", n.height, c.action, c.from, r.Code, r.Log, c.wantErr)
		}
	}
	return res
}

// uploads are the calls that upload wasm for validator i.
func uploads(i int, wasm []byte) (string, []call) {
	sum, chunks := p.UploadChunks(wasm, p.DefaultChunkSize)
	var cs []call
	for _, c := range chunks {
		cs = append(cs, call{from: i, action: "plugins.upload", payload: c})
	}
	return sum, cs
}

func solanaProposal(sum string, delay int64) p.ProposePayload {
	return p.ProposePayload{Scheme: "solana", KeyType: "ed25519", AddressFormat: "base58 Ed25519 public key (Solana address)",
		SHA256: sum, ActivationDelay: delay}
}

// propose uploads the solana module as validator i and proposes it in the
// next block; a proposal that should pass is then taken to its check
// height, where it opens for approvals.
func (n *net) propose(i int, delay int64, wantErr error) string {
	n.t.Helper()
	sum, ups := uploads(i, solanaWasm())
	n.block(ups...)
	n.block(call{i, "plugins.propose", solanaProposal(sum, delay), wantErr})
	if wantErr == nil {
		n.untilChecked("solana")
	}
	return sum
}

// untilChecked runs empty blocks up to the check height of scheme's
// proposal, asserting it is being checked until then, and returns the
// scheme's row after the verdict.
func (n *net) untilChecked(scheme string) p.Plugin {
	n.t.Helper()
	pl := n.plugin(scheme)
	if pl.Status != p.StatusChecking || pl.CheckHeight != pl.Proposed+3 {
		n.t.Fatalf("after proposal: %+v, want checking until %d", pl, pl.Proposed+3)
	}
	for n.height < pl.CheckHeight-1 {
		n.block()
	}
	if st := n.plugin(scheme).Status; st != p.StatusChecking {
		n.t.Fatalf("height %d, a block before the check: status %s", n.height, st)
	}
	n.block()
	return n.plugin(scheme)
}

func (n *net) list() p.ListResult {
	n.t.Helper()
	res, err := n.a.Query(context.Background(), &abci.RequestQuery{Path: "/plugins.list"})
	if err != nil || res.Code != app.CodeOK {
		n.t.Fatalf("list: %v %s", err, res.Log)
	}
	var l p.ListResult
	if err := json.Unmarshal(res.Value, &l); err != nil {
		n.t.Fatal(err)
	}
	return l
}

func (n *net) plugin(scheme string) p.Plugin {
	n.t.Helper()
	for _, pl := range n.list().Plugins {
		if pl.Scheme == scheme {
			return pl
		}
	}
	n.t.Fatalf("no plugin %s", scheme)
	return p.Plugin{}
}

func (n *net) checkTx(raw []byte) *abci.ResponseCheckTx {
	n.t.Helper()
	res, err := n.a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if err != nil {
		n.t.Fatal(err)
	}
	return res
}

func kvPut(k string) map[string]string { return map[string]string{"key": k, "value": "v"} }

// TestLifecycle: propose, approve to 2/3, activation at the stated height
// (not a block earlier), a Solana-signed transaction, removal at its
// height; the verified-signature cache does not outlive the registry.
func TestLifecycle(t *testing.T) {
	n := newNet(t, 4, genesis(nil))
	sum := n.propose(1, 3, nil)
	if pl := n.plugin("solana"); pl.Status != p.StatusPending || pl.SHA256 != sum || pl.ActiveFrom != 0 {
		t.Fatalf("after proposal: %+v", pl)
	}
	// State records the hash of the metered code the nodes run, besides
	// the proposed bytes' hash.
	metered, err := meter.Instrument(solanaWasm())
	if err != nil {
		t.Fatal(err)
	}
	if code := sha256.Sum256(metered.Wasm); n.plugin("solana").CodeSHA256 != hex.EncodeToString(code[:]) || hex.EncodeToString(code[:]) == sum {
		t.Fatalf("code hash %s, want the metered module's %x", n.plugin("solana").CodeSHA256, code)
	}
	n.block(call{2, "plugins.approve", p.SchemePayload{Scheme: "solana"}, nil},
		call{2, "plugins.approve", p.SchemePayload{Scheme: "solana"}, p.ErrDuplicate})
	if pl := n.plugin("solana"); pl.Status != p.StatusPending {
		t.Fatalf("20 of 40 decided it: %+v", pl)
	}
	n.block(call{3, "plugins.approve", p.SchemePayload{Scheme: "solana"}, nil})
	decided := n.height
	pl := n.plugin("solana")
	if pl.Status != p.StatusActive || pl.ActiveFrom != decided+3 {
		t.Fatalf("after 30 of 40: %+v, decided at %d", pl, decided)
	}
	n.block(call{4, "plugins.approve", p.SchemePayload{Scheme: "solana"}, p.ErrDecided})

	// Before activation the scheme is unknown, in CheckTx and in blocks.
	early := n.build(call{from: -7, action: "kv.put", payload: kvPut("a")})
	if res := n.checkTx(early); res.Code != app.CodeUnauthorized || !strings.Contains(res.Log, `unknown signature scheme "solana"`) {
		t.Fatalf("CheckTx before activation: %d %s", res.Code, res.Log)
	}
	for n.height < pl.ActiveFrom-1 {
		n.blockRaw([]call{{from: -7, action: "kv.put", wantErr: errUnauthorized}}, [][]byte{early})
	}
	// Commit(ActiveFrom-1) registered it: CheckTx and block ActiveFrom
	// accept the same bytes.
	if res := n.checkTx(early); res.Code != app.CodeOK {
		t.Fatalf("CheckTx at activation: %d %s", res.Code, res.Log)
	}
	n.blockRaw([]call{{from: -7, action: "kv.put"}}, [][]byte{early})

	// Removal: opened by 2, approved by 3 and 4.
	n.block(call{2, "plugins.remove", p.SchemePayload{Scheme: "solana"}, nil},
		call{1, "plugins.propose", solanaProposal(sum, 0), p.ErrNameTaken})
	n.block(call{3, "plugins.remove", p.SchemePayload{Scheme: "solana"}, nil})
	n.block(call{4, "plugins.remove", p.SchemePayload{Scheme: "solana"}, nil})
	pl = n.plugin("solana")
	if pl.Status != p.StatusRemoved || pl.RemovedFrom != n.height+2 {
		t.Fatalf("after removal: %+v at %d", pl, n.height)
	}
	// Verified (and cached) while still active, executed after removal:
	// refused, because the cache was cleared with the registry.
	late := n.build(call{from: -7, action: "kv.put", payload: kvPut("b")})
	if res := n.checkTx(late); res.Code != app.CodeOK {
		t.Fatalf("CheckTx before removal: %d %s", res.Code, res.Log)
	}
	n.block()
	if n.height != pl.RemovedFrom-1 {
		t.Fatalf("height %d, removal at %d", n.height, pl.RemovedFrom)
	}
	n.blockRaw([]call{{from: -7, action: "kv.put", wantErr: errUnauthorized}}, [][]byte{late})
	// The name is free again.
	n.propose(1, 0, nil)
}

// TestProposalRules: who may propose and approve, what a proposal must be.
func TestProposalRules(t *testing.T) {
	n := newNet(t, 3, genesis(nil))
	sum, ups := uploads(1, solanaWasm())
	n.block(ups...)
	bad := func(mod func(*p.ProposePayload)) p.ProposePayload {
		pp := solanaProposal(sum, 0)
		mod(&pp)
		return pp
	}
	n.block(
		// 0) a non-validator cannot propose
		call{9, "plugins.propose", solanaProposal(sum, 0), p.ErrNotValidator},
		// 1) a built-in name
		call{1, "plugins.propose", bad(func(pp *p.ProposePayload) { pp.Scheme = "eip191" }), p.ErrNameTaken},
		// 2) an activation delay under the genesis minimum (2)
		call{1, "plugins.propose", bad(func(pp *p.ProposePayload) { pp.ActivationDelay = 1 }), p.ErrBadActivation},
		// 3) another module's hash than the upload's
		call{1, "plugins.propose", bad(func(pp *p.ProposePayload) { pp.SHA256 = strings.Repeat("ab", 32) }), p.ErrUpload},
		// 4) a validator with no upload
		call{2, "plugins.propose", solanaProposal(sum, 0), p.ErrUpload},
		// 5) the real thing, then a duplicate
		call{1, "plugins.propose", solanaProposal(sum, 0), nil},
		call{1, "plugins.propose", solanaProposal(sum, 0), p.ErrNameTaken},
		// 6) approvals: by a non-validator, of nothing, before the check
		call{9, "plugins.approve", p.SchemePayload{Scheme: "solana"}, p.ErrNotValidator},
		call{2, "plugins.approve", p.SchemePayload{Scheme: "nothing"}, p.ErrNoProposal},
		call{2, "plugins.approve", p.SchemePayload{Scheme: "solana"}, p.ErrChecking},
		// 7) removing what is not active
		call{2, "plugins.remove", p.SchemePayload{Scheme: "solana"}, p.ErrNotActive},
	)
	// 8) one proposal being checked per proposer; metadata that is not
	// the module's passes the proposal's block and is refused by the check.
	_, ups1 := uploads(1, solanaWasm())
	_, ups2 := uploads(2, solanaWasm())
	n.block(append(ups1, ups2...)...)
	n.block(
		call{1, "plugins.propose", bad(func(pp *p.ProposePayload) { pp.Scheme = "solana2" }), p.ErrChecking},
		call{2, "plugins.propose", bad(func(pp *p.ProposePayload) { pp.Scheme = "solana2" }), nil},
		call{1, "plugins.approve", p.SchemePayload{Scheme: "solana"}, p.ErrChecking},
	)
	if pl := n.untilChecked("solana"); pl.Status != p.StatusPending || pl.CheckHeight != n.height {
		t.Fatalf("after the check: %+v", pl)
	}
	n.block(call{1, "plugins.approve", p.SchemePayload{Scheme: "solana"}, p.ErrDuplicate})
	pl := n.plugin("solana2")
	if pl.Status != p.StatusChecking {
		t.Fatalf("solana2: %+v", pl)
	}
	if pl = n.untilChecked("solana2"); pl.Status != p.StatusRefused || !strings.Contains(pl.Refusal, `implements scheme "solana"`) {
		t.Fatalf("solana2 after the check: %+v", pl)
	}
	n.block(call{2, "plugins.approve", p.SchemePayload{Scheme: "solana2"}, p.ErrNoProposal})
	// A refusal frees the name and the proposer.
	_, ups2 = uploads(2, solanaWasm())
	n.block(ups2...)
	n.block(call{2, "plugins.propose", bad(func(pp *p.ProposePayload) { pp.Scheme = "solana2"; pp.KeyType = "secp256k1" }), nil})
	if pl = n.untilChecked("solana2"); pl.Status != p.StatusRefused || pl.KeyType != "secp256k1" {
		t.Fatalf("solana2 proposed again: %+v", pl)
	}

	// Uploads: out of order, over the size cap.
	n.block(call{2, "plugins.upload", p.UploadPayload{SHA256: sum, Index: 1, Data: []byte{1}}, p.ErrUpload})

	// Bad modules, with a correct hash: not Wasm; the hash of other bytes;
	// trailing data after the DEFLATE stream.
	garbage := bytes.Repeat([]byte("not wasm"), 100)
	gsum, gups := uploads(2, garbage)
	n.block(gups...)
	n.block(call{2, "plugins.propose", p.ProposePayload{Scheme: "junk", KeyType: "ed25519", AddressFormat: "x", SHA256: gsum}, p.ErrBadModule})
	trailing := append(p.Compress(garbage), 0)
	n.block(call{2, "plugins.upload", p.UploadPayload{SHA256: gsum, Index: 0, Data: trailing}, nil})
	n.block(call{2, "plugins.propose", p.ProposePayload{Scheme: "junk", KeyType: "ed25519", AddressFormat: "x", SHA256: gsum}, p.ErrBadModule})
	for _, pl := range n.list().Plugins {
		if pl.Scheme == "junk" {
			t.Fatalf("proposals refused in their block left a row: %+v", pl)
		}
	}
	if _, err := p.Decompress(p.Compress(garbage), 10, make([]byte, 32)); err == nil || !strings.Contains(err.Error(), "max_module_bytes") {
		t.Fatalf("size cap: %v", err)
	}
}

// TestExpiry: a proposal not approved in time expires and frees the name.
func TestExpiry(t *testing.T) {
	n := newNet(t, 3, genesis(nil)) // expiry 5 blocks
	n.propose(1, 0, nil)
	proposed := n.height
	for n.height < proposed+4 {
		n.block()
	}
	n.block(call{2, "plugins.approve", p.SchemePayload{Scheme: "solana"}, p.ErrExpired})
	if pl := n.plugin("solana"); pl.Status != p.StatusExpired {
		t.Fatalf("status %s", pl.Status)
	}
	n.propose(2, 0, nil)
	n.block(call{1, "plugins.approve", p.SchemePayload{Scheme: "solana"}, nil})
	if pl := n.plugin("solana"); pl.Status != p.StatusActive {
		t.Fatalf("after re-proposal and approval: %+v", pl)
	}
}

// TestRestartRebuildsRegistry: a node that restarts loads the active
// plugins from state before its first block.
func TestRestartRebuildsRegistry(t *testing.T) {
	n := newNet(t, 1, genesis(nil)) // one validator: the proposal decides itself
	n.propose(1, 2, nil)
	for n.height < n.plugin("solana").ActiveFrom {
		n.block()
	}
	n.block(call{from: -5, action: "kv.put", payload: kvPut("x")})
	if err := n.a.Close(); err != nil {
		t.Fatal(err)
	}
	n.open()
	n.block(call{from: -5, action: "kv.put", payload: kvPut("y")})
}

// TestGenesisPlugins: plugins named in genesis are active from block 1; a
// genesis whose hash does not match the bundled bytes is refused.
func TestGenesisPlugins(t *testing.T) {
	b, _ := sigplugins.Lookup("solana")
	n := newNet(t, 1, genesis(func(g *composition.GenesisState) {
		g.Plugins.Genesis = []p.GenesisPlugin{{Bundled: "solana", SHA256: b.SHA256()}}
	}))
	n.block(call{from: -3, action: "kv.put", payload: kvPut("x")})
	if pl := n.plugin("solana"); pl.Status != p.StatusActive || pl.ActiveFrom != 1 || pl.Proposer != "genesis" {
		t.Fatalf("%+v", pl)
	}

	a, err := app.New(app.Config{DBPath: filepath.Join(t.TempDir(), "s.sqlite"), Modules: modules(), Wasm: rt})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wrong := genesis(func(g *composition.GenesisState) {
		g.Plugins.Genesis = []p.GenesisPlugin{{Bundled: "solana", SHA256: hex.EncodeToString(make([]byte, 32))}}
	})
	_, err = a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chain, AppStateBytes: wrong,
		Validators: []abci.ValidatorUpdate{abci.Ed25519ValidatorUpdate(key(1).Public().(ed25519.PublicKey), 10)}})
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("wrong genesis hash: %v", err)
	}
}
