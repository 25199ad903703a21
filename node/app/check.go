package app

import (
	"context"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/tx"
)

// checkState is the mempool's view of each sender with transactions in the
// mempool: its committed next nonce and the nonces it has pending. It is
// rebuilt after every block by CometBFT's recheck of the mempool.
//
// CometBFT's mempool does not keep one sender's transactions in nonce order
// (gossip takes several paths, and rechecks run in list order), so the
// rules tolerate order and only refuse what can never commit:
//   - a new transaction is admitted if its nonce is not used yet, not
//     already pending, and at most one past the highest pending nonce;
//   - on recheck, a transaction stays unless its nonce is used or another
//     pending transaction already holds it.
//
// The proposer then puts each sender's nonces in order (PrepareProposal).
type checkState struct {
	mu      sync.Mutex
	senders map[string]*senderState
}

type senderState struct {
	committed uint64          // next nonce in committed state
	pending   map[uint64]bool // nonces of this sender in the mempool
	top       uint64          // highest pending nonce + 1, or committed
}

func (c *checkState) reset() {
	c.mu.Lock()
	c.senders = make(map[string]*senderState)
	c.mu.Unlock()
}

// verifiedCache remembers transactions whose signature verified, by hash, so
// FinalizeBlock does not verify again what CheckTx already did. Whether a
// signature verifies is a pure function of the transaction bytes and the
// scheme, so the cache cannot change any result. Two generations bound its
// size.
//
// The registry changes when a signature plugin activates or is removed
// (pluginHost), and a signature verified before may not verify after; clear
// then empties the cache and starts a new generation, and put drops a result
// computed in an earlier generation (a CheckTx that raced the change).
type verifiedCache struct {
	mu       sync.Mutex
	gen      uint64
	cur, old map[[32]byte]string
}

// generation is the current generation, read before verifying.
func (v *verifiedCache) generation() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gen
}

// clear forgets every verified signature.
func (v *verifiedCache) clear() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	v.cur, v.old = nil, nil
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

func (v *verifiedCache) put(h [32]byte, id string, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if gen != v.gen {
		return
	}
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
	gen := a.sigCache.generation()
	id, err := t.Verify(a.schemes)
	if err != nil {
		return "", err
	}
	a.sigCache.put(hash, id, gen)
	return id, nil
}

// CheckTx admits a transaction to the mempool if it decodes, is for this
// chain, names a known action, is signed by its sender, and its nonce can
// still commit (see checkState). Signatures verified once are cached, so a
// recheck after a block costs a decode and a map lookup.
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
	st, ok := a.check.senders[account]
	if !ok {
		// Before block 1 commits, the accounts table exists only in the
		// writer's open transaction, and every account starts at nonce 0.
		var next uint64
		if committed {
			if next, err = nextNonce(ctx, a.db.Reader(), account); err != nil {
				return nil, err
			}
		}
		st = &senderState{committed: next, pending: map[uint64]bool{}, top: next}
		a.check.senders[account] = st
	}
	switch {
	case t.Nonce < st.committed:
		return reject(CodeBadNonce, fail(CodeBadNonce, "nonce %d for %s is used; the next is %d", t.Nonce, account, st.committed))
	case st.pending[t.Nonce]:
		return reject(CodeBadNonce, fail(CodeBadNonce, "nonce %d for %s is already pending", t.Nonce, account))
	case req.Type == abci.CheckTxType_New && t.Nonce > st.top:
		return reject(CodeBadNonce, fail(CodeBadNonce, "nonce %d for %s is ahead; expected at most %d", t.Nonce, account, st.top))
	}
	st.pending[t.Nonce] = true
	st.top = max(st.top, t.Nonce+1)
	return &abci.ResponseCheckTx{Code: CodeOK, GasWanted: 1}, nil
}
