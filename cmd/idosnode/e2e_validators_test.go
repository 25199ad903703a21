package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/validators"
	"github.com/idos-network/idos-node/node/valclient"
)

// Settings of the validator-set test network.
const (
	vsChainID       = "idos-valset"
	vsTimeoutCommit = 300 * time.Millisecond
	// vsExpiry must outlast a kill-and-restart inside an approval round
	// (step b) yet keep the wait for an expiry (step c) short.
	vsExpiry = 30
	// vsStall is the longest the chain may go without a new block: above
	// one round timeout (a dead validator's turn to propose), far below a
	// real stall.
	vsStall = 10 * time.Second
)

// vsNode is one node of the test network, validator or not.
type vsNode struct {
	name, home string
	rpc        *rpchttp.HTTP
	vc         *valclient.Client
	key        ed25519.PrivateKey
	id         string // validator id: hex of the ed25519 public key
	p2pID      string // node id, the peer CometBFT names
	addr       types.Address
	proc       *nodeProc // nil while not running
}

type vsNet struct {
	t     *testing.T
	ctx   context.Context
	bin   string
	dir   string
	base  int
	nodes []*vsNode
	// checked is the last height whose app hashes were compared.
	checked int64
	// lastTx is the height of the latest transaction; a node answers
	// queries about it once its application has committed that height.
	lastTx int64
	// appState, if set, replaces vsAppState in the genesis.
	appState json.RawMessage
}

// TestValidatorSetByApproval runs the validator-set lifecycle on real node
// processes: a node joins through `init --join` and approvals, a validator
// is killed and restarted inside an approval round, an under-approved
// request expires, a validator leaves and another is removed. Throughout,
// the chain keeps producing blocks and all running nodes agree on every
// app hash.
func TestValidatorSetByApproval(t *testing.T) {
	bin := testnet.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	n := startVsNet(t, ctx, bin, 7)
	stalls := n.watchHeights()
	t.Logf("4 validators up after %s", time.Since(start).Round(time.Millisecond))
	v0, v1, v2, v3 := n.nodes[0], n.nodes[1], n.nodes[2], n.nodes[3]

	// a. A fifth node joins: init --join, sync, join; 3 of 4 approve
	// (30 of 40 >= 2/3).
	step := time.Now()
	n4 := n.joinNode(4, v1, true)
	n.cli(0, "validators", "join", "--home", n4.home) // through its own node
	n.cli(0, "validators", "approve", "--home", v0.home, n4.id)
	n.approve(v1, n4)
	n.expectPending(valclient.KindJoin, n4, 2)
	n.approve(v2, n4)
	n.expectValidators(v0, v1, v2, v3, n4)
	n.waitSigns(n4)
	n.checkAppHashes()
	t.Logf("a. node4 joined and signs blocks after %s", time.Since(step).Round(time.Millisecond))

	// b. A sixth node joins; 5 validators, so 4 approvals are needed
	// (40 of 50; 30 is short). v3 is killed after the first approval and
	// restarted; 4 of 5 online keeps 80% of power. After it catches up it
	// must show the same approvals, and it casts the deciding one.
	step = time.Now()
	n5 := n.joinNode(5, v2, true)
	res, err := n5.vc.Join(ctx, n5.key)
	if err != nil {
		t.Fatalf("node5 join: %v", err)
	}
	n.lastTx = res.Height
	n.approve(v0, n5)
	v3.proc.kill(syscall.SIGKILL)
	v3.proc = nil
	n.approve(v1, n5)
	n.approve(v2, n5)
	n.start(v3)
	n.waitCaughtUp(v3)
	want := n.expectPending(valclient.KindJoin, n5, 3)
	if got := n.request(v3, valclient.KindJoin, n5.id); !slices.Equal(got.Approvals, want.Approvals) || got.ApprovedPower != 30 {
		t.Fatalf("restarted v3 sees approvals %v (power %d), v0 sees %v", got.Approvals, got.ApprovedPower, want.Approvals)
	}
	t.Logf("validators list during the round, v3 restarted:\n%s", n.cli(0, "validators", "list", "--home", v3.home))
	n.approve(v3, n5)
	n.expectValidators(v0, v1, v2, v3, n4, n5)
	if r := n.request(v0, valclient.KindJoin, n5.id); r.Status != valclient.StatusApproved {
		t.Errorf("node5's request is %q, want approved", r.Status)
	} else {
		t.Logf("node5's request: created %d, decided %d, expiry %d", r.Created, r.Decided, r.Expires)
	}
	n.waitSigns(n5)
	n.checkAppHashes()
	t.Logf("b. node5 joined across a kill and restart of v3 after %s", time.Since(step).Round(time.Millisecond))

	// c. A seventh node's join gets 1 of the 4 approvals it needs (6
	// validators, 40 of 60) and expires; a later approval is refused with
	// the node's message. The node never runs: a join needs only its key.
	step = time.Now()
	n6 := n.joinNode(6, v0, false)
	n.cli(0, "validators", "join", "--home", n6.home, "--node", v0.rpc.Remote())
	n.approve(v0, n6)
	req := n.expectPending(valclient.KindJoin, n6, 1)
	n.waitHeight(n.running(), req.Expires)
	out := n.cli(1, "validators", "approve", "--home", v1.home, n6.id)
	if want := fmt.Sprintf("result  rejected (code %d)\n", module.CodeExpired); !strings.Contains(out, want) {
		t.Errorf("approving an expired request: want %q, got:\n%s", want, out)
	}
	_, err = v2.vc.Approve(ctx, v2.key, n6.id)
	if !errors.Is(err, validators.ErrExpired) {
		t.Errorf("late approval via the package: %v, want a rejection with the code of validators.ErrExpired", err)
	}
	if got := n.request(v0, valclient.KindJoin, n6.id); got.Status != valclient.StatusExpired {
		t.Errorf("node6's request is %q, want expired", got.Status)
	}
	n.expectValidators(v0, v1, v2, v3, n4, n5)
	n.checkAppHashes()
	t.Logf("c. node6's under-approved join expired at %d after %s", req.Expires, time.Since(step).Round(time.Millisecond))

	// d. node5 leaves (6 -> 5 validators); then v0..v3 remove node4: with 5
	// validators 4 approvals are needed (40 of 50), and the target cannot
	// vote on its own removal, so 3 leave it pending.
	step = time.Now()
	n.cli(0, "validators", "leave", "--home", n5.home)
	n.expectValidators(v0, v1, v2, v3, n4)
	n.cli(0, "validators", "remove", "--home", v0.home, n4.id)
	n.remove(v1, n4)
	n.remove(v2, n4)
	n.expectPending(valclient.KindRemove, n4, 3)
	n.remove(v3, n4)
	n.expectValidators(v0, v1, v2, v3)
	n.checkAppHashes()
	t.Logf("validators requests --all:\n%s", n.cli(0, "validators", "requests", "--all", "--node", v0.rpc.Remote()))
	t.Logf("d. node5 left and node4 was removed after %s", time.Since(step).Round(time.Millisecond))

	// e. Final agreement: every running node (validators and the two that
	// left the set) on every height, and no stall at any point.
	top := n.minHeight(n.running())
	n.waitHeight(n.running(), top+1)
	n.checkAppHashes()
	if err := stalls(); err != nil {
		t.Error(err)
	}
	for _, v := range n.running() {
		b, _ := os.ReadFile(v.proc.log)
		for _, bad := range []string{"wrong Block.Header.AppHash", "does not match AppHash", "CONSENSUS FAILURE"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s logged %q:\n%s", v.name, bad, tail(v.proc.log))
			}
		}
	}
	t.Logf("done after %s at height %d", time.Since(start).Round(time.Millisecond), n.checked)
}

// startVsNet creates a devnet of 4 validators in a port range for nodes
// nodes, starts them and waits for height 2.
func startVsNet(t *testing.T, ctx context.Context, bin string, nodes int) *vsNet {
	t.Helper()
	return startVsNetWith(t, ctx, bin, nodes, nil)
}

// startVsNetWith is startVsNet with the genesis app_state appState (nil:
// vsAppState).
func startVsNetWith(t *testing.T, ctx context.Context, bin string, nodes int, appState json.RawMessage) *vsNet {
	t.Helper()
	n := &vsNet{t: t, ctx: ctx, bin: bin, dir: filepath.Join(t.TempDir(), "net"), base: testnet.DevnetPorts(t, nodes), appState: appState}
	n.create(4)
	for _, v := range n.nodes {
		n.start(v)
	}
	n.waitHeight(n.nodes, 2)
	return n
}

// create makes a devnet of k validators whose requests expire after
// vsExpiry blocks; its port range leaves room for three more nodes.
func (n *vsNet) create(k int) {
	n.t.Helper()
	state := n.appState
	if state == nil {
		state = vsAppState(n.t)
	}
	m, err := devnet.Create(devnet.Config{
		Dir: n.dir, Validators: k, BasePort: n.base, ChainID: vsChainID,
		TimeoutCommit: vsTimeoutCommit, AppState: state,
	})
	if err != nil {
		n.t.Fatal(err)
	}
	for _, node := range m.Nodes {
		n.nodes = append(n.nodes, n.load(node.Name, node.RPCURL()))
	}
}

// vsAppState is the default app_state with a short request expiry.
func vsAppState(t *testing.T) json.RawMessage { return vsAppStateExpiry(t, vsExpiry) }

// vsAppStateExpiry is the default app_state with requests expiring after
// vsExpiry blocks.
func vsAppStateExpiry(t *testing.T, vsExpiry int64) json.RawMessage {
	var state map[string]json.RawMessage
	if err := json.Unmarshal(composition.DefaultGenesisState(), &state); err != nil {
		t.Fatal(err)
	}
	state["validators"] = json.RawMessage(fmt.Sprintf(
		`{"join_expiry_blocks":%d,"approval_threshold":{"numerator":2,"denominator":3},"new_validator_power":10}`, vsExpiry))
	b, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// load reads a node's keys and connects a client to its RPC.
func (n *vsNet) load(name, rpcURL string) *vsNode {
	n.t.Helper()
	dir := filepath.Join(n.dir, name)
	h, err := home.Load(dir)
	if err != nil {
		n.t.Fatal(err)
	}
	key, err := valclient.HomeKey(h)
	if err != nil {
		n.t.Fatal(err)
	}
	id, err := home.ReadIdentity(dir)
	if err != nil {
		n.t.Fatal(err)
	}
	rpc, err := rpchttp.New(rpcURL, "/websocket")
	if err != nil {
		n.t.Fatal(err)
	}
	return &vsNode{
		name: name, home: dir, rpc: rpc, vc: valclient.New(rpc, vsChainID),
		key: key, id: valclient.ValidatorID(key), p2pID: string(id.NodeID), addr: id.ValidatorAddress,
	}
}

func (n *vsNet) start(v *vsNode) { v.proc = startNode(n.t, n.bin, v.home) }

// joinNode creates node i with `init --join` against peer and, if run,
// starts it and waits until it has caught up with the chain.
func (n *vsNet) joinNode(i int, peer *vsNode, run bool) *vsNode {
	n.t.Helper()
	name := fmt.Sprintf("node%d", i)
	p2p, rpcAddr, gw := devnet.Addrs(n.base, i)
	out := n.cli(0, "init", "--home", filepath.Join(n.dir, name), "--join", peer.rpc.Remote(),
		"--p2p-laddr", p2p, "--rpc-laddr", rpcAddr, "--gateway-laddr", gw, "--timeout-commit", vsTimeoutCommit.String())
	v := n.load(name, "http://"+rpcAddr)
	for _, want := range []string{v.id, "validators join --home"} {
		if !strings.Contains(out, want) {
			n.t.Errorf("init --join output lacks %q:\n%s", want, out)
		}
	}
	want, _ := os.ReadFile(filepath.Join(n.nodes[0].home, "config", "genesis.json"))
	if got, _ := os.ReadFile(filepath.Join(v.home, "config", "genesis.json")); !bytes.Equal(got, want) {
		n.t.Fatalf("%s: genesis differs from the network's", name)
	}
	n.nodes = append(n.nodes, v)
	if run {
		n.start(v)
		n.waitCaughtUp(v)
	}
	return v
}

// cli runs the binary and fails unless it exits with code; it returns the
// combined output.
func (n *vsNet) cli(code int, args ...string) string {
	n.t.Helper()
	out, got := testnet.Command(n.t, n.bin, args...)
	if got != code {
		n.t.Fatalf("idosnode %s: exit %d, want %d\n%s", strings.Join(args, " "), got, code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		var h int64
		if _, err := fmt.Sscanf(line, "height  %d", &h); err == nil {
			n.lastTx = max(n.lastTx, h)
		}
	}
	return out
}

// synced waits until v's application has committed the latest
// transaction's block: broadcast_tx_commit returns when the node it was
// sent to commits, and other nodes may be a moment behind.
func (n *vsNet) synced(v *vsNode) {
	n.t.Helper()
	n.eventually(fmt.Sprintf("%s committing height %d", v.name, n.lastTx), func() bool {
		set, err := v.vc.List(n.ctx)
		return err == nil && set.Height >= n.lastTx
	})
}

func (n *vsNet) approve(by, candidate *vsNode) {
	n.t.Helper()
	res, err := by.vc.Approve(n.ctx, by.key, candidate.id)
	if err != nil {
		n.t.Fatalf("%s approves %s: %v", by.name, candidate.name, err)
	}
	n.lastTx = max(n.lastTx, res.Height)
}

func (n *vsNet) remove(by, target *vsNode) {
	n.t.Helper()
	res, err := by.vc.Remove(n.ctx, by.key, target.id)
	if err != nil {
		n.t.Fatalf("%s votes to remove %s: %v", by.name, target.name, err)
	}
	n.lastTx = max(n.lastTx, res.Height)
}

// request returns the latest request of kind for target as node v sees it.
func (n *vsNet) request(v *vsNode, kind, target string) valclient.Request {
	n.t.Helper()
	n.synced(v)
	reqs, err := v.vc.Requests(n.ctx, true)
	if err != nil {
		n.t.Fatalf("%s requests: %v", v.name, err)
	}
	for _, r := range reqs {
		if r.Kind == kind && r.Target == target {
			return r
		}
	}
	n.t.Fatalf("%s has no %s request for %s: %+v", v.name, kind, target, reqs)
	return valclient.Request{}
}

// expectPending asserts that the request is still pending with approvals
// from exactly k validators, as node0 sees it.
func (n *vsNet) expectPending(kind string, target *vsNode, k int) valclient.Request {
	n.t.Helper()
	r := n.request(n.nodes[0], kind, target.id)
	if r.Status != valclient.StatusPending || len(r.Approvals) != k {
		n.t.Fatalf("%s request for %s: status %s with %d approvals, want pending with %d: %+v", kind, target.name, r.Status, len(r.Approvals), k, r)
	}
	return r
}

// expectValidators asserts that the application's set (through the CLI)
// is exactly vals, then waits until CometBFT's set on every running node
// is too: the update takes effect two blocks after the decision.
func (n *vsNet) expectValidators(vals ...*vsNode) {
	n.t.Helper()
	var want []string
	for _, v := range vals {
		want = append(want, v.id)
	}
	slices.Sort(want)
	n.synced(n.nodes[0])
	var view listView
	out := n.cli(0, "validators", "list", "--json", "--home", n.nodes[0].home)
	if err := json.Unmarshal([]byte(out), &view); err != nil {
		n.t.Fatalf("validators list --json: %v\n%s", err, out)
	}
	var got []string
	for _, v := range view.Validators {
		got = append(got, v.PubKey)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || view.TotalPower != int64(10*len(vals)) {
		n.t.Fatalf("application validators %v (power %d), want %v", got, view.TotalPower, want)
	}
	for _, v := range n.running() {
		n.eventually(fmt.Sprintf("CometBFT validators on %s", v.name), func() bool {
			set, err := v.vc.ConsensusValidators(n.ctx, nil)
			if err != nil {
				return false
			}
			var ids []string
			for _, c := range set.Validators {
				ids = append(ids, c.PubKey)
			}
			return slices.Equal(ids, want)
		})
	}
}

// waitSigns waits for a block whose last commit carries v's signature.
func (n *vsNet) waitSigns(v *vsNode) {
	n.t.Helper()
	c := n.nodes[0].rpc
	n.eventually(v.name+" signing a block", func() bool {
		b, err := c.Block(n.ctx, nil)
		if err != nil || b.Block.LastCommit == nil {
			return false
		}
		for _, s := range b.Block.LastCommit.Signatures {
			if s.BlockIDFlag == types.BlockIDFlagCommit && bytes.Equal(s.ValidatorAddress, v.addr) {
				return true
			}
		}
		return false
	})
}

// waitCaughtUp waits until v has block-synced to node0's height.
func (n *vsNet) waitCaughtUp(v *vsNode) {
	n.t.Helper()
	n.eventually(v.name+" catching up", func() bool {
		st, err := v.rpc.Status(n.ctx)
		return err == nil && !st.SyncInfo.CatchingUp && st.SyncInfo.LatestBlockHeight >= height(n.ctx, n.nodes[0].rpc)-1
	})
}

func (n *vsNet) waitHeight(nodes []*vsNode, min int64) {
	n.t.Helper()
	n.eventually(fmt.Sprintf("height %d", min), func() bool { return n.minHeight(nodes) >= min })
}

func (n *vsNet) minHeight(nodes []*vsNode) int64 {
	lo := int64(-1)
	for _, v := range nodes {
		if h := height(n.ctx, v.rpc); lo < 0 || h < lo {
			lo = h
		}
	}
	return lo
}

func (n *vsNet) running() []*vsNode {
	var out []*vsNode
	for _, v := range n.nodes {
		if v.proc != nil {
			out = append(out, v)
		}
	}
	return out
}

// eventually polls cond until it holds, failing the test after 30 s or if
// a node process died.
func (n *vsNet) eventually(what string, cond func() bool) {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		for _, v := range n.running() {
			if !v.proc.alive() {
				n.t.Fatalf("%s exited; log %s:\n%s", v.name, v.proc.log, tail(v.proc.log))
			}
		}
		if time.Now().After(deadline) || n.ctx.Err() != nil {
			n.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkAppHashes compares header app hashes of all running nodes from the
// last checked height up to the lowest height they all have.
func (n *vsNet) checkAppHashes() {
	n.t.Helper()
	nodes := n.running()
	top := n.minHeight(nodes)
	var cs []*rpchttp.HTTP
	for _, v := range nodes {
		cs = append(cs, v.rpc)
	}
	sameAppHashes(n.ctx, n.t, cs, n.checked+1, top)
	n.checked = max(n.checked, top)
}

// watchHeights polls node0, which is never stopped, until the test ends;
// the returned function reports whether the chain went longer than
// vsStall without a new block.
func (n *vsNet) watchHeights() func() error {
	var mu sync.Mutex
	var worst time.Duration
	var worstAt int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		last, since := int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			h := height(n.ctx, n.nodes[0].rpc)
			mu.Lock()
			if h > last {
				last, since = h, time.Now()
			} else if gap := time.Since(since); gap > worst {
				worst, worstAt = gap, last
			}
			mu.Unlock()
		}
	}()
	n.t.Cleanup(func() { close(done); <-stopped })
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		n.t.Logf("longest wait for a block: %s (after height %d)", worst.Round(time.Millisecond), worstAt)
		if worst > vsStall {
			return fmt.Errorf("chain stalled for %s after height %d", worst.Round(time.Millisecond), worstAt)
		}
		return nil
	}
}
