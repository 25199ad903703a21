package idos_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/sqlstate"
)

// idosschema is the column list the light client decodes rows with; it must
// be the tables SQLite created from the module's schema, as sqlstate reads
// them for the row encoding.
func TestSchemaMatchesIdosschema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sqlite")
	a, err := app.New(app.Config{Modules: composition.Modules(), DBPath: path})
	if err != nil {
		t.Fatal(err)
	}
	state, _ := json.Marshal(composition.DefaultGenesis())
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chain, AppStateBytes: state}); err != nil {
		t.Fatal(err)
	}
	c := &chainT{t: t, a: a, now: 1_800_000_000}
	c.block()
	a.Close()
	db, err := sqlstate.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]idosschema.Table{}
	for _, tb := range idosschema.Tables() {
		want[tb.Name] = tb
	}
	seen := 0
	for _, tb := range db.Tables() {
		if !strings.HasPrefix(tb.Name, "idos_") {
			continue
		}
		seen++
		w, ok := want[tb.Name]
		if !ok {
			t.Errorf("table %s is missing from idosschema", tb.Name)
			continue
		}
		var pk []string
		for _, i := range tb.PK {
			pk = append(pk, tb.Columns[i])
		}
		if !slices.Equal(w.Columns, tb.Columns) || !slices.Equal(w.PK, pk) {
			t.Errorf("table %s: idosschema has columns %v key %v, SQLite %v key %v", tb.Name, w.Columns, w.PK, tb.Columns, pk)
		}
	}
	if seen != len(want) {
		t.Errorf("SQLite has %d idos tables, idosschema %d", seen, len(want))
	}
}

// Grants received are a proven, complete range of idos_grants_by_grantee,
// which follows every share, revoke and removal of idos_grants.
func TestGrantsReceivedProven(t *testing.T) {
	issuer := edParty(1)
	user := edParty(2)
	consumer := edParty(8)
	c := newChain(t, issuer.sender.AccountID())
	c.block(step{by: issuer, action: "idos.add_user", payload: idos.AddUserPayload{UserID: userID, EncryptionPublicKey: key32(1),
		Wallet: user.linkProof(t, wallet1, userID)}})
	c.block(
		step{by: user, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: credID, UserID: userID,
			IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: "AA=="}},
		step{by: user, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: cred2ID, UserID: userID,
			IssuerAuthPublicKey: "k", EncryptorPublicKey: key32(2), Content: "AA=="}},
	)
	share := func(cred, cp, grant string) step {
		return step{by: user, action: "idos.share_credential", payload: idos.ShareCredentialPayload{CredentialID: cred, CopyID: cp,
			EncryptorPublicKey: key32(3), Content: "Y29weQ==", ContentHash: "h-" + cp, GrantID: grant, Grantee: consumer.sender.AccountID()}}
	}
	received := func() []string {
		t.Helper()
		res, err := c.a.PrivateQuery(context.Background(), "idos.get_grants_received", consumer.sender, []byte(`{}`), true)
		if err != nil || res.Code != app.CodeOK || res.Proof == nil {
			t.Fatalf("grants received: %v %d %s", err, res.Code, res.Log)
		}
		info, err := c.a.Info(context.Background(), &abci.RequestInfo{})
		if err != nil {
			t.Fatal(err)
		}
		prefix, err := commitment.Key(idosschema.GrantsByGrantee.Name, []any{consumer.sender.AccountID()})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := readproof.Verify(info.LastBlockAppHash, readproof.KindRange, prefix, res.Proof)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.Values[idosschema.GrantsByGrantee.Index("id")].(string)+"/"+
				r.Values[idosschema.GrantsByGrantee.Index("data_id")].(string))
		}
		return ids
	}
	c.block(share(credID, copyID, grantID), share(cred2ID, copy2ID, grant2ID))
	if got, want := received(), []string{grantID + "/" + copyID, grant2ID + "/" + copy2ID}; !slices.Equal(got, want) {
		t.Fatalf("after sharing: %v, want %v", got, want)
	}

	c.block(step{by: user, action: "idos.revoke_grant", payload: idos.RevokeGrantPayload{GrantID: grantID}})
	if got, want := received(), []string{grant2ID + "/" + copy2ID}; !slices.Equal(got, want) {
		t.Fatalf("after revoking: %v, want %v", got, want)
	}
	c.block(step{by: user, action: "idos.remove_credential", payload: idos.RemoveCredentialPayload{CredentialID: cred2ID}})
	if got := received(); len(got) != 0 {
		t.Fatalf("after removing the original: %v", got)
	}
	// Three more grants, read in pages of two rows (PrivateQueryPage), each
	// page after the first starting with the previous one's last row.
	var grants []string
	var steps []step
	for i := range 3 {
		cp, g := fmt.Sprintf("00000000-0000-4000-8000-0000000000d%d", i+3), fmt.Sprintf("00000000-0000-4000-8000-0000000000e%d", i+3)
		steps, grants = append(steps, share(credID, cp, g)), append(grants, g)
	}
	c.block(steps...)
	info, err := c.a.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	prefix, _ := commitment.Key(idosschema.GrantsByGrantee.Name, []any{consumer.sender.AccountID()})
	var after []byte
	var got []string
	pages := 0
	for more := true; more; pages++ {
		res, err := c.a.PrivateQueryPage(context.Background(), "idos.get_grants_received", consumer.sender, []byte(`{}`),
			app.ProofRequest{Page: true, After: after, Height: info.LastBlockHeight, Limit: 2})
		if err != nil || res.Code != app.CodeOK {
			t.Fatalf("page after %x: %v %d %s", after, err, res.Code, res.Log)
		}
		var rows []readproof.VerifiedRow
		if rows, more, err = readproof.VerifyPage(info.LastBlockAppHash, prefix, after, res.Proof); err != nil {
			t.Fatal(err)
		}
		if after != nil {
			rows = rows[1:]
		}
		for _, r := range rows {
			got = append(got, r.Values[0].(string))
		}
		after = res.Proof.Rows[len(res.Proof.Rows)-1].Key
	}
	if !slices.Equal(got, grants) || pages != 2 {
		t.Fatalf("%d pages of %v, want 2 of %v", pages, got, grants)
	}
}

// The test vector of docs/spec/data-model.md for idos_grants_by_grantee.
func TestGrantsByGranteeVector(t *testing.T) {
	key, err := commitment.Key(idosschema.GrantsByGrantee.Name, []any{"ed25519:aa", "g1"})
	if err != nil {
		t.Fatal(err)
	}
	const wantKey = "69646f735f6772616e74735f62795f6772616e74656500" + "02656432353531393a61610000" + "0267310000"
	if got := hex.EncodeToString(key); got != wantKey {
		t.Fatalf("key %s, want %s", got, wantKey)
	}
	vh, err := commitment.RowHash([]any{"g1", "u1", "ed25519:aa", "c1", int64(0), "h", "internal", int64(5)})
	if err != nil {
		t.Fatal(err)
	}
	const wantHash = "5117f6b3ebf51ff2bc438fe73ae4c33ecc74e2cd3284d77bc457256ece162ab9"
	if got := hex.EncodeToString(vh[:]); got != wantHash {
		t.Fatalf("value hash %s, want %s", got, wantHash)
	}
}
