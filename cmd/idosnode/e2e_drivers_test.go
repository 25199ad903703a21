package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/internal/evmchain"
	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/gateway/gwclient"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
	"github.com/idos-network/idos-node/wasmdrivers"
)

// Settings of the chain-grant devnets.
const (
	// drvConfirmations is the EVM chain's finality depth in the chain
	// config the validators approve.
	drvConfirmations = 3
	// drvPoll is each node's listener round (driver_poll_interval_ms).
	drvPoll = 200 * time.Millisecond
)

// Modes of an rpcProxy.
const (
	proxyHonest int32 = iota
	proxyLie          // rewrites the grantee of every eth_getLogs result
	proxyDown         // answers 503
)

// rpcProxy is one validator's JSON-RPC endpoint for the EVM chain: it
// forwards to the real node, or lies, or is down, as the test sets it.
type rpcProxy struct {
	srv    *httptest.Server
	target string
	mode   atomic.Int32
	// fake is the grantee a lying proxy writes into every log.
	fake common.Address
}

func newProxy(t *testing.T, target string, fake common.Address) *rpcProxy {
	p := &rpcProxy{target: target, fake: fake}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *rpcProxy) serve(w http.ResponseWriter, r *http.Request) {
	mode := p.mode.Load()
	if mode == proxyDown {
		http.Error(w, "endpoint down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	resp, err := http.Post(p.target, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if mode == proxyLie && bytes.Contains(body, []byte(`"eth_getLogs"`)) {
		var m struct {
			JSONRPC string           `json:"jsonrpc"`
			ID      json.RawMessage  `json:"id"`
			Result  []map[string]any `json:"result"`
		}
		if json.Unmarshal(out, &m) == nil {
			for _, l := range m.Result {
				// topics: event, owner, grantee, keccak(dataId).
				if ts, ok := l["topics"].([]any); ok && len(ts) == 4 {
					ts[2] = common.BytesToHash(p.fake.Bytes()).Hex()
				}
			}
			out, _ = json.Marshal(m)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// drvNet is a 4-validator devnet of real processes whose nodes read one
// simulated EVM chain, each through its own proxy, and an idOS user whose
// credential, sealed to a grantee, the grants on chain share.
type drvNet struct {
	*vsNet
	chain   *evmchain.Chain
	proxies []*rpcProxy
	cfg     drivers.Chain
	// grantee reads the credential; liar is whom lying proxies name.
	grantee, liar *userclient.Client
	credID        string
	secret        []byte
	// keys is the keystore directory of the users' keys (no passphrase).
	keys string
}

// startDrvNet starts the chain, the devnet (observation expiry in blocks)
// with every node's endpoint in its config/idos.json, enables the chain by
// proposal (v0 proposes, v1 and v2 approve: 30 of 40) and creates the
// owner's user and credential.
func startDrvNet(t *testing.T, ctx context.Context, expiry int64) *drvNet {
	t.Helper()
	bin := testnet.Binary(t)
	ks := &userclient.Keystore{Dir: t.TempDir(), ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	gen := func(name, scheme string) *userclient.Key {
		k, err := ks.Generate(name, scheme, "", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ins, granteeKey, liarKey := gen("inserter", auth.SchemeEd25519), gen("grantee", auth.SchemeEIP191), gen("liar", auth.SchemeEIP191)
	chain := evmchain.New(t, nil)
	owner, err := ks.ImportECDSA("owner", chain.Key, "")
	if err != nil {
		t.Fatal(err)
	}

	g := composition.DefaultGenesis()
	g.IDOS.Inserters = []string{ins.AccountID()}
	g.Drivers.ExpiryBlocks = expiry
	state, err := g.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	// Room for a fifth node (TestChainGrantsEndToEnd's non-validator).
	n := &vsNet{t: t, ctx: ctx, bin: bin, dir: filepath.Join(t.TempDir(), "net"), base: testnet.DevnetPorts(t, 5)}
	m, err := devnet.Create(devnet.Config{Dir: n.dir, Validators: 4, BasePort: n.base, ChainID: vsChainID,
		TimeoutCommit: vsTimeoutCommit, AppState: state})
	if err != nil {
		t.Fatal(err)
	}
	d := &drvNet{vsNet: n, chain: chain, keys: ks.Dir}
	for _, node := range m.Nodes {
		v := n.load(node.Name, node.RPCURL())
		n.nodes = append(n.nodes, v)
		d.configure(v, common.HexToAddress(liarKey.Identifier))
	}
	for _, v := range n.nodes {
		n.start(v)
	}
	n.waitHeight(n.nodes, 2)

	// The chain by proposal, as operators would enable it: v0 proposes
	// and v1 approves with the CLI, v2 with a transaction of its own.
	evm := wasmdrivers.All()[0]
	if evm.Name != "evm" {
		t.Fatalf("first built-in driver %s", evm.Name)
	}
	d.cfg = drivers.Chain{Chain: evmchain.CAIP2, Contract: chain.ContractHex(), Confirmations: drvConfirmations,
		DriverSHA256: evm.SHA256(), AccountScheme: auth.SchemeEIP191, LockUnit: "s"}
	v0, v1, v2 := n.nodes[0], n.nodes[1], n.nodes[2]
	out := n.cli(0, "driver", "propose-chain", "--home", v0.home, "--chain", d.cfg.Chain, "--contract", d.cfg.Contract,
		"--confirmations", fmt.Sprint(drvConfirmations), "--driver-file", filepath.Join("..", "..", "wasmdrivers", "evm", "evm.wasm"))
	// The module is chain state: the proposal uploads it, chunk by chunk.
	if !strings.Contains(out, "digest  "+d.cfg.Digest()+"\n") || !strings.Contains(out, "result  ok") ||
		!strings.Contains(out, "uploaded with the proposal") || !strings.Contains(out, "upload  chunk 1/") {
		t.Fatalf("driver propose-chain:\n%s", out)
	}
	n.cli(0, "driver", "approve-chain", "--home", v1.home, d.cfg.Digest())
	res, err := v2.vc.Submit(ctx, v2.key, "drivers.approve_chain", drivers.ApproveChainPayload{Digest: d.cfg.Digest()})
	if err != nil {
		t.Fatalf("v2 approves the chain: %v", err)
	}
	n.lastTx = max(n.lastTx, res.Height)
	n.synced(n.nodes[3])
	out = n.cli(0, "driver", "list", "--home", n.nodes[3].home)
	if !strings.Contains(out, evmchain.CAIP2+" "+d.cfg.Contract+"  enabled  confirmations 3") {
		t.Fatalf("driver list after approval:\n%s", out)
	}
	// Every validator loads the chain's driver from state, before the
	// copy built into its binary.
	for _, v := range n.nodes {
		d.eventually(v.name+" loading the driver from state", func() bool {
			b, _ := os.ReadFile(v.proc.log)
			return strings.Contains(string(b), `module="state (height `)
		})
	}

	// The owner's user (its wallet is the chain account that grants), and
	// a credential sealed to the grantee's encryption key.
	url := n.gateway(0)
	inserter, err := userclient.Dial(ctx, url, ins, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := userclient.WalletProof(owner, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inserter.AddUser(ctx, proof); err != nil {
		t.Fatal(err)
	}
	d.secret = []byte("passport: chain grant e2e")
	var r *userclient.Receipt
	d.credID, r, err = inserter.AddCredential(ctx, userclient.NewCredential{UserID: proof.UserID, To: granteeKey.Encryption.Public, Plaintext: d.secret})
	if err != nil {
		t.Fatal(err)
	}
	n.lastTx = max(n.lastTx, r.Height)
	for _, v := range n.nodes {
		n.synced(v)
	}
	if d.grantee, err = userclient.Dial(ctx, n.gateway(1), granteeKey, "", nil); err != nil {
		t.Fatal(err)
	}
	if d.liar, err = userclient.Dial(ctx, n.gateway(1), liarKey, "", nil); err != nil {
		t.Fatal(err)
	}
	return d
}

// configure gives node v its own proxy to the chain as its endpoint in
// config/idos.json, and a short poll interval.
func (d *drvNet) configure(v *vsNode, fake common.Address) {
	d.t.Helper()
	p := newProxy(d.t, d.chain.URL, fake)
	d.proxies = append(d.proxies, p)
	h, err := home.Load(v.home)
	if err != nil {
		d.t.Fatal(err)
	}
	h.App.DriverEndpoints = map[string][]string{evmchain.CAIP2: {p.srv.URL}}
	h.App.DriverPollIntervalMS = int(drvPoll / time.Millisecond)
	b, _ := json.MarshalIndent(h.App, "", "  ")
	if err := os.WriteFile(filepath.Join(v.home, "config", home.AppConfigFile), b, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

func (n *vsNet) gateway(i int) string {
	_, _, gw := devnet.Addrs(n.base, i)
	return "http://" + gw
}

// read is c's read of the credential through the gateway: nil when it was
// served (and decrypts to the secret for the grantee), the gateway's error
// code otherwise.
func (d *drvNet) read(c *userclient.Client) error {
	cr, err := c.Credential(d.ctx, d.credID)
	if err != nil {
		return err
	}
	if c == d.grantee {
		pt, err := c.Decrypt(cr)
		if err != nil || !bytes.Equal(pt, d.secret) {
			d.t.Fatalf("the grantee read the credential but cannot open it: %q %v", pt, err)
		}
	}
	return nil
}

func forbidden(err error) bool { return gwclient.ErrorCode(err) == wire.ErrForbidden }

// status is node v's listener status for the chain.
func (d *drvNet) status(v *vsNode) listener.ChainStatus {
	st, err := listener.ReadStatus(filepath.Join(v.home, "data", runner.DriverCursorsDir))
	if err != nil || len(st.Chains) != 1 {
		return listener.ChainStatus{}
	}
	return st.Chains[0]
}

// polledTo waits until each node in vs has polled successfully since
// after with its cursor at the first block not final yet.
func (d *drvNet) polledTo(after time.Time, next uint64, vs ...*vsNode) {
	d.t.Helper()
	want := fmt.Sprintf(`{"next":%d}`, next)
	for _, v := range vs {
		// The first poll of a node waits for its driver to compile.
		deadline := time.Now().Add(90 * time.Second)
		for s := d.status(v); s.Cursor != want || !s.LastSuccess.After(after); s = d.status(v) {
			if time.Now().After(deadline) || d.ctx.Err() != nil || !v.proc.alive() {
				d.t.Fatalf("%s did not poll to %s: %+v\n%s", v.name, want, s, tail(v.proc.log))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// pending returns the open observations of kind on the chain's block.
func (d *drvNet) pending(v *vsNode, kind observation.Kind, block uint64) []drivers.Pending {
	l, _, err := v.vc.DriverPending(d.ctx, false)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []drivers.Pending
	for _, p := range l {
		if o := p.Observation; o != nil && o.Kind == kind && o.BlockNumber == block {
			out = append(out, p)
		}
	}
	return out
}

// obs is the observation an honest driver reports of the grant event in
// r, naming grantee.
func (d *drvNet) obs(kind observation.Kind, r *types.Receipt, grantee common.Address, lockedUntil int64) observation.Grant {
	return observation.Grant{Kind: kind, Chain: d.cfg.Chain, Contract: d.cfg.Contract,
		Owner: strings.ToLower(crypto.PubkeyToAddress(d.chain.Key.PublicKey).Hex()), Grantee: strings.ToLower(grantee.Hex()),
		DataID: d.credID, LockedUntil: fmt.Sprint(lockedUntil), BlockNumber: r.BlockNumber.Uint64(),
		BlockHash: strings.ToLower(r.BlockHash.Hex()), TxRef: fmt.Sprintf("%s:%d", strings.ToLower(r.TxHash.Hex()), r.Logs[0].Index)}
}

func digest(t *testing.T, g observation.Grant) string {
	b, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return drivers.Digest(b)
}

// proposal returns the observation proposal of digest as v sees it (nil:
// none, or expired and deleted).
func (d *drvNet) proposal(v *vsNode, digest string) *drivers.Pending {
	l, _, err := v.vc.DriverPending(d.ctx, true)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, p := range l {
		if p.Digest == digest {
			return &p
		}
	}
	return nil
}

// lightGrants runs `idoslight grants received` as the grantee, verified
// against headers from height 1 and unverified: both show the grant's
// chain origin, the block and log of the observation applied.
func (d *drvNet) lightGrants(id string, want observation.Grant) {
	d.t.Helper()
	bin, err := lightBinary()
	if err != nil {
		d.t.Fatal(err)
	}
	one := int64(1)
	commit, err := d.nodes[0].rpc.Commit(d.ctx, &one)
	if err != nil {
		d.t.Fatal(err)
	}
	tmp := d.t.TempDir()
	pass := filepath.Join(tmp, "pass")
	if err := os.WriteFile(pass, []byte("\n"), 0o600); err != nil {
		d.t.Fatal(err)
	}
	lh := filepath.Join(tmp, "light")
	run := func(args ...string) string {
		d.t.Helper()
		cmd := exec.CommandContext(d.ctx, bin, args...)
		cmd.Env = append(os.Environ(), "HOME="+tmp)
		out, err := cmd.Output()
		if err != nil {
			d.t.Fatalf("idoslight %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("init", "--home", lh, "--chain-id", vsChainID, "--primary", d.nodes[0].rpc.Remote(), "--witness", d.nodes[1].rpc.Remote(),
		"--trust-height", "1", "--trust-hash", hex.EncodeToString(commit.SignedHeader.Hash()), "--gateway", d.gateway(1))
	for _, mode := range []string{"--verify", "--no-verify"} {
		var got struct {
			Verified     bool `json:"verified"`
			ChainOrigins map[string]struct {
				BlockNumber uint64 `json:"block_number"`
				BlockHash   string `json:"block_hash"`
				TxRef       string `json:"tx_ref"`
				Height      int64  `json:"height"`
			} `json:"chain_origins"`
		}
		out := run("grants", "received", "--key", "grantee", "--keystore", d.keys, "--password-file", pass, "--home", lh, mode, "--json")
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			d.t.Fatalf("idoslight grants received %s: %v\n%s", mode, err, out)
		}
		o, ok := got.ChainOrigins[id]
		if got.Verified != (mode == "--verify") || !ok || o.BlockNumber != want.BlockNumber || o.BlockHash != want.BlockHash ||
			o.TxRef != want.TxRef || (o.Height > 0) != got.Verified {
			d.t.Errorf("idoslight grants received %s: %+v, want grant %s from block %d", mode, got, id, want.BlockNumber)
		}
	}
	out := run("grants", "received", "--key", "grantee", "--keystore", d.keys, "--password-file", pass, "--home", lh)
	if w := fmt.Sprintf("%s/%s (block %d %s, log %s)", want.Chain, want.Contract, want.BlockNumber, want.BlockHash, want.TxRef); !strings.Contains(out, w) {
		d.t.Errorf("idoslight grants received lacks %q:\n%s", w, out)
	}
}

// lightBinary builds cmd/idoslight once per test process (TestMain
// removes it if lightBuilt).
var lightBuilt atomic.Bool

var lightBinary = sync.OnceValues(func() (string, error) {
	lightBuilt.Store(true)
	dir, err := os.MkdirTemp("", "idoslight-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "idoslight")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/idos-network/idos-node/cmd/idoslight").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build idoslight: %w\n%s", err, out)
	}
	return bin, nil
})

// finish compares app hashes on every running node and checks no log
// reports a consensus failure.
func (d *drvNet) finish() {
	d.t.Helper()
	top := d.minHeight(d.running())
	d.waitHeight(d.running(), top+1)
	d.checkAppHashes()
	for _, v := range d.nodes {
		b, _ := os.ReadFile(v.proc.log)
		for _, bad := range []string{"wrong Block.Header.AppHash", "does not match AppHash", "CONSENSUS FAILURE"} {
			if bytes.Contains(b, []byte(bad)) {
				d.t.Errorf("%s logged %q:\n%s", v.name, bad, tail(v.proc.log))
			}
		}
	}
}

// TestChainGrantsEndToEnd: a grant made in the grant contract on a real
// EVM chain (go-ethereum's simulated backend over HTTP on loopback, its
// height driven by the test) reaches a 4-validator devnet of real
// processes that enabled the chain by proposal: not while its block is one
// confirmation short of the 3 the chain config asks, then, once final,
// through the validators' attestations, a real read of the credential by
// the grantee through the gateway. A deletion on chain ends the access; a
// locked grant cannot be deleted on chain (the contract reverts) and stays.
// All nodes agree on every app hash.
func TestChainGrantsEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	d := startDrvNet(t, ctx, 20)
	c := d.chain
	grantee := common.HexToAddress(d.grantee.Key.Identifier)
	t.Logf("devnet up, chain enabled by proposal, user and credential made after %s", time.Since(start).Round(time.Millisecond))
	if err := d.read(d.grantee); !forbidden(err) {
		t.Fatalf("the grantee's read before any grant: %v, want forbidden", err)
	}
	// A fifth node, not a validator, with an endpoint: it follows the
	// chain but neither polls nor attests.
	follower := d.joinNode(4, d.nodes[0], false)
	d.configure(follower, common.Address{})
	d.start(follower)
	d.waitCaughtUp(follower)
	vals := d.nodes[:4]

	// a. The grant's block B one confirmation short of finality (head
	// B+2): every listener has read up to B-1, nothing is pending, the
	// grantee is refused.
	txAt := time.Now()
	added := c.Call("insertGrant", grantee, d.credID, big.NewInt(0))
	b := added.BlockNumber.Uint64()
	c.Commit(drvConfirmations - 1)
	d.polledTo(time.Now(), b, vals...)
	if p := d.pending(d.nodes[0], observation.Added, b); len(p) != 0 {
		t.Fatalf("observations one block before finality: %+v", p)
	}
	if err := d.read(d.grantee); !forbidden(err) {
		t.Fatalf("the grantee's read one block before finality: %v, want forbidden", err)
	}
	t.Logf("a. grant in block %d not applied at head %d (one confirmation short)", b, c.Head())

	// b. One more block makes B final: the grant applies and the grantee
	// reads the credential. Agreement is measured from that block.
	c.Commit(1)
	finalAt, h0 := time.Now(), d.minHeight(vals)
	var err error
	d.eventually("the grantee's read after finality", func() bool {
		err = d.read(d.grantee)
		return err == nil
	})
	readAt, h1 := time.Now(), height(ctx, d.nodes[1].rpc)
	// The read was served at a height no node has passed yet; node1 and
	// node3, asked below, may still be a block behind it.
	top := int64(0)
	for _, v := range vals {
		top = max(top, height(ctx, v.rpc))
	}
	d.waitHeight([]*vsNode{d.nodes[1], d.nodes[3]}, top)
	honest := d.obs(observation.Added, added, grantee, 0)
	dec := d.proposal(d.nodes[1], digest(t, honest))
	if dec == nil || dec.Status != approval.StatusApproved {
		t.Fatalf("the honest observation's proposal: %+v", dec)
	}
	t.Logf("b. MEASURE grant tx → first read %s: finality wait %s (%d blocks mined by the test), agreement %s (%d idOS blocks, %d→%d; decided at %d)",
		readAt.Sub(txAt).Round(time.Millisecond), finalAt.Sub(txAt).Round(time.Millisecond), drvConfirmations,
		readAt.Sub(finalAt).Round(time.Millisecond), h1-h0, h0, h1, dec.Decided)
	// Its origin: the chain and contract in the grants table, the block
	// and log in the drivers module's record.
	gs, err := d.grantee.GrantsReceived(ctx)
	if err != nil || len(gs) != 1 || gs[0].Origin != drivers.Origin(d.cfg.Chain, d.cfg.Contract) || gs[0].DataID != d.credID {
		t.Fatalf("grants received %+v %v", gs, err)
	}
	d.synced(d.nodes[3])
	var origin drivers.GrantOrigin
	if err := json.Unmarshal([]byte(query(ctx, t, d.nodes[3].rpc, "/drivers.grant", fmt.Sprintf(`{"grant_id":%q}`, gs[0].ID))), &origin); err != nil ||
		origin.BlockNumber != int64(b) || origin.BlockHash != honest.BlockHash || origin.TxRef != honest.TxRef || origin.Digest != dec.Digest {
		t.Fatalf("drivers.grant %+v %v, want the block and log of %+v", origin, err, honest)
	}
	d.lightGrants(gs[0].ID, honest)
	out := d.cli(0, "driver", "status", "--home", d.nodes[2].home)
	if !strings.Contains(out, "1 endpoint(s); cursor {\"next\":") {
		t.Errorf("driver status --home:\n%s", out)
	}
	out = d.cli(0, "driver", "status", "--home", follower.home)
	if st := d.status(follower); !strings.Contains(st.Skip, "not a validator") || st.Cursor != "" || st.Attested != 0 ||
		!strings.Contains(out, "not a validator: only validators attest") {
		t.Errorf("the non-validator's listener: %+v\n%s", st, out)
	}

	// c. Deleted on chain: once final, the grantee is refused again.
	deleted := c.Call("deleteGrant", grantee, d.credID)
	c.Commit(drvConfirmations)
	d.eventually("the deletion applied", func() bool { return forbidden(d.read(d.grantee)) })
	t.Logf("c. deletion in block %d applied", deleted.BlockNumber)

	// d. A locked grant: the contract refuses its deletion, and the grant
	// applies with its lock.
	until := time.Now().Add(24 * time.Hour).Unix()
	c.Call("insertGrant", grantee, d.credID, big.NewInt(until))
	if r := c.Try("deleteGrant", grantee, d.credID); r.Status != types.ReceiptStatusFailed {
		t.Fatalf("deleting a locked grant on chain: status %d, want reverted", r.Status)
	}
	c.Commit(drvConfirmations)
	d.eventually("the locked grant applied", func() bool { return d.read(d.grantee) == nil })
	if gs, err := d.grantee.GrantsReceived(ctx); err != nil || len(gs) != 1 || gs[0].LockedUntil != until {
		t.Fatalf("locked grant %+v %v", gs, err)
	}
	t.Logf("d. locked grant applied, its deletion reverted on chain")

	// e. Latency at a steady external block time (1 s, mined by a
	// goroutine as a chain would): from the grant transaction to the
	// second grantee's first read, split at the block that makes it final.
	const blockTime = time.Second
	second := common.HexToAddress(d.liar.Key.Identifier)
	txAt = time.Now()
	added = c.Call("insertGrant", second, d.credID, big.NewInt(0))
	final := added.BlockNumber.Uint64() + drvConfirmations
	stop := make(chan struct{})
	finalCh, mined := make(chan time.Time, 1), make(chan struct{})
	go func() {
		defer close(mined)
		for {
			select {
			case <-stop:
				return
			case <-time.After(blockTime):
			}
			c.Backend.Commit()
			if n, err := c.Backend.Client().BlockNumber(context.Background()); err == nil && n == final {
				finalCh <- time.Now()
			}
		}
	}()
	d.eventually("the second grantee's read", func() bool { return d.read(d.liar) == nil })
	readAt = time.Now()
	close(stop)
	<-mined
	finalAt = <-finalCh
	t.Logf("e. MEASURE at %s external blocks, %d confirmations: grant tx → first read %s = finality wait %s + agreement %s",
		blockTime, drvConfirmations, readAt.Sub(txAt).Round(time.Millisecond), finalAt.Sub(txAt).Round(time.Millisecond),
		readAt.Sub(finalAt).Round(time.Millisecond))
	d.finish()
	t.Logf("done after %s at height %d", time.Since(start).Round(time.Millisecond), d.checked)
}

// TestChainGrantsUnderFaults: the same devnet and chain, with each
// validator's endpoint behind a proxy the test turns into a liar (it
// rewrites the grantee of every eth_getLogs log) or takes down. Four
// validators of power 10, threshold 2/3 of 40: an observation applies at
// 27 or more, i.e. with 3 identical reports.
//
//	a. one liar (v3): the honest 30 apply the grant; the liar's 10 never
//	   do, its observation expires and its grantee cannot read;
//	b. one endpoint down (v2): the other 30 apply the deletion;
//	c. two liars (v2, v3): honest 20 and lying 20, neither reaches 27;
//	   nothing applies and both observations expire.
//
// (One liar and one down at once would leave 20 honest, under 2/3, so the
// test takes the faults one at a time, then two liars.)
func TestChainGrantsUnderFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	const expiry = 20
	d := startDrvNet(t, ctx, expiry)
	c, v0, v2, v3 := d.chain, d.nodes[0], d.nodes[2], d.nodes[3]
	grantee, liar := common.HexToAddress(d.grantee.Key.Identifier), common.HexToAddress(d.liar.Key.Identifier)
	gone := func(what, dig string) {
		t.Helper()
		d.eventually(what+" expired", func() bool { return d.proposal(v0, dig) == nil })
	}
	approved := func(what, dig string) {
		t.Helper()
		d.eventually(what+" approved on v0", func() bool {
			p := d.proposal(v0, dig)
			return p != nil && p.Status == approval.StatusApproved
		})
	}
	open := func(what, dig string, power int64) {
		t.Helper()
		d.eventually(fmt.Sprintf("%s open with power %d", what, power), func() bool {
			p := d.proposal(v0, dig)
			if p != nil && p.Status != "pending" {
				t.Fatalf("%s decided: %+v", what, p)
			}
			return p != nil && p.AttestedPower == power
		})
	}

	// a. One liar.
	d.proxies[3].mode.Store(proxyLie)
	added := c.Call("insertGrant", grantee, d.credID, big.NewInt(0))
	c.Commit(drvConfirmations)
	d.eventually("the grant applied by the honest 3/4", func() bool { return d.read(d.grantee) == nil })
	// The read may have been served by a node ahead of v0: wait for v0.
	approved("the honest observation", digest(t, d.obs(observation.Added, added, grantee, 0)))
	lie := digest(t, d.obs(observation.Added, added, liar, 0))
	open("the liar's observation", lie, 10)
	gone("the liar's observation", lie)
	if err := d.read(d.liar); !forbidden(err) {
		t.Fatalf("the liar's grantee reads: %v", err)
	}
	t.Logf("a. one liar: grant applied, the lie expired after %s", time.Since(start).Round(time.Millisecond))

	// b. One endpoint down.
	d.proxies[3].mode.Store(proxyHonest)
	d.proxies[2].mode.Store(proxyDown)
	deleted := c.Call("deleteGrant", grantee, d.credID)
	c.Commit(drvConfirmations)
	d.eventually("the deletion applied by the other 3/4", func() bool { return forbidden(d.read(d.grantee)) })
	approved("the deletion", digest(t, d.obs(observation.Deleted, deleted, grantee, 0)))
	d.eventually("v2 reporting its endpoint error", func() bool { return strings.Contains(d.status(v2).LastError, "503") })
	if out := d.cli(0, "driver", "status", "--home", v2.home); !strings.Contains(out, "last error: ") {
		t.Errorf("driver status --home of the node whose endpoint is down:\n%s", out)
	}
	t.Logf("b. one endpoint down: deletion applied after %s", time.Since(start).Round(time.Millisecond))

	// c. Two liars: 20 against 20.
	d.proxies[2].mode.Store(proxyLie)
	d.proxies[3].mode.Store(proxyLie)
	added = c.Call("insertGrant", grantee, d.credID, big.NewInt(0))
	c.Commit(drvConfirmations)
	honest, lying := digest(t, d.obs(observation.Added, added, grantee, 0)), digest(t, d.obs(observation.Added, added, liar, 0))
	open("the honest observation", honest, 20)
	open("the lying observation", lying, 20)
	out := d.cli(0, "driver", "status", "--home", v0.home)
	if want := "power 20 of 40 by 2 validator(s)"; strings.Count(out, want) < 2 {
		t.Errorf("driver status: want two observations with %q:\n%s", want, out)
	}
	for _, r := range []*userclient.Client{d.grantee, d.liar} {
		if err := d.read(r); !forbidden(err) {
			t.Fatalf("a read with the network split 20/20: %v", err)
		}
	}
	gone("the honest observation", honest)
	gone("the lying observation", lying)
	d.synced(v3)
	for _, r := range []*userclient.Client{d.grantee, d.liar} {
		if err := d.read(r); !forbidden(err) {
			t.Fatalf("a read after both observations expired: %v", err)
		}
	}
	t.Logf("c. two liars: nothing applied, both expired after %s", time.Since(start).Round(time.Millisecond))
	d.finish()
	t.Logf("done after %s at height %d", time.Since(start).Round(time.Millisecond), d.checked)
}
