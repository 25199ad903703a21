package idosverify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/lightclient/idosverify"
	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/readproof/prooftest"
)

// oneHeader "verifies" header Height+1 of a prooftest state, carrying its
// app hash: the tests here are about which rows are accepted, not headers.
type oneHeader struct{ s *prooftest.State }

func (h oneHeader) header() *types.SignedHeader {
	return &types.SignedHeader{Header: &types.Header{Height: h.s.Height + 1, AppHash: h.s.AppHash[:]}}
}

func (h oneHeader) Sync(context.Context, func(int64, int64)) (*types.SignedHeader, error) {
	return h.header(), nil
}

func (h oneHeader) VerifiedHeader(_ context.Context, height int64) (*types.SignedHeader, error) {
	if height != h.s.Height+1 {
		return nil, fmt.Errorf("%w: %d", lightclient.ErrNoHeader, height)
	}
	return h.header(), nil
}

const (
	alice, bob      = "u-alice", "u-bob"
	aliceWallet     = "0xA11CE"
	consumer        = "ed25519:c0"
	original, cpy   = "cred-1", "copy-1"
	grantID, bobCrd = "grant-1", "cred-bob"
)

var plaintext = []byte(`{"name":"Alice"}`)

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func wallet(user, id, addr string) prooftest.Row {
	return prooftest.Row{Table: idosschema.Wallets.Name, PK: []any{user, id},
		Values: []any{id, user, "eip191", addr, "", "m", "s", int64(1)}}
}

func credential(user, id, orig string) prooftest.Row {
	return prooftest.Row{Table: idosschema.Credentials.Name, PK: []any{user, id},
		Values: []any{id, user, "issuer", "enc", "ciphertext-" + id, "", orig, int64(1), int64(1)}}
}

func grant(table idosschema.Table, dataID, contentHash string) prooftest.Row {
	vals := []any{grantID, alice, consumer, dataID, int64(0), contentHash, "internal", int64(2)}
	pk := []any{alice, grantID}
	if table.Name == idosschema.GrantsByGrantee.Name {
		pk = []any{consumer, grantID}
	}
	return prooftest.Row{Table: table.Name, PK: pk, Values: vals}
}

// state is alice (one wallet, an original shared with the consumer as a
// copy) and bob (a wallet, a credential), at height 5; edit changes the
// rows first.
func state(t *testing.T, edit func([]prooftest.Row) []prooftest.Row) *prooftest.State {
	t.Helper()
	rows := []prooftest.Row{
		{Table: idosschema.Users.Name, PK: []any{alice}, Values: []any{alice, "key", "issuer", int64(1)}},
		wallet(alice, "w-a", aliceWallet), wallet(bob, "w-b", "0xB0B"),
		credential(alice, original, ""), credential(alice, cpy, original), credential(bob, bobCrd, ""),
		grant(idosschema.Grants, cpy, hashHex(plaintext)), grant(idosschema.GrantsByGrantee, cpy, hashHex(plaintext)),
	}
	if edit != nil {
		rows = edit(rows)
	}
	s, err := prooftest.New(5, apphash.Hash{}, rows)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// honest answers every query as the node does for the caller; lie may
// replace the scope (table and key values) of a query.
func verifier(t *testing.T, s *prooftest.State, scheme, id string, lie map[string]func() (readproof.Kind, idosschema.Table, []any)) *idosverify.Verifier {
	callerUser := map[string]string{"eip191:" + aliceWallet: alice, "eip191:0xB0B": bob}[scheme+":"+id]
	return &idosverify.Verifier{
		Reader: lightclient.NewReader("http://gateway.invalid", oneHeader{s}, lightclient.ReaderOptions{}),
		Scheme: scheme, Identifier: id,
		Query: func(_ context.Context, name string, data any) (*readproof.Bundle, error) {
			var kind readproof.Kind
			var table idosschema.Table
			var pk []any
			switch name {
			case "idos.get_wallets":
				kind, table, pk = readproof.KindRange, idosschema.Wallets, []any{callerUser}
			case "idos.get_user":
				kind, table, pk = readproof.KindRow, idosschema.Users, []any{callerUser}
			case "idos.get_credentials":
				kind, table, pk = readproof.KindRange, idosschema.Credentials, []any{callerUser}
			case "idos.get_grants_owned":
				kind, table, pk = readproof.KindRange, idosschema.Grants, []any{callerUser}
			case "idos.get_grants_received":
				kind, table, pk = readproof.KindRange, idosschema.GrantsByGrantee, []any{scheme + ":" + id}
			case "idos.get_credential":
				kind, table, pk = readproof.KindRow, idosschema.Credentials, []any{alice, cpy}
			}
			if l := lie[name]; l != nil {
				kind, table, pk = l()
			}
			if callerUser == "" && table.Name != idosschema.GrantsByGrantee.Name && lie[name] == nil && name != "idos.get_credential" {
				return nil, fmt.Errorf("%w: not a wallet of any user", lightclient.ErrGateway)
			}
			key, err := commitment.Key(table.Name, pk)
			if err != nil {
				t.Fatal(err)
			}
			return s.Bundle(kind, key)
		},
	}
}

func TestHonestReads(t *testing.T) {
	s := state(t, nil)
	v := verifier(t, s, "eip191", aliceWallet, nil)
	ctx := context.Background()
	pc, err := v.Credentials(ctx)
	if err != nil || pc.UserID != alice || len(pc.Credentials) != 2 || pc.Height != 5 {
		t.Fatalf("credentials: %+v %v", pc, err)
	}
	pu, err := v.User(ctx)
	if err != nil || pu.User.ID != alice {
		t.Fatalf("user: %+v %v", pu, err)
	}
	owned, err := v.GrantsOwned(ctx)
	if err != nil || len(owned.Grants) != 1 || owned.Grants[0].DataID != cpy {
		t.Fatalf("grants owned: %+v %v", owned, err)
	}
	g := verifier(t, s, "ed25519", "c0", nil)
	got, err := g.GrantsReceived(ctx)
	if err != nil || len(got.Grants) != 1 || got.Grants[0].ID != grantID {
		t.Fatalf("grants received: %+v %v", got, err)
	}
	pcr, err := g.Credential(ctx, cpy)
	if err != nil || pcr.Grant == nil || pcr.Credential.OriginalID != original {
		t.Fatalf("grantee's copy: %+v %v", pcr, err)
	}
	if err := pcr.CheckPlaintext(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := pcr.CheckPlaintext([]byte(`{"name":"Mallory"}`)); !errors.Is(err, idosverify.ErrContentHash) {
		t.Fatalf("forged plaintext: %v", err)
	}
}

// Each case is a gateway that answers with real, provable rows of the
// wrong thing; each must fail with its class.
func TestLyingReads(t *testing.T) {
	ctx := context.Background()
	scope := func(kind readproof.Kind, table idosschema.Table, pk ...any) func() (readproof.Kind, idosschema.Table, []any) {
		return func() (readproof.Kind, idosschema.Table, []any) { return kind, table, pk }
	}
	for i, c := range []struct {
		edit   func([]prooftest.Row) []prooftest.Row
		scheme string
		id     string
		lie    map[string]func() (readproof.Kind, idosschema.Table, []any)
		run    func(*idosverify.Verifier) error
		want   error
	}{
		// 0: bob's complete wallets, to alice: her wallet is not among them.
		{nil, "eip191", aliceWallet,
			map[string]func() (readproof.Kind, idosschema.Table, []any){"idos.get_wallets": scope(readproof.KindRange, idosschema.Wallets, bob)},
			func(v *idosverify.Verifier) error { _, err := v.Credentials(ctx); return err }, idosverify.ErrWalletNotProven},
		// 1: bob's credentials under alice's proven user: the key differs.
		{nil, "eip191", aliceWallet,
			map[string]func() (readproof.Kind, idosschema.Table, []any){"idos.get_credentials": scope(readproof.KindRange, idosschema.Credentials, bob)},
			func(v *idosverify.Verifier) error { _, err := v.Credentials(ctx); return err }, readproof.ErrWrongAnswer},
		// 2: the consumer asks for bob's credential, which no grant names;
		// it has no user.
		{nil, "ed25519", "c0",
			map[string]func() (readproof.Kind, idosschema.Table, []any){"idos.get_credential": scope(readproof.KindRow, idosschema.Credentials, bob, bobCrd)},
			func(v *idosverify.Verifier) error { _, err := v.Credential(ctx, bobCrd); return err }, idosverify.ErrNotGranted},
		// 3: a grant (in state) that names an original, not a copy.
		{func(rows []prooftest.Row) []prooftest.Row {
			return append(rows[:6], grant(idosschema.Grants, original, "h"), grant(idosschema.GrantsByGrantee, original, "h"))
		}, "ed25519", "c0",
			map[string]func() (readproof.Kind, idosschema.Table, []any){"idos.get_credential": scope(readproof.KindRow, idosschema.Credentials, alice, original)},
			func(v *idosverify.Verifier) error { _, err := v.Credential(ctx, original); return err }, idosverify.ErrNotGranted},
		// 4: a grant row with a column less than the client knows.
		{func(rows []prooftest.Row) []prooftest.Row {
			g := grant(idosschema.GrantsByGrantee, cpy, "h")
			g.Values = g.Values[:7]
			return append(rows[:7], g)
		}, "ed25519", "c0", nil,
			func(v *idosverify.Verifier) error { _, err := v.GrantsReceived(ctx); return err }, idosverify.ErrSchema},
		// 5: grants received of another account.
		{nil, "ed25519", "c1",
			map[string]func() (readproof.Kind, idosschema.Table, []any){"idos.get_grants_received": scope(readproof.KindRange, idosschema.GrantsByGrantee, consumer)},
			func(v *idosverify.Verifier) error { _, err := v.GrantsReceived(ctx); return err }, readproof.ErrWrongAnswer},
	} {
		v := verifier(t, state(t, c.edit), c.scheme, c.id, c.lie)
		if err := c.run(v); !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
}

// With QueryPage, range reads go by pages of two rows: every grant of a
// consumer with seven, and the caller's wallets (its first page fetched to
// learn the user); a page that skips rows is refused.
func TestPagedReads(t *testing.T) {
	s := state(t, func(rows []prooftest.Row) []prooftest.Row {
		for i := range 6 {
			id := fmt.Sprintf("grant-%d", i+2)
			rows = append(rows, prooftest.Row{Table: idosschema.GrantsByGrantee.Name, PK: []any{consumer, id},
				Values: []any{id, alice, consumer, "copy-x", int64(0), "h", "internal", int64(3)}})
		}
		return append(rows, wallet(alice, "w-a2", "0xA2"), wallet(alice, "w-a3", "0xA3"))
	})
	ctx := context.Background()
	paged := func(v *idosverify.Verifier, skip bool) *idosverify.Verifier {
		scopes := map[string][]byte{
			"idos.get_grants_received": ckey(t, idosschema.GrantsByGrantee.Name, v.AccountID()),
			"idos.get_wallets":         ckey(t, idosschema.Wallets.Name, alice),
		}
		v.QueryPage = func(_ context.Context, name string, _ any, after []byte, height int64) (*readproof.Bundle, error) {
			if after != nil && height != s.Height {
				t.Errorf("page of %s after %x asked at height %d", name, after, height)
			}
			from := after
			if skip && after != nil {
				from = append(append([]byte(nil), after...), 0xff) // the page after the next row
			}
			b, err := s.Page(scopes[name], from, 2)
			if b != nil {
				b.After = after
			}
			return b, err
		}
		return v
	}
	got, err := paged(verifier(t, s, "ed25519", "c0", nil), false).GrantsReceived(ctx)
	if err != nil || len(got.Grants) != 7 {
		t.Fatalf("grants received by pages: %d, %v", len(got.Grants), err)
	}
	c, err := paged(verifier(t, s, "eip191", aliceWallet, nil), false).Caller(ctx)
	if err != nil || c.UserID != alice || len(c.Wallets) != 3 {
		t.Fatalf("caller by pages: %+v, %v", c, err)
	}
	if _, err := paged(verifier(t, s, "ed25519", "c0", nil), true).GrantsReceived(ctx); !errors.Is(err, readproof.ErrBadRows) {
		t.Fatalf("a page that skips rows: %v, want ErrBadRows", err)
	}
}

func ckey(t *testing.T, table string, pk ...any) []byte {
	t.Helper()
	k, err := commitment.Key(table, pk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
