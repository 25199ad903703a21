package app

import (
	"context"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/tx"
)

// checkState is the mempool's view: the next nonce of every sender with
// transactions in the mempool, on top of committed state, and a cache of
// signatures already verified.
type checkState struct {
	mu      sync.Mutex
	pending map[string]uint64
}

func (c *checkState) reset() {
	c.mu.Lock()
	c.pending = make(map[string]uint64)
	c.mu.Unlock()
}

// verifiedCache remembers transactions whose signature verified, by hash, so
// FinalizeBlock does not verify again what CheckTx already did. Whether a
// signature verifies is a pure function of the transaction bytes and the
// scheme, so the cache cannot change any result. Two generations bound its
// size.
type verifiedCache struct {
	mu       sync.Mutex
	cur, old map[[32]byte]string
}

const verifiedCacheGen = 100_000

func (v *verifiedCache) get(h [32]byte) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if id, ok := v.cur[h]; ok {
		return id, true
	}
	id, ok := v.old[h]
	return id, ok
}

func (v *verifiedCache) put(h [32]byte, id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cur == nil || len(v.cur) >= verifiedCacheGen {
		v.old, v.cur = v.cur, make(map[[32]byte]string, 1024)
	}
	v.cur[h] = id
}

// verify checks the transaction's signature and returns the signer's
// canonical identifier.
func (a *App) verify(t *tx.Tx, hash [32]byte) (string, error) {
	if id, ok := a.sigCache.get(hash); ok {
		return id, nil
	}
	id, err := t.Verify(a.schemes)
	if err != nil {
		return "", err
	}
	a.sigCache.put(hash, id)
	return id, nil
}

// CheckTx admits a transaction to the mempool if it decodes, is for this
// chain, names a known action, is signed by its sender, and carries the
// sender's next nonce counting the sender's transactions already in the
// mempool. On recheck after a block, only the nonce is checked again.
func (a *App) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	reject := func(code uint32, r *abci.ExecTxResult) (*abci.ResponseCheckTx, error) {
		return &abci.ResponseCheckTx{Code: code, Codespace: Codespace, Log: r.Log}, nil
	}
	maxTx := a.maxTxBytes()
	if len(req.Tx) > maxTx {
		return reject(CodeTooLarge, fail(CodeTooLarge, "transaction is %d bytes, the limit is %d", len(req.Tx), maxTx))
	}
	t, err := tx.Decode(req.Tx)
	if err != nil {
		return reject(CodeMalformed, fail(CodeMalformed, "%v", err))
	}
	a.mu.RLock()
	chainID, committed := a.chainID, a.hasHeight
	a.mu.RUnlock()
	if t.ChainID != chainID {
		return reject(CodeWrongChain, fail(CodeWrongChain, "transaction is for chain %q, this is %q", t.ChainID, chainID))
	}
	if _, ok := a.actions[t.Action]; !ok {
		return reject(CodeUnknownAction, fail(CodeUnknownAction, "unknown action %q", t.Action))
	}
	ident, err := a.verify(t, tx.Hash(req.Tx))
	if err != nil {
		return reject(CodeUnauthorized, fail(CodeUnauthorized, "%v", err))
	}
	account := module.Sender{Scheme: t.Scheme, Identifier: ident}.AccountID()

	a.check.mu.Lock()
	defer a.check.mu.Unlock()
	// Before block 1 commits, the accounts table exists only in the
	// writer's open transaction, and every account starts at nonce 0.
	next, ok := a.check.pending[account]
	if !ok && committed {
		next, err = nextNonce(ctx, a.db.Reader(), account)
		if err != nil {
			return nil, err
		}
	}
	if t.Nonce != next {
		return reject(CodeBadNonce, fail(CodeBadNonce, "nonce %d for %s, expected %d", t.Nonce, account, next))
	}
	a.check.pending[account] = next + 1
	return &abci.ResponseCheckTx{Code: CodeOK, GasWanted: 1}, nil
}
