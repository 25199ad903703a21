// Package valclient builds, signs and submits the validator-set
// transactions (join, approve, leave, remove) and reads the validator set
// and its pending requests from a node. The CLI and the end-to-end tests
// both use it, so what the tests exercise is what operators run.
package valclient

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/wire"
)

// RPC is the part of CometBFT's RPC client this package uses;
// *rpchttp.HTTP satisfies it. A narrow interface keeps the package
// testable without a node.
type RPC interface {
	ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error)
	BroadcastTxCommit(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTxCommit, error)
	BroadcastTxSync(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTx, error)
	Validators(ctx context.Context, height *int64, page, perPage *int) (*ctypes.ResultValidators, error)
}

// Client talks to one node of one chain.
type Client struct {
	RPC     RPC
	ChainID string
	// Wait makes Submit use broadcast_tx_commit and report the block the
	// transaction landed in; otherwise Submit returns once the mempool
	// accepted it (broadcast_tx_sync).
	Wait bool
	// UploadProgress, if set, is called after each upload chunk of
	// ProposePlugin is accepted into the mempool: chunk n (from 1) of
	// chunks, and the compressed bytes sent so far of total.
	UploadProgress func(n, chunks int, sent, total int64)
}

// New returns a client that waits for commits.
func New(rpc RPC, chainID string) *Client {
	return &Client{RPC: rpc, ChainID: chainID, Wait: true}
}

// Result is the outcome of a transaction the node accepted.
type Result struct {
	// Hash is the transaction hash (upper-case hex, as CometBFT prints it).
	Hash string
	// Height is the block the transaction executed in; zero when the
	// client did not wait for the commit.
	Height int64
	// Log is the node's log for the transaction, if any.
	Log string
}

// RejectedError is a transaction the node refused, in the mempool
// (CheckTx) or during execution. Log is the node's message, verbatim.
type RejectedError struct {
	Action string
	// Stage is "check" (refused by the mempool, nothing executed) or
	// "exec" (executed in a block and failed; the nonce is consumed).
	Stage     string
	Code      uint32
	Codespace string
	Log       string
	Hash      string
	// Height is the block of an "exec" rejection.
	Height int64
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%s rejected (code %d): %s", e.Action, e.Code, e.Log)
}

// resultCodes maps the node's sentinel errors to their result codes.
var resultCodes = composition.Codes()

// Is reports whether the node refused the transaction with target's result
// code (docs/spec/result-codes.md), so that errors.Is(err,
// validators.ErrExpired) holds for a rejection with that code. A code that
// several modules give their own sentinel (the shared approval rules)
// matches each of them.
func (e *RejectedError) Is(target error) bool {
	code, ok := resultCodes.Code(target)
	return ok && e.Code == code && e.Codespace == app.Codespace
}

// ValidatorID is a validator's id everywhere in the validators module: the
// lowercase hex of its 32-byte ed25519 public key.
func ValidatorID(key ed25519.PrivateKey) string {
	return hex.EncodeToString(key.Public().(ed25519.PublicKey))
}

// AccountID is the account that carries the nonces of key's transactions.
func AccountID(key ed25519.PrivateKey) string {
	return auth.SchemeEd25519 + ":" + ValidatorID(key)
}

// NextNonce reads the committed next nonce of key's account.
func (c *Client) NextNonce(ctx context.Context, key ed25519.PrivateKey) (uint64, error) {
	var info wire.AccountInfo
	if _, err := c.query(ctx, "/account", []byte(AccountID(key)), &info); err != nil {
		return 0, err
	}
	return info.NextNonce, nil
}

// Submit signs action with payload for key at the account's committed next
// nonce and broadcasts it. A transaction the node refuses is a
// *RejectedError. Two unconfirmed transactions of one key in flight at once
// would get the same nonce, so callers that do not Wait must let the first
// commit before sending the next.
func (c *Client) Submit(ctx context.Context, key ed25519.PrivateKey, action string, payload any) (Result, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Result{}, fmt.Errorf("%s: ed25519 private key must be %d bytes, got %d", action, ed25519.PrivateKeySize, len(key))
	}
	nonce, err := c.NextNonce(ctx, key)
	if err != nil {
		return Result{}, fmt.Errorf("%s: read nonce: %w", action, err)
	}
	acc := client.NewAccount(auth.NewEd25519Signer(key), c.ChainID)
	acc.Nonce = nonce
	raw, err := acc.Build(action, payload)
	if err != nil {
		return Result{}, fmt.Errorf("%s: build transaction: %w", action, err)
	}
	hash := fmt.Sprintf("%X", types.Tx(raw).Hash())
	if !c.Wait {
		res, err := c.RPC.BroadcastTxSync(ctx, raw)
		if err != nil {
			return Result{Hash: hash}, fmt.Errorf("%s: broadcast_tx_sync: %w", action, err)
		}
		if res.Code != wire.CodeOK {
			return Result{Hash: hash}, &RejectedError{Action: action, Stage: "check", Code: res.Code, Codespace: res.Codespace, Log: res.Log, Hash: hash}
		}
		return Result{Hash: hash, Log: res.Log}, nil
	}
	res, err := c.RPC.BroadcastTxCommit(ctx, raw)
	if err != nil {
		return Result{Hash: hash}, fmt.Errorf("%s: broadcast_tx_commit: %w", action, err)
	}
	if res.CheckTx.Code != wire.CodeOK {
		return Result{Hash: hash}, &RejectedError{Action: action, Stage: "check", Code: res.CheckTx.Code, Codespace: res.CheckTx.Codespace, Log: res.CheckTx.Log, Hash: hash}
	}
	out := Result{Hash: hash, Height: res.Height, Log: res.TxResult.Log}
	if res.TxResult.Code != wire.CodeOK {
		return out, &RejectedError{Action: action, Stage: "exec", Code: res.TxResult.Code, Codespace: res.TxResult.Codespace, Log: res.TxResult.Log, Hash: hash, Height: res.Height}
	}
	return out, nil
}

// QueryError is a query the node answered with a non-zero code.
type QueryError struct {
	Path string
	Code uint32
	Log  string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query %s failed (code %d): %s", e.Path, e.Code, e.Log)
}

// query runs an ABCI query, decodes its JSON value into v and returns the
// height of the state it was read from.
func (c *Client) query(ctx context.Context, path string, data []byte, v any) (int64, error) {
	res, err := c.RPC.ABCIQuery(ctx, path, data)
	if err != nil {
		return 0, fmt.Errorf("query %s: %w", path, err)
	}
	if res.Response.Code != wire.CodeOK {
		return res.Response.Height, &QueryError{Path: path, Code: res.Response.Code, Log: res.Response.Log}
	}
	if len(res.Response.Value) == 0 {
		return res.Response.Height, fmt.Errorf("query %s: empty answer", path)
	}
	if err := json.Unmarshal(res.Response.Value, v); err != nil {
		return res.Response.Height, fmt.Errorf("query %s: decode answer: %w", path, err)
	}
	return res.Response.Height, nil
}

// IsRejected reports whether err is a transaction the node refused, and
// returns it.
func IsRejected(err error) (*RejectedError, bool) {
	var r *RejectedError
	ok := errors.As(err, &r)
	return r, ok
}
