package valclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/validators"
	"github.com/idos-network/idos-node/node/tx"
	"github.com/idos-network/idos-node/node/wire"
)

// fakeRPC answers /account with a fixed nonce and records broadcasts.
type fakeRPC struct {
	nonce    uint64
	execCode uint32
	execLog  string
	sent     []types.Tx
	queries  []string
	vals     []*types.Validator
}

func (f *fakeRPC) ABCIQuery(_ context.Context, path string, data cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error) {
	f.queries = append(f.queries, path+" "+string(data))
	var v any
	switch path {
	case "/account":
		v = wire.AccountInfo{ID: string(data), NextNonce: f.nonce}
	case QueryList:
		v = ValidatorSet{Validators: []Validator{{PubKey: "aa", Power: 10}}, TotalPower: 10}
	default:
		return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Code: wire.CodeUnknownAction, Log: "unknown query"}}, nil
	}
	b, _ := json.Marshal(v)
	return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: b}}, nil
}

func (f *fakeRPC) BroadcastTxCommit(_ context.Context, t types.Tx) (*ctypes.ResultBroadcastTxCommit, error) {
	f.sent = append(f.sent, t)
	return &ctypes.ResultBroadcastTxCommit{
		Hash: t.Hash(), Height: 42,
		TxResult: abci.ExecTxResult{Code: f.execCode, Codespace: app.Codespace, Log: f.execLog},
	}, nil
}

func (f *fakeRPC) BroadcastTxSync(_ context.Context, t types.Tx) (*ctypes.ResultBroadcastTx, error) {
	f.sent = append(f.sent, t)
	return &ctypes.ResultBroadcastTx{Hash: t.Hash()}, nil
}

func (f *fakeRPC) Validators(_ context.Context, h *int64, page, per *int) (*ctypes.ResultValidators, error) {
	lo := min((*page-1)*(*per), len(f.vals))
	hi := min(lo+*per, len(f.vals))
	return &ctypes.ResultValidators{BlockHeight: 7, Validators: f.vals[lo:hi], Count: hi - lo, Total: len(f.vals)}, nil
}

func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32))
}

func TestApproveBuildsSignedTransaction(t *testing.T) {
	key := testKey(1)
	candidate := strings.ToUpper(ValidatorID(testKey(2)))
	f := &fakeRPC{nonce: 5}
	c := New(f, "idos-test")
	res, err := c.Approve(context.Background(), key, candidate)
	if err != nil {
		t.Fatal(err)
	}
	if res.Height != 42 || res.Hash == "" {
		t.Errorf("result %+v", res)
	}
	if want := "/account " + AccountID(key); f.queries[0] != want {
		t.Errorf("nonce query %q, want %q", f.queries[0], want)
	}
	got, err := tx.Decode(f.sent[0])
	if err != nil {
		t.Fatal(err)
	}
	if got.Nonce != 5 || got.Action != ActionApprove || got.ChainID != "idos-test" || got.Scheme != auth.SchemeEd25519 {
		t.Errorf("tx %+v", got)
	}
	// The module compares ids as lowercase hex.
	if want := `{"candidate":"` + strings.ToLower(candidate) + `"}`; string(got.Payload) != want {
		t.Errorf("payload %s, want %s", got.Payload, want)
	}
	if id, err := got.Verify(auth.DefaultRegistry()); err != nil || id != ValidatorID(key) {
		t.Errorf("signature: signer %q, %v", id, err)
	}
}

func TestJoinAndLeaveSendEmptyObject(t *testing.T) {
	f := &fakeRPC{}
	c := New(f, "idos-test")
	if _, err := c.Join(context.Background(), testKey(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Leave(context.Background(), testKey(1)); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{ActionJoin, ActionLeave} {
		got, err := tx.Decode(f.sent[i])
		if err != nil {
			t.Fatal(err)
		}
		if got.Action != want || string(got.Payload) != "{}" {
			t.Errorf("tx %d: %s %s", i, got.Action, got.Payload)
		}
	}
}

func TestRejectionCarriesNodeLog(t *testing.T) {
	f := &fakeRPC{execCode: validators.CodeSelfApproval, execLog: "no self-approval"}
	_, err := New(f, "idos-test").Remove(context.Background(), testKey(1), ValidatorID(testKey(1)))
	r, ok := IsRejected(err)
	if !ok {
		t.Fatalf("error %v, want a rejection", err)
	}
	if r.Code != validators.CodeSelfApproval || r.Log != "no self-approval" || r.Stage != "exec" || r.Height != 42 {
		t.Errorf("rejection %+v", r)
	}
	if want := "validators.remove rejected (code 36): no self-approval"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	// The code matches its sentinel, and only that one.
	if !errors.Is(err, validators.ErrSelfApproval) || errors.Is(err, validators.ErrExpired) || errors.Is(err, module.ErrNotFound) {
		t.Errorf("errors.Is on a code-%d rejection: self-approval %v, expired %v", r.Code,
			errors.Is(err, validators.ErrSelfApproval), errors.Is(err, validators.ErrExpired))
	}
}

func TestBadIDIsRefusedBeforeSending(t *testing.T) {
	f := &fakeRPC{}
	_, err := New(f, "idos-test").Approve(context.Background(), testKey(1), "abc")
	if err == nil || len(f.sent) != 0 {
		t.Fatalf("err %v, sent %d", err, len(f.sent))
	}
}

func TestNoWaitUsesSync(t *testing.T) {
	f := &fakeRPC{}
	c := New(f, "idos-test")
	c.Wait = false
	res, err := c.Join(context.Background(), testKey(1))
	if err != nil || res.Height != 0 || len(f.sent) != 1 {
		t.Fatalf("res %+v err %v sent %d", res, err, len(f.sent))
	}
}

func TestQueryErrors(t *testing.T) {
	f := &fakeRPC{}
	c := New(f, "idos-test")
	set, err := c.List(context.Background())
	if err != nil || set.TotalPower != 10 {
		t.Fatalf("list %+v %v", set, err)
	}
	_, err = c.Requests(context.Background(), true)
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Log != "unknown query" {
		t.Fatalf("requests error %v", err)
	}
}

func TestConsensusValidatorsFollowsPages(t *testing.T) {
	f := &fakeRPC{}
	for i := range 150 {
		pk := cmted25519.GenPrivKeyFromSecret([]byte{byte(i)}).PubKey()
		f.vals = append(f.vals, types.NewValidator(pk, 10))
	}
	set, err := New(f, "x").ConsensusValidators(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Height != 7 || len(set.Validators) != 150 {
		t.Fatalf("height %d, %d validators", set.Height, len(set.Validators))
	}
	for i := 1; i < len(set.Validators); i++ {
		if set.Validators[i-1].PubKey >= set.Validators[i].PubKey {
			t.Fatal("not sorted by public key")
		}
	}
}

func TestNeeded(t *testing.T) {
	p := Params{ApprovalThreshold: Fraction{2, 3}}
	// Equal power 10: 3 of 4, 4 of 5, 4 of 6 validators.
	for total, want := range map[int64]int64{40: 27, 50: 34, 60: 40, 30: 20, 10: 7} {
		if got := p.Needed(total); got != want {
			t.Errorf("Needed(%d) = %d, want %d", total, got, want)
		}
	}
}
