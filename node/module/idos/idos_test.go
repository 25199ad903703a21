package idos_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/wire"
)

const chain = "idos-dm"

type party struct {
	acc    *client.Account
	sender module.Sender
}

func edParty(seed byte) *party {
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
	id := hex.EncodeToString(k.Public().(ed25519.PublicKey))
	return &party{client.NewAccount(auth.NewEd25519Signer(k), chain), module.Sender{Scheme: "ed25519", Identifier: id}}
}

func ethParty(t *testing.T, hexKey string) *party {
	k, err := crypto.HexToECDSA(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(k.PublicKey).Hex()
	return &party{client.NewAccount(auth.NewEIP191Signer(k), chain), module.Sender{Scheme: "eip191", Identifier: addr}}
}

// linkProof is the wallet input with a real ownership signature.
func (p *party) linkProof(t *testing.T, walletID, userID string) idos.WalletInput {
	msg := wire.LinkMessage(userID, p.sender.Scheme, p.sender.Identifier)
	sig, err := p.acc.Signer.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return idos.WalletInput{WalletID: walletID, WalletType: p.sender.Scheme, Address: p.sender.Identifier,
		Message: msg, Signature: hex.EncodeToString(sig)}
}

type chainT struct {
	t      *testing.T
	a      *app.App
	height int64
	now    int64
}

func newChain(t *testing.T, inserters ...string) *chainT {
	return newValChain(t, nil, 0, inserters...)
}

type step struct {
	by      *party
	action  string
	payload any
	wantErr error  // nil: must succeed; else the result code must be this error's
	wantLog string // with wantErr: the refusal's message contains it
}

func (c *chainT) block(steps ...step) {
	c.t.Helper()
	var txs [][]byte
	for _, s := range steps {
		raw, err := s.by.acc.Build(s.action, s.payload)
		if err != nil {
			c.t.Fatal(err)
		}
		txs = append(txs, raw)
	}
	c.height++
	c.now += 10
	ctx := context.Background()
	res, err := c.a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: c.height, Txs: txs, Time: time.Unix(c.now, 0)})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		c.t.Fatal(err)
	}
	for i, r := range res.TxResults {
		s := steps[i]
		switch {
		case s.wantErr == nil && r.Code != app.CodeOK:
			c.t.Errorf("height %d: %s: %s", c.height, s.action, r.Log)
		case s.wantErr != nil && r.Code != c.a.ResultCode(s.wantErr):
			c.t.Errorf("height %d: %s: code %d %q, want error %q", c.height, s.action, r.Code, r.Log, s.wantErr)
		case s.wantErr != nil && !strings.Contains(r.Log, s.wantLog):
			c.t.Errorf("height %d: %s: message %q, want it to say %q", c.height, s.action, r.Log, s.wantLog)
		}
	}
}

// read runs a private query and returns its code and value.
func (c *chainT) read(by *party, name string, data any) (uint32, string) {
	c.t.Helper()
	b, _ := json.Marshal(data)
	res, err := c.a.PrivateQuery(context.Background(), name, by.sender, b, false)
	if err != nil {
		c.t.Fatal(err)
	}
	return res.Code, string(res.Value)
}

func key32(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

const (
	userID   = "00000000-0000-4000-8000-000000000001"
	wallet1  = "00000000-0000-4000-8000-0000000000a1"
	wallet2  = "00000000-0000-4000-8000-0000000000a2"
	credID   = "00000000-0000-4000-8000-0000000000c1"
	cred2ID  = "00000000-0000-4000-8000-0000000000c2"
	copyID   = "00000000-0000-4000-8000-0000000000d1"
	copy2ID  = "00000000-0000-4000-8000-0000000000d2"
	grantID  = "00000000-0000-4000-8000-0000000000e1"
	grant2ID = "00000000-0000-4000-8000-0000000000e2"
)

// The user story of the issue: an issuer creates a user and stores an
// encrypted credential; the user links a second wallet on another chain,
// reads the data back, shares it with a consumer under a lock; a stranger is
// refused; the locked credential cannot be removed; once unlocked, revoking
// and removing delete the rows for real.
func TestUserStory(t *testing.T) {
	issuer := ethParty(t, "8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63")
	userEth := ethParty(t, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	userEd := edParty(7)
	consumer := edParty(8)
	stranger := edParty(9)
	c := newChain(t, issuer.sender.AccountID())

	c.block(
		step{by: stranger, action: "idos.add_user", payload: idos.AddUserPayload{UserID: userID, EncryptionPublicKey: key32(1),
			Wallet: userEth.linkProof(t, wallet1, userID)}, wantErr: idos.ErrUnauthorized},
		step{by: issuer, action: "idos.add_user", payload: idos.AddUserPayload{UserID: userID, EncryptionPublicKey: key32(1),
			Wallet: userEth.linkProof(t, wallet1, userID)}},
		step{by: issuer, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: credID, UserID: userID,
			IssuerAuthPublicKey: "issuer-key", EncryptorPublicKey: key32(2), Content: "Y2lwaGVydGV4dA==", PublicNotes: `{"type":"kyc"}`}},
	)
	// The user links an ed25519 wallet with a proof signed by that wallet;
	// a proof for another user is refused.
	bad := userEd.linkProof(t, wallet2, "00000000-0000-4000-8000-00000000ffff")
	c.block(
		step{by: userEth, action: "idos.add_wallet", payload: idos.AddWalletPayload{UserID: userID, Wallet: bad}, wantErr: module.ErrInvalidPayload},
		step{by: userEth, action: "idos.add_wallet", payload: idos.AddWalletPayload{UserID: userID, Wallet: userEd.linkProof(t, wallet2, userID)}},
		step{by: stranger, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: cred2ID, UserID: userID,
			IssuerAuthPublicKey: "x", EncryptorPublicKey: key32(2), Content: "AA=="}, wantErr: idos.ErrUnauthorized},
	)
	// Both wallets read the same user and credential.
	for _, w := range []*party{userEth, userEd} {
		if code, v := c.read(w, "idos.get_credentials", struct{}{}); code != app.CodeOK || !strings.Contains(v, credID) {
			t.Fatalf("get_credentials by %s: %d %s", w.sender.AccountID(), code, v)
		}
		if code, v := c.read(w, "idos.get_wallets", struct{}{}); code != app.CodeOK || strings.Count(v, "wallet_id") != 2 {
			t.Fatalf("get_wallets: %d %s", code, v)
		}
	}
	if code, _ := c.read(stranger, "idos.get_user", struct{}{}); code != app.CodeActionFailed {
		t.Fatalf("stranger get_user: code %d", code)
	}

	// Share with the consumer, locked for 100 s.
	lock := c.now + 100
	c.block(step{by: userEd, action: "idos.share_credential", payload: idos.ShareCredentialPayload{
		CredentialID: credID, CopyID: copyID, EncryptorPublicKey: key32(3), Content: "Y29weQ==", ContentHash: "h",
		GrantID: grantID, Grantee: consumer.sender.AccountID(), LockedUntil: lock}})
	if code, v := c.read(consumer, "idos.get_credential", idos.GetCredentialRequest{CredentialID: copyID}); code != app.CodeOK || !strings.Contains(v, `"original_id":"`+credID) {
		t.Fatalf("grantee read: %d %s", code, v)
	}
	if code, _ := c.read(stranger, "idos.get_credential", idos.GetCredentialRequest{CredentialID: copyID}); code != app.CodeForbidden {
		t.Fatalf("stranger read of the copy: code %d, want forbidden", code)
	}
	if code, v := c.read(consumer, "idos.get_grants_received", struct{}{}); code != app.CodeOK || !strings.Contains(v, grantID) {
		t.Fatalf("grants received: %d %s", code, v)
	}
	// Locked: neither revoke nor remove; the refusal gives the lock's end
	// as a date people read, not Unix seconds alone.
	until := time.Unix(lock, 0).UTC().Format(time.RFC3339)
	c.block(
		step{by: userEth, action: "idos.revoke_grant", payload: idos.RevokeGrantPayload{GrantID: grantID}, wantErr: idos.ErrLocked,
			wantLog: "locked until " + until},
		step{by: userEth, action: "idos.remove_credential", payload: idos.RemoveCredentialPayload{CredentialID: credID}, wantErr: idos.ErrLocked,
			wantLog: "until " + until},
		step{by: consumer, action: "idos.revoke_grant", payload: idos.RevokeGrantPayload{GrantID: grantID}, wantErr: idos.ErrUnauthorized},
	)
	// Time passes beyond the lock (block time, not the wall clock).
	c.now = lock
	c.block(step{by: userEth, action: "idos.revoke_grant", payload: idos.RevokeGrantPayload{GrantID: grantID}})
	if code, _ := c.read(consumer, "idos.get_credential", idos.GetCredentialRequest{CredentialID: copyID}); code != app.CodeActionFailed {
		t.Fatalf("revoked grantee read: code %d, want not found (copy deleted)", code)
	}
	// A second, unlocked share; removing the original deletes the copy and
	// grant with it, and the rows are gone from state.
	c.block(step{by: userEth, action: "idos.share_credential", payload: idos.ShareCredentialPayload{
		CredentialID: credID, CopyID: copy2ID, EncryptorPublicKey: key32(3), Content: "Y29weQ==", GrantID: grant2ID,
		Grantee: consumer.sender.AccountID()}})
	c.block(step{by: userEd, action: "idos.remove_credential", payload: idos.RemoveCredentialPayload{CredentialID: credID}})
	if code, v := c.read(userEth, "idos.get_credentials", struct{}{}); code != app.CodeOK || v != "[]" {
		t.Fatalf("after removal: %d %s", code, v)
	}
	if code, v := c.read(consumer, "idos.get_grants_received", struct{}{}); code != app.CodeOK || v != "[]" {
		t.Fatalf("grants after removal: %d %s", code, v)
	}
}

// Malformed payloads are refused with ErrInvalidPayload and change nothing.
func TestPayloadValidation(t *testing.T) {
	issuer := edParty(1)
	c := newChain(t, issuer.sender.AccountID())
	u := edParty(2)
	for _, p := range []any{
		json.RawMessage(`{"user_id":"not-a-uuid","encryption_public_key":"` + key32(1) + `"}`),
		json.RawMessage(`{"user_id":"` + userID + `","encryption_public_key":"short"}`),
		json.RawMessage(`{"user_id":"` + userID + `","encryption_public_key":"` + key32(1) + `","extra":true}`),
		json.RawMessage(`{"user_id":7}`),
	} {
		c.block(step{by: issuer, action: "idos.add_user", payload: p, wantErr: module.ErrInvalidPayload})
	}
	c.block(step{by: issuer, action: "idos.add_user", payload: idos.AddUserPayload{UserID: userID, EncryptionPublicKey: key32(1),
		Wallet: u.linkProof(t, wallet1, userID)}})
	c.block(step{by: u, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: credID, UserID: userID,
		IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: strings.Repeat("A", idos.MaxContentBytes+4)}, wantErr: module.ErrInvalidPayload})
	// Delegates act for their inserter; others do not.
	d := edParty(3)
	c.block(step{by: issuer, action: "idos.add_delegate", payload: idos.DelegatePayload{Delegate: d.sender.AccountID()}})
	c.block(step{by: d, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: credID, UserID: userID,
		IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: "AA=="}})
	c.block(step{by: u, action: "idos.remove_wallet", payload: idos.RemoveWalletPayload{WalletID: wallet1}, wantErr: idos.ErrUnauthorized})
}
