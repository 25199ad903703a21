package validators_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	v "github.com/idos-network/idos-node/node/module/validators"
)

const chain = "idos-val"

// net is an app driven block by block, with ed25519 keys numbered from 1.
type net struct {
	t      *testing.T
	a      *app.App
	height int64
	accs   map[int]*client.Account
}

func key(i int) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i)}, 32)) }

func id(i int) string { return hex.EncodeToString(key(i).Public().(ed25519.PublicKey)) }

// newNet starts a chain whose genesis validators are keys 1..n (power 10)
// and whose requests stay open for expiry blocks.
func newNet(t *testing.T, n int, expiry int64) *net {
	a, err := app.New(app.Config{Modules: composition.Modules(), DBPath: filepath.Join(t.TempDir(), "s.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	g := composition.DefaultGenesis()
	g.Validators.JoinExpiryBlocks = expiry
	state, _ := json.Marshal(g)
	var vals []abci.ValidatorUpdate
	for i := 1; i <= n; i++ {
		vals = append(vals, abci.Ed25519ValidatorUpdate(key(i).Public().(ed25519.PublicKey), 10))
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chain, AppStateBytes: state, Validators: vals}); err != nil {
		t.Fatal(err)
	}
	return &net{t: t, a: a, accs: map[int]*client.Account{}}
}

type call struct {
	from    int
	action  string
	payload any
	// wantErr is nil for success, else the sentinel whose result code
	// the transaction must get.
	wantErr error
}

// block runs one block of calls and returns its validator updates.
func (n *net) block(calls ...call) []abci.ValidatorUpdate {
	n.t.Helper()
	var txs [][]byte
	for _, c := range calls {
		acc, ok := n.accs[c.from]
		if !ok {
			acc = client.NewAccount(auth.NewEd25519Signer(key(c.from)), chain)
			n.accs[c.from] = acc
		}
		raw, err := acc.Build(c.action, c.payload)
		if err != nil {
			n.t.Fatal(err)
		}
		txs = append(txs, raw)
	}
	n.height++
	ctx := context.Background()
	res, err := n.a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: n.height, Txs: txs, Time: time.Unix(n.height, 0)})
	if err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		n.t.Fatal(err)
	}
	for i, r := range res.TxResults {
		c := calls[i]
		switch {
		case c.wantErr == nil && r.Code != app.CodeOK:
			n.t.Errorf("height %d: %s by %d failed: %s", n.height, c.action, c.from, r.Log)
		case c.wantErr != nil && r.Code != n.a.ResultCode(c.wantErr):
			n.t.Errorf("height %d: %s by %d: code %d %q, want %q", n.height, c.action, c.from, r.Code, r.Log, c.wantErr)
		}
	}
	return res.ValidatorUpdates
}

func (n *net) list() v.ListResult {
	n.t.Helper()
	res, err := n.a.Query(context.Background(), &abci.RequestQuery{Path: "/validators.list"})
	if err != nil || res.Code != app.CodeOK {
		n.t.Fatalf("list: %v %s", err, res.Log)
	}
	var l v.ListResult
	if err := json.Unmarshal(res.Value, &l); err != nil {
		n.t.Fatal(err)
	}
	return l
}

func (n *net) requests() []v.Request {
	n.t.Helper()
	res, err := n.a.Query(context.Background(), &abci.RequestQuery{Path: "/validators.requests", Data: []byte(`{"all":true}`)})
	if err != nil || res.Code != app.CodeOK {
		n.t.Fatalf("requests: %v %s", err, res.Log)
	}
	var r v.RequestsResult
	if err := json.Unmarshal(res.Value, &r); err != nil {
		n.t.Fatal(err)
	}
	return r.Requests
}

func wantUpdates(t *testing.T, got []abci.ValidatorUpdate, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d validator updates, want %d: %v", len(got), len(want), got)
	}
	for _, u := range got {
		k := hex.EncodeToString(u.PubKey.GetEd25519())
		if p, ok := want[k]; !ok || p != u.Power {
			t.Fatalf("update %s power %d not in %v", k, u.Power, want)
		}
	}
}

func join() call                     { return call{action: "validators.join", payload: v.JoinPayload{}} }
func approve(c int) v.ApprovePayload { return v.ApprovePayload{Candidate: id(c)} }

// A candidate joins with approvals of at least 2/3 of voting power: 2 of 4
// is not enough, the third approval admits it in that very block, and the
// power change goes to CometBFT.
func TestJoinNeedsTwoThirds(t *testing.T) {
	n := newNet(t, 4, 10)
	j := join()
	j.from = 5
	n.block(j)
	if u := n.block(call{from: 1, action: "validators.approve", payload: approve(5)},
		call{from: 2, action: "validators.approve", payload: approve(5)}); len(u) != 0 {
		t.Fatalf("20 of 40 power admitted the candidate: %v", u)
	}
	u := n.block(call{from: 3, action: "validators.approve", payload: approve(5)})
	wantUpdates(t, u, map[string]int64{id(5): 10})
	l := n.list()
	if len(l.Validators) != 5 || l.TotalPower != 50 {
		t.Fatalf("after join: %d validators, power %d", len(l.Validators), l.TotalPower)
	}
	r := n.requests()
	if len(r) != 1 || r[0].Status != v.StatusApproved || r[0].Decided != 3 {
		t.Fatalf("request after decision: %+v", r)
	}
	// Decided once: a late approval is refused; the candidate cannot ask again.
	n.block(call{from: 4, action: "validators.approve", payload: approve(5), wantErr: v.ErrDecided},
		call{from: 5, action: "validators.join", payload: v.JoinPayload{}, wantErr: v.ErrDuplicate})
}

// The rules, each with its clear rejection.
func TestRules(t *testing.T) {
	n := newNet(t, 4, 3)
	n.block(call{from: 6, action: "validators.join", payload: v.JoinPayload{}})
	n.block(
		call{from: 6, action: "validators.join", payload: v.JoinPayload{}, wantErr: v.ErrDuplicate},                        // duplicate request
		call{from: 7, action: "validators.approve", payload: approve(6), wantErr: v.ErrNotValidator},                       // approver not a validator
		call{from: 1, action: "validators.approve", payload: approve(6)},                                                   // fine
		call{from: 1, action: "validators.approve", payload: approve(6), wantErr: v.ErrDuplicate},                          // approves twice
		call{from: 1, action: "validators.approve", payload: approve(9), wantErr: v.ErrNoRequest},                          // nobody asked
		call{from: 1, action: "validators.remove", payload: v.RemovePayload{Validator: id(1)}, wantErr: v.ErrSelfApproval}, // own removal
		call{from: 2, action: "validators.remove", payload: v.RemovePayload{Validator: id(8)}, wantErr: v.ErrNotValidator}, // target not a validator
		call{from: 2, action: "validators.approve", payload: v.ApprovePayload{Candidate: "zz"}, wantErr: module.ErrInvalidPayload},
	)
	// Opened at height 1 with expiry 3: approvable at heights 1..3. At the
	// end of height 3 it expires; at height 4 approvals are refused.
	n.block()
	n.block(call{from: 2, action: "validators.approve", payload: approve(6), wantErr: v.ErrExpired})
	if r := n.requests(); len(r) != 1 || r[0].Status != v.StatusExpired || len(r[0].Approvals) != 0 {
		t.Fatalf("expired request: %+v", r)
	}
	if l := n.list(); len(l.Validators) != 4 {
		t.Fatalf("expired request changed the set: %+v", l.Validators)
	}
	// After expiry, the candidate may ask again.
	n.block(call{from: 6, action: "validators.join", payload: v.JoinPayload{}})
}

// A validator leaves; another is removed by 3 of 4; the last one cannot
// leave.
func TestLeaveRemoveLast(t *testing.T) {
	n := newNet(t, 4, 10)
	wantUpdates(t, n.block(call{from: 4, action: "validators.leave", payload: v.LeavePayload{}}), map[string]int64{id(4): 0})
	// 3 validators, 30 power: removing 3 needs 20, i.e. validators 1 and 2.
	rm := v.RemovePayload{Validator: id(3)}
	if u := n.block(call{from: 1, action: "validators.remove", payload: rm}); len(u) != 0 {
		t.Fatalf("10 of 30 removed a validator: %v", u)
	}
	wantUpdates(t, n.block(call{from: 2, action: "validators.remove", payload: rm}), map[string]int64{id(3): 0})
	n.block(call{from: 2, action: "validators.leave", payload: v.LeavePayload{}})
	n.block(call{from: 1, action: "validators.leave", payload: v.LeavePayload{}, wantErr: v.ErrLastValidator})
	if l := n.list(); len(l.Validators) != 1 || l.Validators[0].PubKey != id(1) {
		t.Fatalf("set: %+v", l.Validators)
	}
}

// A join and a leave in one block cancel out: CometBFT is never asked to
// remove a validator it does not know.
func TestJoinAndLeaveInOneBlock(t *testing.T) {
	n := newNet(t, 3, 10)
	n.block(call{from: 5, action: "validators.join", payload: v.JoinPayload{}})
	u := n.block(
		call{from: 1, action: "validators.approve", payload: approve(5)},
		call{from: 2, action: "validators.approve", payload: approve(5)},
		call{from: 5, action: "validators.leave", payload: v.LeavePayload{}},
	)
	if len(u) != 0 {
		t.Fatalf("updates %v, want none", u)
	}
}

// Approvals from validators that left no longer count, and a request that
// reaches the threshold because the set shrank is decided at the end of the
// block.
func TestThresholdFollowsTheSet(t *testing.T) {
	n := newNet(t, 4, 10)
	n.block(call{from: 5, action: "validators.join", payload: v.JoinPayload{}})
	n.block(call{from: 1, action: "validators.approve", payload: approve(5)},
		call{from: 2, action: "validators.approve", payload: approve(5)}) // 20 of 40
	u := n.block(call{from: 4, action: "validators.leave", payload: v.LeavePayload{}}) // 20 of 30 = 2/3
	wantUpdates(t, u, map[string]int64{id(4): 0, id(5): 10})
}
