package lightclient

import (
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"
)

// VerifyTx against headers built from a block of three transactions: each
// case lies about one thing and must fail with its class.
func TestVerifyTx(t *testing.T) {
	txs := types.Txs{types.Tx("tx-a"), types.Tx("tx-b"), types.Tx("tx-c")}
	results := []*abci.ExecTxResult{{Code: 0, Log: "ok"}, {Code: 7, Log: "refused"}, {Code: 0, Data: []byte{1}, GasUsed: 3}}
	header := &types.SignedHeader{Header: &types.Header{Height: 10, DataHash: txs.Hash()}}
	next := &types.SignedHeader{Header: &types.Header{Height: 11, LastResultsHash: types.NewResults(results).Hash()}}

	for i, want := range []uint32{0, 7, 0} {
		rc, err := VerifyTx(txs[i], header, txs.Proof(i), next, results)
		if err != nil || rc.Result.Code != want || rc.Index != uint32(i) || rc.Height != 10 {
			t.Fatalf("tx %d: %+v %v", i, rc, err)
		}
	}
	altered := append([]*abci.ExecTxResult(nil), results...)
	altered[1] = &abci.ExecTxResult{Code: 0, Log: "refused"}
	logOnly := append([]*abci.ExecTxResult(nil), results...)
	logOnly[1] = &abci.ExecTxResult{Code: 7, Log: "the log is not hashed"}
	otherBlock := &types.SignedHeader{Header: &types.Header{Height: 10, DataHash: types.Txs{types.Tx("tx-a")}.Hash()}}
	wrongNext := &types.SignedHeader{Header: &types.Header{Height: 12, LastResultsHash: next.LastResultsHash}}
	for i, c := range []struct {
		tx      types.Tx
		header  *types.SignedHeader
		proof   types.TxProof
		next    *types.SignedHeader
		results []*abci.ExecTxResult
		want    error
	}{
		// 0: the proof is of another transaction.
		{txs[0], header, txs.Proof(1), next, results, ErrTxNotIncluded},
		// 1: the transaction is not in the verified block.
		{txs[1], otherBlock, txs.Proof(1), next, results, ErrTxNotIncluded},
		// 2: a failed result reported as a success.
		{txs[1], header, txs.Proof(1), next, altered, ErrTxResult},
		// 3: a result missing.
		{txs[0], header, txs.Proof(0), next, results[:2], ErrTxResult},
		// 4: results checked against a header that is not the next one.
		{txs[0], header, txs.Proof(0), wrongNext, results, ErrTxResult},
		// 5: only the log differs: not hashed by CometBFT, accepted.
		{txs[1], header, txs.Proof(1), next, logOnly, nil},
	} {
		_, err := VerifyTx(c.tx, c.header, c.proof, c.next, c.results)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
}
