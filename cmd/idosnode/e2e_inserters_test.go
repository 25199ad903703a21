package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/userclient"
)

// TestInserterByApproval is the user story on a network whose genesis has
// no inserter: on 4 validators of real processes, v0 proposes an issuer's
// EIP-191 account with `idosnode inserter propose` (written in lowercase;
// the CLI sends the checksummed form the node authenticates), v1 approves
// with the CLI (20 of 40: not yet, the issuer is still refused), v2's
// approval reaches 30 of 40 and the account is an inserter on every node.
// The issuer then creates a user through the gateway, and after validators
// remove it, it cannot create another.
func TestInserterByApproval(t *testing.T) {
	bin := testnet.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n := startVsNet(t, ctx, bin, 4)
	v0, v1, v2, v3 := n.nodes[0], n.nodes[1], n.nodes[2], n.nodes[3]
	ks := &userclient.Keystore{Dir: t.TempDir(), ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	issuerKey, err := ks.Generate("issuer", auth.SchemeEIP191, "", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	aliceKey, err := ks.Generate("alice", auth.SchemeEd25519, "", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	account := issuerKey.AccountID()
	typed := "eip191:" + strings.ToLower(issuerKey.Identifier)
	_, _, gw := devnet.Addrs(n.base, 3)
	issuer, err := userclient.Dial(ctx, "http://"+gw, issuerKey, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	addUser := func(want uint32) {
		t.Helper()
		proof, err := userclient.WalletProof(aliceKey, "")
		if err != nil {
			t.Fatal(err)
		}
		r, err := issuer.AddUser(ctx, proof)
		var te *userclient.TxError
		switch {
		case want == 0 && err != nil:
			t.Fatalf("add_user by %s: %v", account, err)
		case want != 0 && (!errors.As(err, &te) || te.Code != want):
			t.Fatalf("add_user by %s: %v, want code %d", account, err, want)
		case r != nil:
			n.lastTx = max(n.lastTx, r.Height)
		}
	}
	list := func(v *vsNode) inserterView {
		t.Helper()
		n.synced(v)
		var view inserterView
		out := n.cli(0, "inserter", "list", "--json", "--all", "--node", v.rpc.Remote())
		if err := json.Unmarshal([]byte(out), &view); err != nil {
			t.Fatalf("inserter list --json: %v\n%s", err, out)
		}
		return view
	}

	addUser(idos.CodeUnauthorized)
	out := n.cli(0, "inserter", "propose", "--home", v0.home, typed)
	if want := "pending at height"; !strings.Contains(out, want) || !strings.Contains(out, "power 10 of 40, needs 27") {
		t.Errorf("propose: want %q and power 10 of 40, needs 27:\n%s", want, out)
	}
	out = n.cli(0, "inserter", "approve", "--home", v1.home, typed)
	if !strings.Contains(out, "power 20 of 40, needs 27") {
		t.Errorf("second approval: want power 20 of 40, needs 27:\n%s", out)
	}
	out = n.cli(1, "inserter", "approve", "--home", v1.home, typed)
	if want := fmt.Sprintf("result  rejected (code %d)", module.CodeDuplicate); !strings.Contains(out, want) {
		t.Errorf("approving twice: want %q:\n%s", want, out)
	}
	if v := list(v3); len(v.Inserters.Inserters) != 0 {
		t.Fatalf("20 of 40 power added an inserter: %+v", v.Inserters)
	}
	addUser(idos.CodeUnauthorized)
	out = n.cli(0, "inserter", "approve", "--home", v2.home, typed)
	if want := "proposal add " + account + ": approved at height"; !strings.Contains(out, want) {
		t.Errorf("third approval: want %q:\n%s", want, out)
	}
	for _, v := range n.nodes {
		view := list(v)
		if len(view.Inserters.Inserters) != 1 || view.Inserters.Inserters[0].ID != account ||
			len(view.Proposals) != 1 || view.Proposals[0].Status != "approved" {
			t.Fatalf("%s after approval: %+v", v.name, view)
		}
	}
	t.Logf("inserter list:\n%s", n.cli(0, "inserter", "list", "--all", "--home", v0.home))
	addUser(0)

	// Removal by the same rule: v3 proposes (VoteOrPropose), v0 and v1
	// approve with the same command.
	for _, v := range []*vsNode{v3, v0, v1} {
		n.cli(0, "inserter", "remove", "--home", v.home, typed)
	}
	if view := list(v2); len(view.Inserters.Inserters) != 0 {
		t.Fatalf("after removal: %+v", view.Inserters)
	}
	addUser(idos.CodeUnauthorized)
	n.checkAppHashes()
}
