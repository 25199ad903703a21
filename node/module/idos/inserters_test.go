package idos_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/idos"
)

// newValChain starts a chain whose validators are vals (power 10 each),
// with inserter proposals open for expiry blocks (0: the default) and the
// genesis inserters given.
func newValChain(t *testing.T, vals []*party, expiry int64, inserters ...string) *chainT {
	a, err := app.New(app.Config{Modules: composition.Modules(), DBPath: filepath.Join(t.TempDir(), "s.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	g := composition.DefaultGenesis()
	g.IDOS.Inserters = inserters
	if expiry != 0 {
		g.IDOS.InserterExpiryBlocks = expiry
	}
	state, _ := json.Marshal(g)
	var updates []abci.ValidatorUpdate
	for _, v := range vals {
		updates = append(updates, abci.Ed25519ValidatorUpdate(v.edPub(), 10))
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chain, AppStateBytes: state, Validators: updates}); err != nil {
		t.Fatal(err)
	}
	return &chainT{t: t, a: a, now: 1_800_000_000}
}

func (p *party) edPub() ed25519.PublicKey { return ed25519.PublicKey(p.acc.Signer.SignerID()) }

func validatorParties(n int) []*party {
	var vs []*party
	for i := range n {
		vs = append(vs, edParty(byte(100+i)))
	}
	return vs
}

func (c *chainT) query(path string, data string, v any) {
	c.t.Helper()
	res, err := c.a.Query(context.Background(), &abci.RequestQuery{Path: path, Data: []byte(data)})
	if err != nil || res.Code != app.CodeOK {
		c.t.Fatalf("%s: %v %s", path, err, res.Log)
	}
	if err := json.Unmarshal(res.Value, v); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chainT) inserters() []string {
	var r idos.InsertersResult
	c.query("/idos.inserters", "", &r)
	ids := []string{}
	for _, i := range r.Inserters {
		ids = append(ids, i.ID)
	}
	return ids
}

func (c *chainT) proposals() []idos.InserterProposal {
	var r idos.InserterProposalsResult
	c.query("/idos.inserter_proposals", `{"all":true}`, &r)
	return r.Proposals
}

func ins(by *party, action, account string, wantErr error) step {
	return step{by: by, action: "idos." + action + "_inserter", payload: idos.InserterPayload{Inserter: account}, wantErr: wantErr}
}

func newUser(t *testing.T, id string, w *party, walletID string) idos.AddUserPayload {
	return idos.AddUserPayload{UserID: id, EncryptionPublicKey: key32(1), Wallet: w.linkProof(t, walletID, id)}
}

const user2ID = "00000000-0000-4000-8000-000000000002"

// On a network with no inserter in genesis (what `idosnode init` makes),
// validators add one: 20 of 40 power is not enough, the approval that
// reaches 30 of 40 (≥ 2/3) adds it within its block, and the new inserter
// then creates a user and stores a credential for it.
func TestInserterAddedAtTwoThirds(t *testing.T) {
	v := validatorParties(4)
	c := newValChain(t, v, 10)
	issuer := ethParty(t, "8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63")
	alice := edParty(7)
	account := issuer.sender.AccountID()

	c.block(
		step{by: issuer, action: "idos.add_user", payload: newUser(t, userID, alice, wallet1), wantErr: idos.ErrUnauthorized},
		ins(v[0], "propose", account, nil),
	)
	c.block(ins(v[1], "approve", account, nil))
	if got := c.inserters(); len(got) != 0 {
		t.Fatalf("20 of 40 power added an inserter: %v", got)
	}
	c.block(step{by: issuer, action: "idos.add_user", payload: newUser(t, userID, alice, wallet1), wantErr: idos.ErrUnauthorized})
	decidedAt := c.height + 1
	c.block(ins(v[2], "approve", account, nil))
	if got := c.inserters(); !slices.Equal(got, []string{account}) {
		t.Fatalf("inserters after 30 of 40: %v", got)
	}
	ps := c.proposals()
	if len(ps) != 1 || ps[0].Kind != idos.KindAddInserter || ps[0].Status != approval.StatusApproved || ps[0].Decided != decidedAt ||
		ps[0].Proposer != v[0].sender.Identifier {
		t.Fatalf("proposal after decision: %+v", ps)
	}
	c.block(
		step{by: issuer, action: "idos.add_user", payload: newUser(t, userID, alice, wallet1)},
		step{by: issuer, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: credID, UserID: userID,
			IssuerAuthPublicKey: "issuer-key", EncryptorPublicKey: key32(2), Content: "Y2lwaGVydGV4dA=="}},
		// Decided once: a late approval and a second proposal are refused.
		ins(v[3], "approve", account, idos.ErrDecided),
		ins(v[3], "propose", account, idos.ErrDuplicate),
	)
	var u idos.User
	code, val := c.read(alice, "idos.get_user", struct{}{})
	if code != app.CodeOK {
		t.Fatalf("get_user: %d %s", code, val)
	}
	if err := json.Unmarshal([]byte(val), &u); err != nil || u.Inserter != account {
		t.Fatalf("user %s: inserter %q, want %q (%v)", val, u.Inserter, account, err)
	}
}

// Exactly 2/3 decides: with three validators, the proposer and one
// approval are 20 of 30.
func TestInserterExactlyTwoThirds(t *testing.T) {
	v := validatorParties(3)
	c := newValChain(t, v, 10)
	account := edParty(50).sender.AccountID()
	c.block(ins(v[0], "propose", account, nil))
	if got := c.inserters(); len(got) != 0 {
		t.Fatalf("10 of 30 power added an inserter: %v", got)
	}
	c.block(ins(v[1], "approve", account, nil))
	if got := c.inserters(); !slices.Equal(got, []string{account}) {
		t.Fatalf("inserters after 20 of 30: %v", got)
	}
}

// The rules, each with its refusal, and expiry: opened at height 1 with
// expiry 3, a proposal takes approvals at heights 1..3 and is closed as
// expired at the end of height 3; then it may be proposed again.
func TestInserterRules(t *testing.T) {
	v := validatorParties(4)
	c := newValChain(t, v, 3)
	outsider := edParty(60)
	eth := ethParty(t, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	target := edParty(61).sender.AccountID()
	c.block(
		ins(outsider, "propose", target, idos.ErrNotValidator),     // not a validator
		ins(eth, "propose", target, idos.ErrWrongScheme),           // not an ed25519 key
		ins(v[0], "approve", target, idos.ErrNoProposal),           // nothing proposed
		ins(v[0], "propose", "no-colon", module.ErrInvalidPayload), // not an account id
		ins(v[0], "remove", target, module.ErrNotFound),            // not an inserter
		ins(v[0], "propose", target, nil),
		ins(v[1], "propose", target, idos.ErrDuplicate), // open already
		ins(v[0], "approve", target, idos.ErrDuplicate), // the proposer approved by proposing
		ins(outsider, "approve", target, idos.ErrNotValidator),
	)
	c.block(ins(v[1], "approve", target, nil))
	c.block()
	c.block(ins(v[2], "approve", target, idos.ErrExpired))
	ps := c.proposals()
	if len(ps) != 1 || ps[0].Status != approval.StatusExpired || ps[0].Expires != 4 || len(ps[0].Approvals) != 0 {
		t.Fatalf("expired proposal: %+v", ps)
	}
	if got := c.inserters(); len(got) != 0 {
		t.Fatalf("an expired proposal added %v", got)
	}
	c.block(ins(v[2], "propose", target, nil))
	if ps := c.proposals(); len(ps) != 1 || ps[0].Status != approval.StatusPending || ps[0].Created != 5 {
		t.Fatalf("proposal opened again: %+v", ps)
	}
}

// Removal by the same threshold: the removed inserter and its delegate can
// no longer create users nor act for the users the inserter created; those
// users still act for themselves.
func TestInserterRemoved(t *testing.T) {
	v := validatorParties(3)
	issuer := edParty(20)
	delegate := edParty(21)
	alice := edParty(7)
	bob := edParty(8)
	account := issuer.sender.AccountID()
	c := newValChain(t, v, 10, account)
	c.block(
		step{by: issuer, action: "idos.add_delegate", payload: idos.DelegatePayload{Delegate: delegate.sender.AccountID()}},
		step{by: issuer, action: "idos.add_user", payload: newUser(t, userID, alice, wallet1)},
	)
	c.block(ins(v[0], "remove", account, nil))
	// 10 of 30: still an inserter, and its delegate acts for it.
	c.block(step{by: delegate, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: credID, UserID: userID,
		IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: "AA=="}})
	c.block(ins(v[1], "remove", account, nil))
	if got := c.inserters(); len(got) != 0 {
		t.Fatalf("inserters after removal: %v", got)
	}
	c.block(
		step{by: issuer, action: "idos.add_user", payload: newUser(t, user2ID, bob, wallet2), wantErr: idos.ErrUnauthorized},
		step{by: delegate, action: "idos.add_user", payload: newUser(t, user2ID, bob, wallet2), wantErr: idos.ErrUnauthorized},
		step{by: issuer, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: cred2ID, UserID: userID,
			IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: "AA=="}, wantErr: idos.ErrUnauthorized},
		step{by: delegate, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: cred2ID, UserID: userID,
			IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: "AA=="}, wantErr: idos.ErrUnauthorized},
		step{by: alice, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: cred2ID, UserID: userID,
			IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: "AA=="}},
		ins(v[2], "remove", account, module.ErrNotFound),
	)
	ps := c.proposals()
	if len(ps) != 1 || ps[0].Kind != idos.KindRemoveInserter || ps[0].Status != approval.StatusApproved {
		t.Fatalf("removal proposal: %+v", ps)
	}
	// Added again by approval, it creates users again.
	c.block(ins(v[0], "propose", account, nil), ins(v[1], "approve", account, nil))
	c.block(step{by: issuer, action: "idos.add_user", payload: newUser(t, user2ID, bob, wallet2)})
}
