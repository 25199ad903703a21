package lightclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"
)

// Error classes of a write's receipt, for errors.Is.
var (
	// ErrTxNotIncluded: the transaction was not shown to be in a block
	// this client verified: no node had it in a block within the wait (a
	// gateway that dropped it, or a chain that did not take it), or the
	// inclusion proof did not match the verified header's data hash.
	ErrTxNotIncluded = errors.New("lightclient: transaction not proven in a verified block")
	// ErrTxResult: the block's results do not hash to the verified next
	// header's LastResultsHash, so the transaction's result is unproven.
	ErrTxResult = errors.New("lightclient: transaction result not proven by the verified header")
)

// TxSource is what ConfirmTx needs from a CometBFT RPC node (untrusted):
// *rpc/client/http.HTTP implements it.
type TxSource interface {
	Tx(ctx context.Context, hash []byte, prove bool) (*ctypes.ResultTx, error)
	BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error)
}

// TxReceipt is a transaction proven to be in block Height at Index, with
// its result proven by header Height+1.
type TxReceipt struct {
	Hash   []byte
	Height int64
	Index  uint32
	// Result holds the deterministic fields CometBFT hashes (code, data,
	// gas wanted, gas used); the log is not proven and not kept.
	Result *abci.ExecTxResult
	// Header is the verified header of the block; Next the verified
	// header Height+1 whose LastResultsHash proves the result.
	Header, Next *types.SignedHeader
}

// VerifyTx checks, trusting nothing but the two verified headers, that tx
// is in block header.Height and that its result is result:
//
//	a) proof.Data is tx (ErrTxNotIncluded);
//	b) proof validates against header.DataHash, the merkle root of the
//	   block's transaction hashes (ErrTxNotIncluded);
//	c) next is header.Height+1 (ErrTxResult);
//	d) results, with only CometBFT's deterministic fields (code, data, gas
//	   wanted, gas used), hash to next.LastResultsHash and are one per
//	   transaction of the block (ErrTxResult);
//
// and returns the result at the transaction's proven index.
func VerifyTx(tx []byte, header *types.SignedHeader, proof types.TxProof, next *types.SignedHeader, results []*abci.ExecTxResult) (*TxReceipt, error) {
	hash := types.Tx(tx).Hash()
	if !bytes.Equal(proof.Data, tx) {
		return nil, fmt.Errorf("%w: the proof of tx %X at height %d is for other bytes", ErrTxNotIncluded, hash, header.Height)
	}
	if err := proof.Validate(header.DataHash); err != nil {
		return nil, fmt.Errorf("%w: tx %X against the data hash of verified header %d: %v", ErrTxNotIncluded, hash, header.Height, err)
	}
	if next.Height != header.Height+1 {
		return nil, fmt.Errorf("%w: results of block %d need header %d, got %d", ErrTxResult, header.Height, header.Height+1, next.Height)
	}
	if got := types.NewResults(results).Hash(); !bytes.Equal(got, next.LastResultsHash) {
		return nil, fmt.Errorf("%w: %d results of block %d hash to %X, verified header %d says %X",
			ErrTxResult, len(results), header.Height, got, next.Height, next.LastResultsHash)
	}
	if int64(len(results)) != proof.Proof.Total || proof.Proof.Index >= int64(len(results)) {
		return nil, fmt.Errorf("%w: block %d has %d transactions and %d results", ErrTxResult, header.Height, proof.Proof.Total, len(results))
	}
	r := results[proof.Proof.Index]
	return &TxReceipt{Hash: hash, Height: header.Height, Index: uint32(proof.Proof.Index), Header: header, Next: next,
		Result: &abci.ExecTxResult{Code: r.Code, Data: r.Data, GasWanted: r.GasWanted, GasUsed: r.GasUsed}}, nil
}

// ConfirmTx waits until src shows tx in a block, then verifies the block's
// header and the next one from the light client and checks the inclusion
// and the result (VerifyTx). src is asked every PollInterval until
// WaitTimeout; a transaction it never shows is ErrTxNotIncluded.
func (r *Reader) ConfirmTx(ctx context.Context, src TxSource, tx []byte) (*TxReceipt, error) {
	hash := types.Tx(tx).Hash()
	wctx, cancel := context.WithTimeout(ctx, r.opts.WaitTimeout)
	defer cancel()
	var res *ctypes.ResultTx
	for {
		var err error
		res, err = src.Tx(wctx, hash, true)
		if err == nil {
			break
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: tx %X is in no block within %s (last answer: %v)", ErrTxNotIncluded, hash, r.opts.WaitTimeout, err)
		case <-time.After(r.opts.PollInterval):
		}
	}
	if res.Height < 1 {
		return nil, fmt.Errorf("%w: tx %X claimed at height %d", ErrTxNotIncluded, hash, res.Height)
	}
	// No freshness bound: a receipt of an older block is as true.
	next, err := r.waitHeader(ctx, res.Height, 0)
	if err != nil {
		return nil, err
	}
	header, err := r.headers.VerifiedHeader(ctx, res.Height)
	if err != nil {
		return nil, err
	}
	h := res.Height
	br, err := src.BlockResults(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("%w: results of block %d: %w", ErrTxResult, h, err)
	}
	rc, err := VerifyTx(tx, header, res.Proof, next, br.TxsResults)
	if err != nil {
		r.log.Warn("transaction receipt refused", "hash", fmt.Sprintf("%X", hash), "height", h, "err", err)
		return nil, err
	}
	return rc, nil
}
