package drivers_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/wire"
)

const chainID = "idos-drivers"

const (
	evmChain    = "eip155:11155111"
	evmContract = "0x350829c8FCb3DF16EeaE28F54aB4F37cB5c7B8Ed"
	userID      = "00000000-0000-4000-8000-000000000001"
	walletID    = "00000000-0000-4000-8000-0000000000a1"
	credID      = "00000000-0000-4000-8000-0000000000c1"
	expiry      = 4
)

func valKey(i int) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i)}, 32))
}

// party signs transactions; validators 1..4 are ed25519 keys 1..4.
type party struct {
	acc    *client.Account
	sender module.Sender
}

func edParty(i int) *party {
	k := valKey(i)
	return &party{client.NewAccount(auth.NewEd25519Signer(k), chainID),
		module.Sender{Scheme: auth.SchemeEd25519, Identifier: hex.EncodeToString(k.Public().(ed25519.PublicKey))}}
}

func ethParty(t *testing.T, seed byte) *party {
	k, err := crypto.ToECDSA(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &party{client.NewAccount(auth.NewEIP191Signer(k), chainID),
		module.Sender{Scheme: auth.SchemeEIP191, Identifier: crypto.PubkeyToAddress(k.PublicKey).Hex()}}
}

// net is several app instances (as several nodes) fed the same blocks;
// every block's app hash must be equal on all of them.
type net struct {
	t      *testing.T
	apps   []*app.App
	height int64
	hashes [][]byte
}

func chainConfig() drivers.Chain {
	return drivers.Chain{Chain: evmChain, Contract: evmContract, Confirmations: 12,
		DriverSHA256: hex.EncodeToString(bytes.Repeat([]byte{0xd1}, 32)), AccountScheme: auth.SchemeEIP191, LockUnit: "s"}
}

func newNet(t *testing.T, instances int, inserter *party) *net {
	t.Helper()
	g := composition.DefaultGenesis()
	g.IDOS.Inserters = []string{inserter.sender.AccountID()}
	g.Drivers.ExpiryBlocks = expiry
	g.Drivers.Chains = []drivers.Chain{chainConfig()}
	state, _ := json.Marshal(g)
	var vals []abci.ValidatorUpdate
	for i := 1; i <= 4; i++ {
		vals = append(vals, abci.Ed25519ValidatorUpdate(valKey(i).Public().(ed25519.PublicKey), 10))
	}
	n := &net{t: t}
	for range instances {
		a, err := app.New(app.Config{Modules: composition.Modules(), DBPath: filepath.Join(t.TempDir(), "s.sqlite")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, AppStateBytes: state, Validators: vals}); err != nil {
			t.Fatal(err)
		}
		n.apps = append(n.apps, a)
	}
	return n
}

type step struct {
	by      *party
	action  string
	payload any
	wantErr error
}

// block runs the steps as one block on every instance and checks result
// codes and app hashes.
func (n *net) block(steps ...step) {
	n.t.Helper()
	var txs [][]byte
	for _, s := range steps {
		raw, err := s.by.acc.Build(s.action, s.payload)
		if err != nil {
			n.t.Fatal(err)
		}
		txs = append(txs, raw)
	}
	for i, r := range n.blockRaw(txs...) {
		s := steps[i]
		switch {
		case s.wantErr == nil && r.Code != app.CodeOK:
			n.t.Errorf("height %d: %s: %s", n.height, s.action, r.Log)
		case s.wantErr != nil && r.Code != n.apps[0].ResultCode(s.wantErr):
			n.t.Errorf("height %d: %s: code %d %q, want %q", n.height, s.action, r.Code, r.Log, s.wantErr)
		}
	}
}

// blockRaw finalizes and commits a block of txs on every instance, checks
// that their app hashes are equal, and returns the first one's results.
func (n *net) blockRaw(txs ...[]byte) []*abci.ExecTxResult {
	n.t.Helper()
	n.height++
	ctx := context.Background()
	var first *abci.ResponseFinalizeBlock
	for k, a := range n.apps {
		res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: n.height, Txs: txs, Time: time.Unix(1_800_000_000+n.height, 0)})
		if err != nil {
			n.t.Fatal(err)
		}
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			n.t.Fatal(err)
		}
		if k == 0 {
			first = res
		} else if !bytes.Equal(first.AppHash, res.AppHash) {
			n.t.Fatalf("height %d: instance %d app hash %X, instance 0 %X", n.height, k, res.AppHash, first.AppHash)
		}
	}
	n.hashes = append(n.hashes, first.AppHash)
	return first.TxResults
}

func (n *net) query(path string, data any, v any) {
	n.t.Helper()
	b, _ := json.Marshal(data)
	res, err := n.apps[0].Query(context.Background(), &abci.RequestQuery{Path: "/" + path, Data: b})
	if err != nil || res.Code != app.CodeOK {
		n.t.Fatalf("%s: %v %s", path, err, res.Log)
	}
	if err := json.Unmarshal(res.Value, v); err != nil {
		n.t.Fatal(err)
	}
}

// readCredential is the grantee's private read of the shared credential.
func (n *net) readCredential(by *party) uint32 {
	n.t.Helper()
	b, _ := json.Marshal(idos.GetCredentialRequest{CredentialID: credID})
	res, err := n.apps[0].PrivateQuery(context.Background(), "idos.get_credential", by.sender, b, false)
	if err != nil {
		n.t.Fatal(err)
	}
	return res.Code
}

func (n *net) pending() []drivers.Pending {
	var ps []drivers.Pending
	n.query("drivers.pending", map[string]bool{"all": true}, &ps)
	return ps
}

// expiredGone is the status of an expired observation: its proposal is
// deleted, so no row is left.
const expiredGone = ""

func (n *net) status(digest string) string {
	for _, p := range n.pending() {
		if p.Digest == digest {
			return p.Status
		}
	}
	return ""
}

func encode(t *testing.T, g observation.Grant) []byte {
	b, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attest(by *party, wantErr error, encs ...[]byte) step {
	return step{by, "drivers.attest", drivers.AttestPayload{Observations: encs}, wantErr}
}

// world is a user whose EVM wallet owns a credential, and a grantee.
type world struct {
	n                        *net
	vals                     []*party // index 1..4
	inserter, owner, grantee *party
}

func newWorld(t *testing.T, instances int) *world {
	w := &world{inserter: edParty(50), owner: ethParty(t, 7), grantee: ethParty(t, 8)}
	w.vals = []*party{nil, edParty(1), edParty(2), edParty(3), edParty(4)}
	w.n = newNet(t, instances, w.inserter)
	msg := wire.LinkMessage(userID, auth.SchemeEIP191, w.owner.sender.Identifier)
	sig, err := w.owner.acc.Signer.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	key32 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	w.n.block(step{by: w.inserter, action: "idos.add_user", payload: idos.AddUserPayload{UserID: userID, EncryptionPublicKey: key32,
		Wallet: idos.WalletInput{WalletID: walletID, WalletType: auth.SchemeEIP191, Address: w.owner.sender.Identifier, Message: msg,
			Signature: hex.EncodeToString(sig)}}})
	w.n.block(step{by: w.owner, action: "idos.add_credential", payload: idos.AddCredentialPayload{CredentialID: credID, UserID: userID,
		IssuerAuthPublicKey: "issuer", EncryptorPublicKey: key32, Content: "Y2lwaGVydGV4dA=="}})
	return w
}

// grant is the chain's grant from owner to grantee on the credential, as a
// driver reports it (addresses lowercase, as logs carry them).
func (w *world) grant(kind observation.Kind, block uint64) observation.Grant {
	return observation.Grant{Kind: kind, Chain: evmChain, Contract: evmContract,
		Owner: lower(w.owner.sender.Identifier), Grantee: lower(w.grantee.sender.Identifier), DataID: credID, LockedUntil: "0",
		BlockNumber: block, BlockHash: fmt.Sprintf("0x%064x", block), TxRef: fmt.Sprintf("0x%064x:0", block+1)}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func (w *world) grantID() string {
	g := w.grant(observation.Added, 0)
	return drivers.GrantID(g.Chain, g.Contract, g.Owner, g.Grantee, g.DataID)
}
