package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/module/validators"
	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/retain"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wire"
	"github.com/idos-network/idos-node/sigplugins"
)

// update rewrites testdata/golden_heights.txt from the current code:
//
//	go test -count=1 -run TestGoldenHeights ./node/app/ -update
//
// Only do it for a change that is meant to change consensus, and say so in
// the commit message.
var update = flag.Bool("update", false, "rewrite testdata/golden_heights.txt")

const goldenFile = "testdata/golden_heights.txt"

// goldenTx is one transaction of the golden workload and the result code it
// must get (anyCode: the seeded kv noise, whose outcome the hash pins).
type goldenTx struct {
	raw  []byte
	what string
	code int64
}

const anyCode = -1

// goldenWorkload is a deterministic series of blocks over every module:
// seeded kv noise in every block; the idOS user story (users, wallets,
// credentials, shares, grants, revoke, remove); validators that join,
// are approved, expire, leave and are removed; and signature plugins that
// are uploaded, proposed, approved, activated, used, expire and are
// removed. Genesis: validators keys 1..4 (power 10), requests open for 4
// blocks, plugin proposals for 4 blocks with activation delay 2.
type goldenWorkload struct {
	t       testing.TB
	blocks  [][]goldenTx
	accs    map[string]*client.Account
	rng     *rand.Rand
	state   []byte
	genVals []abci.ValidatorUpdate
}

func goldenKey(i int) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i)}, 32))
}

func goldenPub(i int) string { return hex.EncodeToString(goldenKey(i).Public().(ed25519.PublicKey)) }

// acc is ed25519 key i under scheme ("ed25519", or a plugin's name).
func (w *goldenWorkload) acc(scheme string, i int) *client.Account {
	id := fmt.Sprint(scheme, i)
	a, ok := w.accs[id]
	if !ok {
		s := auth.NewEd25519Signer(goldenKey(i))
		if scheme != auth.SchemeEd25519 {
			s = auth.NewEd25519SignerAs(scheme, goldenKey(i))
		}
		a = client.NewAccount(s, testChain)
		w.accs[id] = a
	}
	return a
}

func (w *goldenWorkload) tx(a *client.Account, code int64, action string, payload any) goldenTx {
	w.t.Helper()
	raw, err := a.Build(action, payload)
	if err != nil {
		w.t.Fatal(err)
	}
	return goldenTx{raw: raw, what: action, code: code}
}

// val is a transaction by validator key i.
func (w *goldenWorkload) val(i int, code int64, action string, payload any) goldenTx {
	return w.tx(w.acc(auth.SchemeEd25519, i), code, action, payload)
}

// block appends a block: 0..3 seeded kv operations by keys 20..22, then txs.
func (w *goldenWorkload) block(txs ...goldenTx) {
	var all []goldenTx
	for n := w.rng.IntN(4); n > 0; n-- {
		a := w.acc(auth.SchemeEd25519, 20+w.rng.IntN(3))
		k := fmt.Sprintf("k%d", w.rng.IntN(6))
		if w.rng.IntN(3) == 0 {
			all = append(all, w.tx(a, anyCode, "kv.delete", kv.DeletePayload{Key: k}))
		} else {
			all = append(all, w.tx(a, anyCode, "kv.put", kv.PutPayload{Key: k, Value: fmt.Sprint(w.rng.Uint64())}))
		}
	}
	w.blocks = append(w.blocks, append(all, txs...))
}

func (w *goldenWorkload) linkProof(a *client.Account, walletID, userID string) idos.WalletInput {
	w.t.Helper()
	addr := hex.EncodeToString(a.Signer.SignerID())
	msg := wire.LinkMessage(userID, auth.SchemeEd25519, addr)
	sig, err := a.Signer.Sign([]byte(msg))
	if err != nil {
		w.t.Fatal(err)
	}
	return idos.WalletInput{WalletID: walletID, WalletType: auth.SchemeEd25519, Address: addr, Message: msg, Signature: hex.EncodeToString(sig)}
}

func (w *goldenWorkload) uploads(i int, wasm []byte) (string, []goldenTx) {
	sum, chunks := plugins.UploadChunks(wasm, plugins.DefaultChunkSize)
	var txs []goldenTx
	for _, c := range chunks {
		txs = append(txs, w.val(i, int64(CodeOK), "plugins.upload", c))
	}
	return sum, txs
}

func newGoldenWorkload(t testing.TB, rt *wasmhost.Runtime) *goldenWorkload {
	w := &goldenWorkload{t: t, accs: map[string]*client.Account{}, rng: rand.New(rand.NewPCG(11, 7))}
	const ok, unauthorized = int64(CodeOK), int64(CodeUnauthorized)
	// The result codes of failed actions (docs/spec/result-codes.md).
	const duplicate, expired, decided, locked = int64(module.CodeDuplicate), int64(module.CodeExpired), int64(module.CodeDecided), int64(idos.CodeLocked)
	const checking = int64(plugins.CodeChecking)
	issuer := w.acc(auth.SchemeEd25519, 30)
	userA := w.acc(auth.SchemeEd25519, 31)
	userB := w.acc(auth.SchemeEd25519, 32)
	consumer := w.acc(auth.SchemeEd25519, 33)
	solanaUser := w.acc("solana", 34)
	refused := w.acc("solana", 35) // signature refused before the nonce: its own account

	g := composition.DefaultGenesis()
	g.Validators.JoinExpiryBlocks = 4
	g.Plugins.ProposalExpiryBlocks = 4
	g.Plugins.CheckDelayBlocks = 1
	g.Drivers.ExpiryBlocks = 3
	g.Drivers.Chains = []drivers.Chain{{Chain: "eip155:1", Contract: "0xc0ffee", Confirmations: 12,
		DriverSHA256: hex.EncodeToString(bytes.Repeat([]byte{0xd1}, 32)), AccountScheme: auth.SchemeEd25519, LockUnit: "s"}}
	g.IDOS.Inserters = []string{"ed25519:" + hex.EncodeToString(issuer.Signer.SignerID())}
	state, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	w.state = state
	for i := 1; i <= 4; i++ {
		w.genVals = append(w.genVals, abci.Ed25519ValidatorUpdate(goldenKey(i).Public().(ed25519.PublicKey), 10))
	}

	const (
		user   = "00000000-0000-4000-8000-000000000001"
		walA   = "00000000-0000-4000-8000-0000000000a1"
		walB   = "00000000-0000-4000-8000-0000000000a2"
		cred1  = "00000000-0000-4000-8000-0000000000c1"
		cred2  = "00000000-0000-4000-8000-0000000000c2"
		copy1  = "00000000-0000-4000-8000-0000000000d1"
		grant1 = "00000000-0000-4000-8000-0000000000e1"
	)
	key32 := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	blockTime := func(h int64) int64 { return genesisTime.Add(time.Duration(h) * time.Second).Unix() }
	solanaWasm, _ := sigplugins.Lookup("solana")
	eipWasm, _ := sigplugins.Lookup("eip191")
	eipPlugin, err := rt.Register(context.Background(), eipWasm.Wasm())
	if err != nil {
		t.Fatal(err)
	}
	eipMeta := eipPlugin.Metadata()
	solSum, solUploads := w.uploads(1, solanaWasm.Wasm())
	join := validators.JoinPayload{}
	approve := func(i int) validators.ApprovePayload { return validators.ApprovePayload{Candidate: goldenPub(i)} }
	scheme := func(s string) plugins.SchemePayload { return plugins.SchemePayload{Scheme: s} }

	// 1: a user with a credential; candidates 5 and 6 ask to join; the
	// solana module is uploaded.
	w.block(append([]goldenTx{
		w.tx(issuer, ok, "idos.add_user", idos.AddUserPayload{UserID: user, EncryptionPublicKey: key32(1), Wallet: w.linkProof(userA, walA, user)}),
		w.tx(issuer, ok, "idos.add_credential", idos.AddCredentialPayload{CredentialID: cred1, UserID: user,
			IssuerAuthPublicKey: "issuer-key", EncryptorPublicKey: key32(2), Content: "Y2lwaGVydGV4dA==", PublicNotes: `{"type":"kyc"}`}),
		w.val(5, ok, "validators.join", join),
		w.val(6, ok, "validators.join", join),
		w.val(5, duplicate, "validators.join", join), // duplicate
	}, solUploads...)...)
	// 2: two of four approve 5 (not enough); a second wallet; the
	// solana proposal; a solana-signed tx before any plugin is refused.
	w.block(
		w.val(1, ok, "validators.approve", approve(5)),
		w.val(2, ok, "validators.approve", approve(5)),
		w.val(2, duplicate, "validators.approve", approve(5)), // twice
		w.tx(userA, ok, "idos.add_wallet", idos.AddWalletPayload{UserID: user, Wallet: w.linkProof(userB, walB, user)}),
		w.val(1, ok, "plugins.propose", plugins.ProposePayload{Scheme: "solana", KeyType: "ed25519",
			AddressFormat: "base58 Ed25519 public key (Solana address)", SHA256: solSum, ActivationDelay: 3}),
		w.tx(refused, unauthorized, "kv.put", kv.PutPayload{Key: "sol", Value: "early"}),
	)
	// 3: the third approval admits 5 (30 of 40); 6 gets one approval; the
	// solana module is being checked until the end of 3: no approval yet;
	// the user shares a credential with a consumer under a lock.
	lock := blockTime(6)
	w.block(
		w.val(3, ok, "validators.approve", approve(5)),
		w.val(1, ok, "validators.approve", approve(6)),
		w.val(2, checking, "plugins.approve", scheme("solana")),
		w.tx(userB, ok, "idos.share_credential", idos.ShareCredentialPayload{CredentialID: cred1, CopyID: copy1,
			EncryptorPublicKey: key32(3), Content: "Y29weQ==", ContentHash: "h", GrantID: grant1,
			Grantee: "ed25519:" + hex.EncodeToString(consumer.Signer.SignerID()), LockedUntil: lock}),
	)
	eipSum, eipUploads := w.uploads(2, eipWasm.Wasm()) // built in order: nonces
	// 4: solana, checked and open, reaches 3 approvals of 50 power (not 2/3
	// of the new set); 6's request (opened at 1, open until 4) expires at
	// the end of 4; eip191_wasm is uploaded; a locked grant cannot be
	// revoked.
	w.block(append(append([]goldenTx{
		w.val(3, ok, "plugins.approve", scheme("solana")),
		w.tx(userA, locked, "idos.revoke_grant", idos.RevokeGrantPayload{GrantID: grant1}),
	}, eipUploads...), w.val(2, ok, "plugins.approve", scheme("solana")))...)
	// 5: 6's request has expired; validator 5 decides solana (40 of 50),
	// active from 5+3 = 8; eip191_wasm is proposed (checked at 6, it will
	// expire).
	w.block(
		w.val(2, expired, "validators.approve", approve(6)),
		w.val(5, ok, "plugins.approve", scheme("solana")),
		w.val(2, ok, "plugins.propose", plugins.ProposePayload{Scheme: eipMeta.Scheme, KeyType: eipMeta.KeyType,
			AddressFormat: eipMeta.AddressFormat, SHA256: eipSum}),
		w.tx(issuer, ok, "idos.add_credential", idos.AddCredentialPayload{CredentialID: cred2, UserID: user,
			IssuerAuthPublicKey: "issuer-key", EncryptorPublicKey: key32(2), Content: "c2Vjb25k"}),
	)
	// 6: the lock is over: revoke; 6 asks again; validator 4 leaves.
	w.block(
		w.tx(userA, ok, "idos.revoke_grant", idos.RevokeGrantPayload{GrantID: grant1}),
		w.val(6, ok, "validators.join", join),
		w.val(4, ok, "validators.leave", validators.LeavePayload{}),
	)
	// 7: solana not active yet; 6 is approved by 1, 2 and 3 (30 of 40).
	w.block(
		w.tx(refused, unauthorized, "kv.put", kv.PutPayload{Key: "sol", Value: "still early"}),
		w.val(1, ok, "validators.approve", approve(6)),
		w.val(2, ok, "validators.approve", approve(6)),
		w.val(3, ok, "validators.approve", approve(6)),
	)
	// 8: solana is active: a solana-signed user stores data.
	w.block(
		w.tx(solanaUser, ok, "kv.put", kv.PutPayload{Key: "sol", Value: "hello"}),
		w.tx(userB, ok, "idos.remove_credential", idos.RemoveCredentialPayload{CredentialID: cred1}),
	)
	// 9: removal of validator 6 opened by 1; the solana removal opened by
	// 2; the eip191_wasm proposal (opened at 6, open until 9) expires at
	// the end of 9.
	w.block(
		w.val(1, ok, "validators.remove", validators.RemovePayload{Validator: goldenPub(6)}),
		w.val(2, ok, "plugins.remove", scheme("solana")),
		w.tx(solanaUser, ok, "kv.put", kv.PutPayload{Key: "sol", Value: "again"}),
	)
	// 10: removal of 6 approved by 2, 3 (30 of 50 is not 2/3: pending); solana
	// removal approved by 1, 3, 5 (40 of 50: removed from 10+2 = 12);
	// approving the expired proposal fails.
	w.block(
		w.val(3, expired, "plugins.approve", scheme(eipMeta.Scheme)),
		w.val(2, ok, "validators.remove", validators.RemovePayload{Validator: goldenPub(6)}),
		w.val(3, ok, "validators.remove", validators.RemovePayload{Validator: goldenPub(6)}),
		w.val(1, ok, "plugins.remove", scheme("solana")),
		w.val(3, ok, "plugins.remove", scheme("solana")),
		w.val(5, ok, "plugins.remove", scheme("solana")),
		w.tx(userA, ok, "idos.remove_wallet", idos.RemoveWalletPayload{WalletID: walB}),
	)
	// 11: 5 decides the removal of 6 (40 of 50); the last solana block.
	w.block(
		w.val(5, ok, "validators.remove", validators.RemovePayload{Validator: goldenPub(6)}),
		w.tx(solanaUser, ok, "kv.put", kv.PutPayload{Key: "sol", Value: "last"}),
	)
	// 12: solana is gone; 5 leaves (set 1, 2, 3: 30); 7 asks to join.
	w.block(
		w.tx(refused, unauthorized, "kv.put", kv.PutPayload{Key: "sol", Value: "too late"}),
		w.val(5, ok, "validators.leave", validators.LeavePayload{}),
		w.val(7, ok, "validators.join", join),
	)
	// 13: an empty block.
	w.block()
	// 14: 1 and 2 admit 7 with exactly 2/3 (20 of 30: "at least");
	// 8 and 9 ask to join (open until 17).
	w.block(
		w.val(1, ok, "validators.approve", approve(7)),
		w.val(2, ok, "validators.approve", approve(7)),
		w.val(8, ok, "validators.join", join),
		w.val(9, ok, "validators.join", join),
	)
	// 15: 8 gets 1 and 7, 9 gets 1 and 2: 20 of 40 each, not enough.
	w.block(
		w.val(1, ok, "validators.approve", approve(8)),
		w.val(7, ok, "validators.approve", approve(8)),
		w.val(1, ok, "validators.approve", approve(9)),
		w.val(2, ok, "validators.approve", approve(9)),
	)
	// 16: 7 leaves (set 30): at the end of the block 9 is decided (20 of
	// 30); 8's approval by 7 no longer counts (10 of 30).
	w.block(w.val(7, ok, "validators.leave", validators.LeavePayload{}))
	// 17: 9 was admitted already (set 1, 2, 3, 9: 40); 2's approval brings 8
	// to 20 of 40, short of 2/3, and 8's request expires at the end of 17.
	w.block(
		w.val(3, decided, "validators.approve", approve(9)),
		w.val(2, ok, "validators.approve", approve(8)),
	)
	// 18: too late for 8.
	w.block(w.val(3, expired, "validators.approve", approve(8)))

	// Chain grants (docs/spec/drivers.md), set 1, 2, 3, 9 (40).
	obs := func(kind observation.Kind, lock string, block uint64) []byte {
		b, err := observation.Grant{Kind: kind, Chain: "eip155:1", Contract: "0xc0ffee",
			Owner: hex.EncodeToString(userA.Signer.SignerID()), Grantee: hex.EncodeToString(consumer.Signer.SignerID()),
			DataID: cred1, LockedUntil: lock, BlockNumber: block, BlockHash: fmt.Sprintf("0x%x", block), TxRef: "0x1:0"}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	attest := func(i int, code int64, encs ...[]byte) goldenTx {
		return w.val(i, code, "drivers.attest", drivers.AttestPayload{Observations: encs})
	}
	added, lie, deleted := obs(observation.Added, "0", 100), obs(observation.Added, "9999999999", 100), obs(observation.Deleted, "0", 120)
	// 19: 1 and 2 attest a grant (20 of 40); 9 attests a different one;
	// a non-validator is refused.
	w.block(attest(1, ok, added), attest(2, ok, added), attest(9, ok, lie),
		w.tx(issuer, int64(module.CodeNotValidator), "drivers.attest", drivers.AttestPayload{Observations: [][]byte{added}}))
	// 20: 3 brings it to 30 of 40: the grant is applied; 9's late
	// attestation of it changes nothing.
	w.block(attest(3, ok, added), attest(9, ok, added))
	// 21: the lie (opened at 19) expires at the end of 21, unconfirmed.
	w.block()
	// 22: the deletion, by 1, 2 and 9, removes the grant.
	w.block(attest(1, ok, deleted), attest(2, ok, deleted), attest(9, ok, deleted))

	// Inserters by approval (docs/spec/data-model.md), set 1, 2, 3, 9 (40).
	const user2, walC = "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-0000000000a3"
	newInserter := "ed25519:" + hex.EncodeToString(consumer.Signer.SignerID())
	inserter := func(a string) idos.InserterPayload { return idos.InserterPayload{Inserter: a} }
	userC := w.acc(auth.SchemeEd25519, 36)
	notInserter := int64(idos.CodeUnauthorized)
	issuerAccount := g.IDOS.Inserters[0]
	// 23: 1 proposes the consumer as an inserter and 2 approves (20 of
	// 40); the issuer, not a validator, may not propose.
	w.block(
		w.val(1, ok, "idos.propose_inserter", inserter(newInserter)),
		w.tx(issuer, int64(module.CodeNotValidator), "idos.propose_inserter", inserter(newInserter)),
		w.val(2, ok, "idos.approve_inserter", inserter(newInserter)),
	)
	// 24: refused before 9's approval (30 of 40) adds it, accepted after.
	addUser2 := idos.AddUserPayload{UserID: user2, EncryptionPublicKey: key32(4), Wallet: w.linkProof(userC, walC, user2)}
	w.block(
		w.tx(consumer, notInserter, "idos.add_user", addUser2),
		w.val(9, ok, "idos.approve_inserter", inserter(newInserter)),
		w.tx(consumer, ok, "idos.add_user", addUser2),
	)
	// 25: 1, 2 and 3 remove the genesis issuer, which then may not act for
	// the user it created.
	w.block(
		w.val(1, ok, "idos.remove_inserter", inserter(issuerAccount)),
		w.val(2, ok, "idos.remove_inserter", inserter(issuerAccount)),
		w.val(3, ok, "idos.remove_inserter", inserter(issuerAccount)),
		w.tx(issuer, notInserter, "idos.add_credential", idos.AddCredentialPayload{CredentialID: cred1, UserID: user,
			IssuerAuthPublicKey: "issuer-key", EncryptorPublicKey: key32(2), Content: "dGhpcmQ="}),
	)
	return w
}

// goldenRun runs the workload on the app at dbPath, closing and reopening
// it after each height in restartAfter, and returns the app hash of every
// height (index 0: genesis).
func goldenRun(t *testing.T, w *goldenWorkload, rts *wasmhost.Runtimes, dbPath string, restartAfter map[int64]bool, keep retain.Policy) []string {
	t.Helper()
	open := func() *App {
		a, err := New(Config{DBPath: dbPath, Modules: composition.ModulesWasm(rts), Wasm: rts, Retain: keep})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	defer func() { a.Close() }()
	ctx := context.Background()
	res, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: testChain, AppStateBytes: w.state, Time: genesisTime,
		InitialHeight: 1, Validators: w.genVals})
	if err != nil {
		t.Fatal(err)
	}
	hashes := []string{hex.EncodeToString(res.AppHash)}
	for i, blk := range w.blocks {
		h := int64(i + 1)
		var raws [][]byte
		for _, tx := range blk {
			raws = append(raws, tx.raw)
		}
		r := runBlock(t, a, h, raws...)
		for j, tr := range r.TxResults {
			if want := blk[j].code; want != anyCode && int64(tr.Code) != want {
				t.Errorf("height %d tx %d (%s): code %d %q, want %d", h, j, blk[j].what, tr.Code, tr.Log, want)
			}
		}
		hashes = append(hashes, hex.EncodeToString(r.AppHash))
		if restartAfter[h] {
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			a = open()
			info, err := a.Info(ctx, &abci.RequestInfo{})
			if err != nil {
				t.Fatal(err)
			}
			if info.LastBlockHeight != h || hex.EncodeToString(info.LastBlockAppHash) != hashes[h] {
				t.Fatalf("after restart at %d: Info height %d hash %X", h, info.LastBlockHeight, info.LastBlockAppHash)
			}
		}
	}
	checkGoldenOutcome(t, a)
	return hashes
}

// checkGoldenOutcome asserts that the workload did what its comments say:
// every kind of decision of both approval users was taken.
func checkGoldenOutcome(t *testing.T, a *App) {
	t.Helper()
	statuses := func(path string) string {
		res, err := a.Query(context.Background(), &abci.RequestQuery{Path: path, Data: []byte(`{"all":true}`)})
		if err != nil || res.Code != CodeOK {
			t.Fatalf("%s: %v %s", path, err, res.Log)
		}
		var r struct {
			Requests []struct {
				Kind, Status, Target, Scheme string
				Decided                      int64
			}
		}
		if err := json.Unmarshal(res.Value, &r); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, q := range r.Requests {
			out = append(out, fmt.Sprintf("%s %.8s%s %s@%d", q.Kind, q.Target, q.Scheme, q.Status, q.Decided))
		}
		return strings.Join(out, ", ")
	}
	// In (kind, target) order: the keys of 8, 5, 6, 7, 9 sort so.
	p := func(i int) string { return goldenPub(i)[:8] }
	if got, want := statuses("/validators.requests"), "join "+p(8)+" expired@17, join "+p(5)+" approved@3, join "+p(6)+" approved@7, join "+
		p(7)+" approved@14, join "+p(9)+" approved@16, remove "+p(6)+" approved@11"; got != want {
		t.Errorf("validator requests:\n got %s\nwant %s", got, want)
	}
	if got, want := statuses("/plugins.requests"), "add eip191_wasm expired@9, add solana approved@5, remove solana approved@10"; got != want {
		t.Errorf("plugin requests:\n got %s\nwant %s", got, want)
	}
	res, err := a.Query(context.Background(), &abci.RequestQuery{Path: "/idos.inserter_proposals", Data: []byte(`{"all":true}`)})
	var ins idos.InserterProposalsResult
	if err != nil || res.Code != CodeOK || json.Unmarshal(res.Value, &ins) != nil {
		t.Fatalf("inserter proposals: %v %s", err, res.Log)
	}
	var got []string
	for _, q := range ins.Proposals {
		got = append(got, fmt.Sprintf("%s %s %s@%d", q.Kind, q.Target, q.Status, q.Decided))
	}
	// The consumer (key 33) added, the genesis issuer (key 30) removed.
	if want := "add ed25519:" + goldenPub(33) + " approved@24, remove ed25519:" + goldenPub(30) + " approved@25"; strings.Join(got, ", ") != want {
		t.Errorf("inserter proposals:\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
}

func readGolden(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var h int
		var hash string
		if _, err := fmt.Sscanf(line, "%d %s", &h, &hash); err != nil || h != len(out) {
			t.Fatalf("%s: bad line %q (want height %d and a hash)", goldenFile, line, len(out))
		}
		out = append(out, hash)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeGolden(t *testing.T, hashes []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# App hash at every height of the golden workload (node/app/golden_test.go).\n")
	b.WriteString("# Height 0 is InitChain. Regenerate only for an intended consensus change:\n")
	b.WriteString("#   go test -count=1 -run TestGoldenHeights ./node/app/ -update\n")
	for h, hash := range hashes {
		b.WriteString(strconv.Itoa(h) + " " + hash + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// diffGolden lists the heights whose hash differs from the pins.
func diffGolden(got, want []string) string {
	var b strings.Builder
	for h := 0; h < max(len(got), len(want)); h++ {
		g, w := "(none)", "(none)"
		if h < len(got) {
			g = got[h]
		}
		if h < len(want) {
			w = want[h]
		}
		if g != w {
			fmt.Fprintf(&b, "  height %d: got %s, pinned %s\n", h, g, w)
		}
	}
	return b.String()
}

// goldenSetup makes the Wasm runtimes (closed with the test) and the
// golden workload.
func goldenSetup(t *testing.T) (*wasmhost.Runtimes, *goldenWorkload) {
	t.Helper()
	ctx := context.Background()
	rts, err := wasmhost.NewRuntimes(wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rts.Close(ctx) })
	rt, err := rts.Get(ctx, wasmhost.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return rts, newGoldenWorkload(t, rt)
}

// TestGoldenHeights pins the app hash at every height of a seeded workload
// over all modules (iavl's TestTreeHash, STYLE.md 9). The same blocks run on
// one app that is closed and reopened on its SQLite file at several heights
// (one right after a plugin decision, one while it is scheduled, one while
// it is active) and on a second app in a fresh directory without restarts;
// both must give the pinned hash at every height. A difference is a
// consensus change: regenerate with -update only if it is intended.
func TestGoldenHeights(t *testing.T) {
	rts, w := goldenSetup(t)
	restarted := goldenRun(t, w, rts, filepath.Join(t.TempDir(), "state.sqlite"), map[int64]bool{2: true, 5: true, 8: true, 11: true},
		// Pruning (RetainHeight, WAL checkpoints) must not change a hash.
		retain.Policy{Blocks: 3})
	fresh := goldenRun(t, w, rts, filepath.Join(t.TempDir(), "state.sqlite"), nil, retain.Policy{})
	if d := diffGolden(restarted, fresh); d != "" {
		t.Fatalf("the restarted app and the fresh app disagree:\n%s", d)
	}
	if *update {
		writeGolden(t, fresh)
		t.Logf("wrote %s (%d heights)", goldenFile, len(fresh))
		return
	}
	if d := diffGolden(fresh, readGolden(t)); d != "" {
		t.Fatalf("app hashes differ from %s (a consensus change; if intended, rerun with -update and say so in the commit):\n%s", goldenFile, d)
	}
}
