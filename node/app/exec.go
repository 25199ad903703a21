package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/tx"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// PrepareProposal builds this validator's block from the mempool's
// transactions. It drops bytes that do not decode, transactions for another
// chain or with a bad signature, and puts each sender's transactions in
// nonce order, keeping only the run that continues from the sender's
// committed nonce: CometBFT's mempool does not keep one sender's
// transactions in order, and a nonce out of order would fail in the block
// and be dropped from every mempool, breaking the sender's later
// transactions. Senders stay interleaved as the mempool had them: each
// sender's transactions take the positions its transactions had, in nonce
// order. The block stops at its byte budget.
//
// This runs on the proposer only; its result is checked by every validator
// in ProcessProposal and executed deterministically, so it may read
// committed state and caches freely.
func (a *App) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	maxTx := a.maxTxBytes()
	a.mu.RLock()
	chainID, committed := a.chainID, a.hasHeight
	a.mu.RUnlock()

	type cand struct {
		raw   []byte
		nonce uint64
	}
	type sender struct {
		slots []int // positions in req.Txs, ascending
		txs   []cand
	}
	senders := map[string]*sender{}
	for i, raw := range req.Txs {
		if len(raw) > maxTx {
			continue
		}
		t, err := tx.Decode(raw)
		if err != nil || t.ChainID != chainID {
			continue
		}
		ident, err := a.verify(t, tx.Hash(raw))
		if err != nil {
			continue
		}
		acct := module.Sender{Scheme: t.Scheme, Identifier: ident}.AccountID()
		s := senders[acct]
		if s == nil {
			s = &sender{}
			senders[acct] = s
		}
		s.slots = append(s.slots, i)
		s.txs = append(s.txs, cand{raw, t.Nonce})
	}
	// Per sender, the contiguous run of nonces from the committed one.
	chosen := make([][]byte, len(req.Txs))
	for acct, s := range senders { // each sender is independent; order does not matter
		var next uint64
		if committed {
			var err error
			if next, err = nextNonce(ctx, a.db.Reader(), acct); err != nil {
				return nil, err
			}
		}
		slices.SortStableFunc(s.txs, func(x, y cand) int { return cmp.Compare(x.nonce, y.nonce) })
		k := 0
		for _, c := range s.txs {
			if c.nonce < next {
				continue // used, or a second transaction with the same nonce
			}
			if c.nonce > next {
				break // a gap: the rest cannot execute yet
			}
			chosen[s.slots[k]] = c.raw
			k++
			next++
		}
	}
	var total int64
	txs := make([][]byte, 0, len(req.Txs))
	for _, raw := range chosen {
		if raw == nil {
			continue
		}
		if total+int64(len(raw)) > req.MaxTxBytes {
			break
		}
		total += int64(len(raw))
		txs = append(txs, raw)
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal rejects a block carrying bytes that are not transactions;
// an honest proposer never includes them. Signature, nonce and action checks
// are left to FinalizeBlock, where a failing transaction is recorded with
// its code.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	maxTx := a.maxTxBytes()
	for _, raw := range req.Txs {
		if len(raw) > maxTx {
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
		if _, err := tx.Decode(raw); err != nil {
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

func (a *App) maxTxBytes() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.params.MaxTxBytes == 0 {
		return tx.MaxTxBytes
	}
	return a.params.MaxTxBytes
}

// FinalizeBlock executes the block's transactions in order, each in its own
// savepoint, then derives the changeset and the app hash. Nothing is durable
// until Commit.
//
// It has one way out on failure: finalizeBlock returns the error and
// FinalizeBlock rolls back whatever block transaction is open, so no early
// return can leave a half-executed block behind or drop an error.
func (a *App) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	res, err := a.finalizeBlock(ctx, req)
	if err != nil {
		return nil, a.abortBlock(ctx, err)
	}
	return res, nil
}

// abortBlock discards the open block transaction, if any, and returns err
// (joined with the rollback's own failure). A block that shared its
// transaction with InitChain's writes takes them with it; FinalizeBlock
// then refuses to run until a restart applies the genesis again.
func (a *App) abortBlock(ctx context.Context, err error) error {
	if a.db.InBlock() {
		if rerr := a.db.Rollback(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	a.block = blockState{}
	return err
}

func (a *App) finalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.RLock()
	prevHeight, prevHash, chainID, committed := a.height, a.appHash, a.chainID, a.hasHeight
	a.mu.RUnlock()
	base := a.trie

	switch {
	case a.block.open && a.block.genesis && req.Height == 1:
		// Block 1 continues InitChain's transaction.
		prevHeight, prevHash, base = 0, a.block.appHash, a.block.trie
	case a.block.open:
		// FinalizeBlock again without Commit (CometBFT may re-execute
		// after a failed commit): start over from committed state.
		afterGenesis := a.block.afterGenesis
		if err := a.db.Rollback(ctx); err != nil {
			return nil, err
		}
		a.block = blockState{}
		if afterGenesis {
			// The rollback took InitChain's writes with it; only a
			// restart (app height 0, InitChain again) can redo them.
			return nil, fmt.Errorf("app: block %d re-executed before its commit; restart the node to apply genesis again", req.Height)
		}
		fallthrough
	default:
		if !committed {
			// Before block 1 commits, the schema and genesis state live
			// only in InitChain's open transaction; it is gone.
			return nil, fmt.Errorf("app: block %d without the genesis state; restart the node to apply genesis again", req.Height)
		}
		if req.Height != prevHeight+1 {
			return nil, fmt.Errorf("app: FinalizeBlock height %d, expected %d", req.Height, prevHeight+1)
		}
		if err := a.db.BeginBlock(ctx); err != nil {
			return nil, err
		}
	}

	env := blockEnv{height: req.Height, time: req.Time.Unix(), chainID: chainID, maxTx: a.maxTxBytes()}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		res, err := a.deliverTx(ctx, &env, raw)
		if err != nil {
			// A failure that is not the transaction's fault (disk, I/O,
			// a wall-clock timeout): continuing would risk computing a
			// different state from the other validators, so stop here
			// and let CometBFT halt.
			return nil, fmt.Errorf("app: block %d tx %d: %w", req.Height, i, err)
		}
		results[i] = res
	}

	updates, err := a.endBlock(ctx, &env)
	if err != nil {
		return nil, fmt.Errorf("app: end of block %d: %w", req.Height, err)
	}
	cs, err := a.db.Changeset()
	if err != nil {
		return nil, err
	}
	trie, err := a.applyCommitment(ctx, base, cs)
	if err != nil {
		return nil, err
	}
	csHash, root := cs.Hash(), trie.Root()
	hash := apphash.Block(uint64(req.Height), prevHash, csHash, root)
	if err := a.writeMeta(ctx, "height", u64(req.Height), "app_hash", hash[:], "state_root", root[:]); err != nil {
		return nil, err
	}
	if err := a.recordBlock(ctx, req.Height, csHash, cs.Len(), hash, root); err != nil {
		return nil, err
	}
	a.block = blockState{open: true, height: req.Height, appHash: hash, afterGenesis: prevHeight == 0, trie: trie}
	a.log.Debug("block finalized", "height", req.Height, "txs", len(req.Txs), "changes", cs.Len(),
		"app_hash", fmt.Sprintf("%X", hash[:]))
	return &abci.ResponseFinalizeBlock{TxResults: results, AppHash: hash[:], ValidatorUpdates: updates}, nil
}

// endBlock runs the modules' end-of-block hooks in module order and
// collects their validator updates. An error here is not a transaction's
// fault; it halts the node.
func (a *App) endBlock(ctx context.Context, env *blockEnv) ([]abci.ValidatorUpdate, error) {
	menv := &module.Env{Ctx: ctx, DB: a.db, Height: env.height, Time: env.time, Schemes: a.schemes}
	var updates []abci.ValidatorUpdate
	for _, m := range a.modules {
		if m.EndBlock == nil {
			continue
		}
		us, err := m.EndBlock(menv)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", m.Name, err)
		}
		for _, u := range us {
			updates = append(updates, abci.Ed25519ValidatorUpdate(u.PubKey, u.Power))
		}
	}
	if len(updates) > 0 {
		a.log.Info("validator set changes", "height", env.height, "updates", len(updates))
	}
	// The signature plugins of the next height, swapped in at Commit.
	return updates, a.preparePlugins(ctx, a.db, env.height+1)
}

type blockEnv struct {
	height  int64
	time    int64
	chainID string
	maxTx   int
}

func fail(code uint32, format string, args ...any) *abci.ExecTxResult {
	return &abci.ExecTxResult{Code: code, Codespace: Codespace, Log: fmt.Sprintf(format, args...)}
}

// deliverTx runs one transaction. A transaction that fails its checks gets a
// code and changes nothing; one that passes them consumes its nonce even if
// its action then fails, so it can never be replayed. The returned error is
// reserved for failures that are not deterministic (I/O), which must halt.
func (a *App) deliverTx(ctx context.Context, env *blockEnv, raw []byte) (*abci.ExecTxResult, error) {
	if len(raw) > env.maxTx {
		return fail(CodeTooLarge, "transaction is %d bytes, the limit is %d", len(raw), env.maxTx), nil
	}
	t, err := tx.Decode(raw)
	if err != nil {
		return fail(CodeMalformed, "%v", err), nil
	}
	if t.ChainID != env.chainID {
		return fail(CodeWrongChain, "transaction is for chain %q, this is %q", t.ChainID, env.chainID), nil
	}
	hash := tx.Hash(raw)
	ident, err := a.verify(t, hash)
	if localLimit(err) {
		return nil, err
	}
	if err != nil {
		return fail(CodeUnauthorized, "%v", err), nil
	}
	sender := module.Sender{Scheme: t.Scheme, Identifier: ident}
	account := sender.AccountID()
	next, err := nextNonce(ctx, a.db, account)
	if err != nil {
		return nil, err
	}
	if t.Nonce != next {
		return fail(CodeBadNonce, "nonce %d for %s, expected %d", t.Nonce, account, next), nil
	}
	if _, err := a.db.ExecContext(ctx,
		`INSERT INTO accounts (id, next_nonce) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET next_nonce = excluded.next_nonce`,
		account, int64(t.Nonce+1)); err != nil {
		return nil, err
	}
	events := []abci.Event{{Type: "tx", Attributes: []abci.EventAttribute{
		{Key: "action", Value: t.Action, Index: true},
		{Key: "sender", Value: account, Index: true},
		{Key: "nonce", Value: fmt.Sprint(t.Nonce)},
	}}}
	action, ok := a.actions[t.Action]
	if !ok {
		r := fail(CodeUnknownAction, "unknown action %q", t.Action)
		r.Events = events
		return r, nil
	}
	menv := &module.Env{Ctx: ctx, DB: a.db, Height: env.height, Time: env.time, Sender: sender, TxHash: hash, Schemes: a.schemes}
	err = a.db.Savepoint(ctx, func() error { return action(menv, t.Payload) })
	if err != nil {
		if fatalSQL(err) || localLimit(err) {
			return nil, err
		}
		r := fail(a.ResultCode(err), "%s: %v", t.Action, err)
		r.Events = events
		return r, nil
	}
	return &abci.ExecTxResult{Code: CodeOK, Events: events}, nil
}

// ResultCode is the result code of an action that failed with err: the
// code a module registered for the first of its sentinel errors that err
// wraps, else the generic CodeActionFailed (docs/spec/result-codes.md).
func (a *App) ResultCode(err error) uint32 {
	if code, ok := a.codes.Code(err); ok {
		return code
	}
	return CodeActionFailed
}

// localLimit reports whether err is a plugin call stopped by the Wasm
// host's wall-clock safety net. Fuel and call depth are the deterministic
// limits; a timeout depends on this machine's speed and load, so it must
// never become a transaction's result: the node halts instead, as for a
// disk failure, and replays the block after a restart.
func localLimit(err error) bool { return errors.Is(err, wasmhost.ErrTimeout) }

// fatalSQL reports whether err is an SQLite failure of the machine rather
// than of the statement (I/O, disk full, corruption, locking): executing on
// would make this node's state depend on its own environment.
func fatalSQL(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_BUSY,
		sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB,
		sqlite3.SQLITE_INTERNAL, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_READONLY:
		return true
	}
	return false
}
