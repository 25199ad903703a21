package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/kv"
)

const testChain = "idos-test"

func newApp(t testing.TB, dir string) *App {
	t.Helper()
	a, err := New(Config{Modules: composition.Modules(), DBPath: filepath.Join(dir, "state.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func edAccount(seed byte) *client.Account {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return client.NewAccount(auth.NewEd25519Signer(ed25519.NewKeyFromSeed(s)), testChain)
}

func ethAccount(t testing.TB, hexKey string) *client.Account {
	k, err := crypto.HexToECDSA(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	return client.NewAccount(auth.NewEIP191Signer(k), testChain)
}

func build(t testing.TB, a *client.Account, action string, payload any) []byte {
	t.Helper()
	b, err := a.Build(action, payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var genesisTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// initChain applies the default genesis of a's modules (for
// composition.Modules(), composition.DefaultGenesisState()).
func initChain(t testing.TB, a *App) []byte {
	t.Helper()
	g, err := ParseGenesis(a.modules, nil)
	if err != nil {
		t.Fatal(err)
	}
	state, _ := g.Canonical()
	res, err := a.InitChain(context.Background(), &abci.RequestInitChain{
		ChainId: testChain, AppStateBytes: state, Time: genesisTime, InitialHeight: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.AppHash
}

// runBlock finalizes and commits one block, returning its results.
func runBlock(t testing.TB, a *App, height int64, txs ...[]byte) *abci.ResponseFinalizeBlock {
	t.Helper()
	ctx := context.Background()
	res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{
		Height: height, Txs: txs, Time: genesisTime.Add(time.Duration(height) * time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := a.Commit(ctx, &abci.RequestCommit{})
	if err != nil {
		t.Fatal(err)
	}
	// The last retain.Blocks blocks are kept: heights from
	// height-Blocks+1; 0 (prune nothing) while the chain is shorter.
	want := int64(0)
	if a.retain.Blocks > 0 && height > a.retain.Blocks {
		want = height - a.retain.Blocks + 1
	}
	if cr.RetainHeight != want {
		t.Fatalf("height %d keeping %d blocks: RetainHeight %d", height, a.retain.Blocks, cr.RetainHeight)
	}
	return res
}

// workload returns a deterministic series of blocks mixing both schemes,
// inserts, updates, deletes, failing actions and bad transactions.
func workload(t testing.TB) [][][]byte {
	ed := edAccount(7)
	eth := ethAccount(t, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	var blocks [][][]byte
	blocks = append(blocks, [][]byte{
		build(t, ed, "kv.put", kv.PutPayload{Key: "name", Value: "alice"}),
		build(t, eth, "kv.put", kv.PutPayload{Key: "name", Value: "bob"}),
	})
	replay := build(t, ed, "kv.put", kv.PutPayload{Key: "age", Value: "40"})
	blocks = append(blocks, [][]byte{
		replay,
		replay, // same nonce again: CodeBadNonce
		build(t, eth, "kv.delete", kv.DeletePayload{Key: "missing"}), // action fails, nonce consumed
		build(t, ed, "kv.put", kv.PutPayload{Key: "name", Value: "alice2"}),
	})
	blocks = append(blocks, nil) // an empty block still moves the app hash
	blocks = append(blocks, [][]byte{
		build(t, eth, "kv.delete", kv.DeletePayload{Key: "name"}),
		build(t, ed, "kv.put", json.RawMessage(`{"key":"x","value":"y","extra":1}`)), // unknown field: action fails
	})
	return blocks
}

// Two applications fed the same blocks compute the same app hash at every
// height, and the hash of this seeded workload is pinned (any change to the
// changeset encoding, app hash composition or execution rules shows here).
func TestSameBlocksSameAppHash(t *testing.T) {
	blocks := workload(t)
	a1, a2 := newApp(t, t.TempDir()), newApp(t, t.TempDir())
	defer a1.Close()
	defer a2.Close()
	if h1, h2 := initChain(t, a1), initChain(t, a2); string(h1) != string(h2) {
		t.Fatalf("genesis app hashes differ: %X vs %X", h1, h2)
	}
	var last []byte
	for i, txs := range blocks {
		h := int64(i + 1)
		r1, r2 := runBlock(t, a1, h, txs...), runBlock(t, a2, h, txs...)
		if string(r1.AppHash) != string(r2.AppHash) {
			t.Fatalf("height %d: app hashes differ: %X vs %X", h, r1.AppHash, r2.AppHash)
		}
		last = r1.AppHash
	}
	const pinned = "a20482dec40e7f0db3462d5411e14519650ec832ef0f7d1daf1fbec00b0813df"
	if got := hex.EncodeToString(last); got != pinned {
		t.Fatalf("final app hash %s, want pinned %s", got, pinned)
	}
}

// The genesis app hash depends on the content of app_state, not on its
// formatting: CometBFT re-indents app_state in genesis.json.
func TestGenesisFormattingDoesNotMatter(t *testing.T) {
	var hashes []string
	for _, state := range []string{string(composition.DefaultGenesisState()), "{\n  \"max_tx_bytes\": 65536\n}\n", "", `{"validators":{"join_expiry_blocks":600}}`} {
		a := newApp(t, t.TempDir())
		res, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: []byte(state)})
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hex.EncodeToString(res.AppHash))
	}
	if hashes[0] != hashes[1] || hashes[0] != hashes[2] || hashes[0] != hashes[3] {
		t.Fatalf("genesis app hashes differ by formatting: %v", hashes)
	}
	a := newApp(t, t.TempDir())
	defer a.Close()
	for _, bad := range []string{`{"max_tx_bytes":0}`, `{"max_tx_bytes":65536,"typo":1}`, `[`,
		`{"validators":{"approval_threshold":{"numerator":3,"denominator":2}}}`, `{"validators":{"join_expiry_blocks":0}}`} {
		if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: []byte(bad)}); err == nil {
			t.Errorf("InitChain accepted app_state %s", bad)
		}
	}
}

// Each transaction of the workload gets the documented result code; failed
// ones leave state as it was, except the consumed nonce.
func TestResultCodesAndState(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	blocks := workload(t)
	want := [][]uint32{
		{CodeOK, CodeOK},
		{CodeOK, CodeBadNonce, module.CodeNotFound, CodeOK},
		{},
		{CodeOK, module.CodeInvalidPayload},
	}
	for i, txs := range blocks {
		res := runBlock(t, a, int64(i+1), txs...)
		for j, r := range res.TxResults {
			if r.Code != want[i][j] {
				t.Errorf("block %d tx %d: code %d (%s), want %d", i+1, j, r.Code, r.Log, want[i][j])
			}
		}
	}
	ed := edAccount(7)
	edID := "ed25519:" + hex.EncodeToString(ed.Signer.SignerID())
	ethID := "eip191:0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
	for _, c := range []struct {
		path, data string
		code       uint32
		value      string
	}{
		{"/kv.get", `{"owner":"` + edID + `","key":"name"}`, CodeOK, `{"owner":"` + edID + `","key":"name","value":"alice2"}`},
		{"/kv.get", `{"owner":"` + edID + `","key":"age"}`, CodeOK, `{"owner":"` + edID + `","key":"age","value":"40"}`},
		{"/kv.get", `{"owner":"` + edID + `","key":"x"}`, CodeActionFailed, ""},
		{"/kv.get", `{"owner":"` + ethID + `","key":"name"}`, CodeActionFailed, ""},
		{"/account", edID, CodeOK, `{"id":"` + edID + `","next_nonce":4}`},
		{"/account", ethID, CodeOK, `{"id":"` + ethID + `","next_nonce":3}`},
		{"/nope", "", CodeUnknownAction, ""},
	} {
		res, err := a.Query(context.Background(), &abci.RequestQuery{Path: c.path, Data: []byte(c.data)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != c.code || string(res.Value) != c.value || res.Height != int64(len(blocks)) {
			t.Errorf("query %s %s: code %d value %s height %d (%s); want code %d value %s",
				c.path, c.data, res.Code, res.Value, res.Height, res.Log, c.code, c.value)
		}
	}
}

// A crash after FinalizeBlock and before Commit loses the block; Info reports
// the last committed height, and replaying the block gives the same hash.
func TestCrashBeforeCommitReplays(t *testing.T) {
	dir := t.TempDir()
	blocks := workload(t)
	ref := newApp(t, t.TempDir())
	defer ref.Close()
	initChain(t, ref)
	var want [][]byte
	for i, txs := range blocks {
		want = append(want, runBlock(t, ref, int64(i+1), txs...).AppHash)
	}

	a := newApp(t, dir)
	initChain(t, a)
	runBlock(t, a, 1, blocks[0]...)
	if _, err := a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{
		Height: 2, Txs: blocks[1], Time: genesisTime.Add(2 * time.Second),
	}); err != nil {
		t.Fatal(err)
	}
	a.Close() // "crash": block 2 was never committed

	a = newApp(t, dir)
	defer a.Close()
	info, err := a.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 1 || string(info.LastBlockAppHash) != string(want[0]) {
		t.Fatalf("Info after crash: height %d hash %X; want 1 %X", info.LastBlockHeight, info.LastBlockAppHash, want[0])
	}
	for i := 1; i < len(blocks); i++ {
		if got := runBlock(t, a, int64(i+1), blocks[i]...).AppHash; string(got) != string(want[i]) {
			t.Fatalf("height %d after restart: %X, want %X", i+1, got, want[i])
		}
	}
}

// CheckTx admits a sender's transactions in nonce order, counting those
// already in the mempool, and rejects replays, gaps, wrong chains, forged
// signatures, unknown actions and garbage with their codes.
func TestCheckTx(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	runBlock(t, a, 1)
	ed := edAccount(1)
	tx0 := build(t, ed, "kv.put", kv.PutPayload{Key: "k", Value: "v0"})
	tx1 := build(t, ed, "kv.put", kv.PutPayload{Key: "k", Value: "v1"})
	ed.Nonce = 5
	gap := build(t, ed, "kv.put", kv.PutPayload{Key: "k", Value: "v5"})
	other := edAccount(2)
	other.ChainID = "other-chain"
	wrongChain := build(t, other, "kv.put", kv.PutPayload{Key: "k", Value: "v"})
	forged := append([]byte(nil), build(t, edAccount(3), "kv.put", kv.PutPayload{Key: "k", Value: "v"})...)
	forged[len(forged)-1] ^= 0x01 // last byte of the signature
	unknown := build(t, edAccount(4), "kv.nope", kv.PutPayload{})

	check := func(name string, raw []byte, typ abci.CheckTxType, want uint32) {
		t.Helper()
		res, err := a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != want {
			t.Errorf("%s: code %d (%s), want %d", name, res.Code, res.Log, want)
		}
	}
	check("first", tx0, abci.CheckTxType_New, CodeOK)
	check("second, nonce counted from the mempool", tx1, abci.CheckTxType_New, CodeOK)
	check("replay while pending", tx0, abci.CheckTxType_New, CodeBadNonce)
	check("nonce gap", gap, abci.CheckTxType_New, CodeBadNonce)
	check("wrong chain", wrongChain, abci.CheckTxType_New, CodeWrongChain)
	check("forged signature", forged, abci.CheckTxType_New, CodeUnauthorized)
	check("unknown action", unknown, abci.CheckTxType_New, CodeUnknownAction)
	check("garbage", []byte{0xde, 0xad}, abci.CheckTxType_New, CodeMalformed)
	check("oversized", make([]byte, 70_000), abci.CheckTxType_New, CodeTooLarge)

	runBlock(t, a, 2, tx0)
	// After the commit, the mempool is rechecked from committed state.
	check("recheck of the committed tx", tx0, abci.CheckTxType_Recheck, CodeBadNonce)
	check("recheck of the pending tx", tx1, abci.CheckTxType_Recheck, CodeOK)
}

// Blocks with bytes that are not transactions are rejected by validators;
// the proposer drops such bytes itself.
func TestProposalChecks(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	good := build(t, edAccount(1), "kv.put", kv.PutPayload{Key: "k", Value: "v"})
	ctx := context.Background()
	pp, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{{1, 2}, good}, MaxTxBytes: 1 << 20})
	if err != nil || len(pp.Txs) != 1 || string(pp.Txs[0]) != string(good) {
		t.Fatalf("PrepareProposal kept %d txs (%v), want only the valid one", len(pp.Txs), err)
	}
	for _, c := range []struct {
		txs  [][]byte
		want abci.ResponseProcessProposal_ProposalStatus
	}{
		{[][]byte{good}, abci.ResponseProcessProposal_ACCEPT},
		{nil, abci.ResponseProcessProposal_ACCEPT},
		{[][]byte{good, {0xc0}}, abci.ResponseProcessProposal_REJECT},
	} {
		res, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: c.txs, Height: 1})
		if err != nil || res.Status != c.want {
			t.Errorf("ProcessProposal(%d txs) = %v (%v), want %v", len(c.txs), res.Status, err, c.want)
		}
	}
}

// CometBFT calls the mempool, query and consensus connections concurrently.
// This drives all three at once (run it with -race): CheckTx and Query must
// only ever see committed state, and blocks must execute unaffected.
func TestConcurrentConnections(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	ctx := context.Background()
	senders := make([]*client.Account, 8)
	for i := range senders {
		senders[i] = edAccount(byte(100 + i))
	}
	var blocks [][][]byte
	for range 20 {
		var txs [][]byte
		for _, s := range senders {
			txs = append(txs, build(t, s, "kv.put", kv.PutPayload{Key: "k", Value: fmt.Sprint(s.Nonce)}))
		}
		blocks = append(blocks, txs)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // mempool connection
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			raw := blocks[i%len(blocks)][i%len(senders)]
			if _, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() { // query connection
		defer wg.Done()
		last := int64(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := a.Query(ctx, &abci.RequestQuery{Path: "/account", Data: []byte("ed25519:00")})
			if err != nil {
				t.Error(err)
				return
			}
			if res.Height < last {
				t.Errorf("query height went back from %d to %d", last, res.Height)
			}
			last = res.Height
			if _, err := a.Info(ctx, &abci.RequestInfo{}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i, txs := range blocks {
		res := runBlock(t, a, int64(i+1), txs...)
		for j, r := range res.TxResults {
			if r.Code != CodeOK {
				t.Fatalf("block %d tx %d: %s", i+1, j, r.Log)
			}
		}
	}
	close(stop)
	wg.Wait()
}

// Between InitChain and the commit of block 1 the genesis schema is not yet
// visible to readers: CheckTx still admits a new sender's first transaction,
// and queries say plainly that nothing is committed.
func TestBeforeFirstCommit(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	ctx := context.Background()
	raw := build(t, edAccount(9), "kv.put", kv.PutPayload{Key: "k", Value: "v"})
	res, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw})
	if err != nil || res.Code != CodeOK {
		t.Fatalf("CheckTx before block 1: code %d (%v) %s", res.Code, err, res.Log)
	}
	q, err := a.Query(ctx, &abci.RequestQuery{Path: "/account", Data: []byte("ed25519:00")})
	if err != nil || q.Code != CodeNotReady {
		t.Fatalf("query before block 1: %v, code %d, want CodeNotReady", err, q.Code)
	}
	if r := runBlock(t, a, 1, raw); r.TxResults[0].Code != CodeOK {
		t.Fatalf("block 1: %s", r.TxResults[0].Log)
	}
}

// The mempool may hold a sender's transactions out of nonce order, with
// gaps. The proposer puts each sender's nonces in order in the positions
// its transactions had, stops a sender at a gap, and so builds a block in
// which every transaction executes.
func TestPrepareProposalOrdersNonces(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	runBlock(t, a, 1)
	alice, bob := edAccount(21), edAccount(22)
	var atx, btx [][]byte
	for i := range 4 {
		atx = append(atx, build(t, alice, "kv.put", kv.PutPayload{Key: "k", Value: fmt.Sprint(i)}))
	}
	for i := range 2 {
		btx = append(btx, build(t, bob, "kv.put", kv.PutPayload{Key: "k", Value: fmt.Sprint(i)}))
	}
	// Mempool order: A1 B0 A0 A3 B1 A1(again); A2 is missing.
	mempool := [][]byte{atx[1], btx[0], atx[0], atx[3], btx[1], atx[1]}
	res, err := a.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Txs: mempool, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{atx[0], btx[0], atx[1], btx[1]}
	if len(res.Txs) != len(want) {
		t.Fatalf("proposal has %d txs, want %d", len(res.Txs), len(want))
	}
	for i := range want {
		if !bytes.Equal(res.Txs[i], want[i]) {
			t.Fatalf("proposal tx %d is not the expected one", i)
		}
	}
	for i, r := range runBlock(t, a, 2, res.Txs...).TxResults {
		if r.Code != CodeOK {
			t.Errorf("tx %d of the proposal failed: %s", i, r.Log)
		}
	}
}

// CheckTx tolerates a sender's transactions arriving out of order on
// recheck, and lets a sender fill a gap, but never admits two transactions
// with one nonce or a nonce already used.
func TestCheckTxNonceSet(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	runBlock(t, a, 1)
	acc := edAccount(23)
	var txs [][]byte
	for i := range 4 {
		txs = append(txs, build(t, acc, "kv.put", kv.PutPayload{Key: "k", Value: fmt.Sprint(i)}))
	}
	other := edAccount(23)
	other.Nonce = 1
	sameNonce := build(t, other, "kv.put", kv.PutPayload{Key: "k", Value: "other"})
	check := func(name string, raw []byte, typ abci.CheckTxType, want uint32) {
		t.Helper()
		res, err := a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: typ})
		if err != nil || res.Code != want {
			t.Errorf("%s: code %d (%v) %s, want %d", name, res.Code, err, res.Log, want)
		}
	}
	check("nonce 0", txs[0], abci.CheckTxType_New, CodeOK)
	check("nonce 2 skips 1", txs[2], abci.CheckTxType_New, CodeBadNonce)
	check("nonce 1", txs[1], abci.CheckTxType_New, CodeOK)
	check("another tx with nonce 1", sameNonce, abci.CheckTxType_New, CodeBadNonce)
	runBlock(t, a, 2, txs[0])
	// Recheck in the mempool's (wrong) order: 1 is kept; a later recheck
	// of an out-of-order nonce is kept too.
	check("recheck 0 (committed)", txs[0], abci.CheckTxType_Recheck, CodeBadNonce)
	check("recheck 3 before 2", txs[3], abci.CheckTxType_Recheck, CodeOK)
	check("recheck 1", txs[1], abci.CheckTxType_Recheck, CodeOK)
	check("new 2 fills the gap", txs[2], abci.CheckTxType_New, CodeOK)
}

// FinalizeBlock called again for the same height before Commit starts over
// from committed state and gives the same result; for block 1, whose
// transaction also holds InitChain's writes, it refuses instead of running
// on an empty schema.
func TestFinalizeAgainBeforeCommit(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	ctx := context.Background()
	req1 := &abci.RequestFinalizeBlock{Height: 1, Time: genesisTime}
	if _, err := a.FinalizeBlock(ctx, req1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FinalizeBlock(ctx, req1); err == nil {
		t.Fatal("block 1 re-executed after its genesis writes were rolled back")
	}

	b := newApp(t, t.TempDir())
	defer b.Close()
	initChain(t, b)
	runBlock(t, b, 1)
	raw := build(t, edAccount(31), "kv.put", kv.PutPayload{Key: "k", Value: "v"})
	req2 := &abci.RequestFinalizeBlock{Height: 2, Txs: [][]byte{raw}, Time: genesisTime.Add(2 * time.Second)}
	first, err := b.FinalizeBlock(ctx, req2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.FinalizeBlock(ctx, req2)
	if err != nil || !bytes.Equal(first.AppHash, again.AppHash) || again.TxResults[0].Code != CodeOK {
		t.Fatalf("re-execution: %v, app hash %X vs %X", err, again.AppHash, first.AppHash)
	}
}
