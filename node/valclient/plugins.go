package valclient

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"

	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wire"
)

// Action and query names of the plugins module.
const (
	ActionPluginUpload  = "plugins.upload"
	ActionPluginPropose = "plugins.propose"
	ActionPluginApprove = "plugins.approve"
	ActionPluginRemove  = "plugins.remove"
	QueryPlugins        = "/plugins.list"
	QueryPluginRequests = "/plugins.requests"
	// ActionPluginParams proposes new Wasm limits or approves the open
	// proposal of the same limits.
	ActionPluginParams = "plugins.propose_params"
)

// PluginMeta is what a proposal states about the module; it must equal the
// module's own metadata (read it with wasmhost).
type PluginMeta struct {
	Scheme, KeyType, AddressFormat string
}

// ProposePlugin uploads wasm in chunks (plugins.upload, sent back to back
// with consecutive nonces) and then proposes it (plugins.propose), waiting
// for the proposal's block. delay 0 means the genesis activation delay.
func (c *Client) ProposePlugin(ctx context.Context, key ed25519.PrivateKey, wasm []byte, meta PluginMeta, delay int64) (Result, error) {
	sum, acc, err := c.upload(ctx, key, wasm)
	if err != nil {
		return Result{}, err
	}
	raw, err := acc.Build(ActionPluginPropose, plugins.ProposePayload{Scheme: meta.Scheme, KeyType: meta.KeyType,
		AddressFormat: meta.AddressFormat, SHA256: sum, ActivationDelay: delay})
	if err != nil {
		return Result{}, err
	}
	// Checking the module compiles it on every node (seconds for a Go
	// plugin), which can outlast CometBFT's broadcast_tx_commit timeout;
	// with a node that can look transactions up, wait for the result here.
	if tl, ok := c.RPC.(txLookup); ok {
		return c.broadcastAndPoll(ctx, tl, ActionPluginPropose, raw)
	}
	return c.broadcastCommit(ctx, ActionPluginPropose, raw)
}

// upload sends wasm in chunks (plugins.upload, back to back with
// consecutive nonces, reporting each to UploadProgress) and returns its
// hex SHA-256 and the account, whose nonce is the next one.
func (c *Client) upload(ctx context.Context, key ed25519.PrivateKey, wasm []byte) (string, *client.Account, error) {
	sum, chunks := plugins.UploadChunks(wasm, plugins.DefaultChunkSize)
	nonce, err := c.NextNonce(ctx, key)
	if err != nil {
		return "", nil, fmt.Errorf("%s: read nonce: %w", ActionPluginUpload, err)
	}
	acc := client.NewAccount(auth.NewEd25519Signer(key), c.ChainID)
	acc.Nonce = nonce
	var total, sent int64
	for _, ch := range chunks {
		total += int64(len(ch.Data))
	}
	for _, ch := range chunks {
		raw, err := acc.Build(ActionPluginUpload, ch)
		if err != nil {
			return "", nil, err
		}
		res, err := c.RPC.BroadcastTxSync(ctx, raw)
		if err != nil {
			return "", nil, fmt.Errorf("%s %d/%d: %w", ActionPluginUpload, ch.Index+1, len(chunks), err)
		}
		if res.Code != wire.CodeOK {
			return "", nil, &RejectedError{Action: ActionPluginUpload, Stage: "check", Code: res.Code, Codespace: res.Codespace,
				Log: res.Log, Hash: fmt.Sprintf("%X", types.Tx(raw).Hash())}
		}
		sent += int64(len(ch.Data))
		if c.UploadProgress != nil {
			c.UploadProgress(int(ch.Index)+1, len(chunks), sent, total)
		}
	}
	return sum, acc, nil
}

// txLookup is the transaction lookup of *rpchttp.HTTP (the node's kv
// indexer).
type txLookup interface {
	Tx(ctx context.Context, hash []byte, prove bool) (*ctypes.ResultTx, error)
}

// broadcastAndPoll sends raw with broadcast_tx_sync and polls for its
// result until ctx ends.
func (c *Client) broadcastAndPoll(ctx context.Context, tl txLookup, action string, raw []byte) (Result, error) {
	sum := types.Tx(raw).Hash()
	hash := fmt.Sprintf("%X", sum)
	res, err := c.RPC.BroadcastTxSync(ctx, raw)
	if err != nil {
		return Result{Hash: hash}, fmt.Errorf("%s: broadcast_tx_sync: %w", action, err)
	}
	if res.Code != wire.CodeOK {
		return Result{Hash: hash}, &RejectedError{Action: action, Stage: "check", Code: res.Code, Codespace: res.Codespace, Log: res.Log, Hash: hash}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return Result{Hash: hash}, fmt.Errorf("%s: waiting for the block: %w", action, ctx.Err())
		case <-tick.C:
		}
		r, err := tl.Tx(ctx, sum, false)
		if err != nil {
			continue // not indexed yet
		}
		out := Result{Hash: hash, Height: r.Height, Log: r.TxResult.Log}
		if r.TxResult.Code != wire.CodeOK {
			return out, &RejectedError{Action: action, Stage: "exec", Code: r.TxResult.Code, Codespace: r.TxResult.Codespace, Log: r.TxResult.Log, Hash: hash, Height: r.Height}
		}
		return out, nil
	}
}

// broadcastCommit sends raw and waits for its block.
func (c *Client) broadcastCommit(ctx context.Context, action string, raw []byte) (Result, error) {
	hash := fmt.Sprintf("%X", types.Tx(raw).Hash())
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

// ApprovePlugin approves the pending proposal to add scheme.
func (c *Client) ApprovePlugin(ctx context.Context, key ed25519.PrivateKey, scheme string) (Result, error) {
	return c.Submit(ctx, key, ActionPluginApprove, plugins.SchemePayload{Scheme: scheme})
}

// RemovePlugin proposes removing scheme, or approves the open proposal.
func (c *Client) RemovePlugin(ctx context.Context, key ed25519.PrivateKey, scheme string) (Result, error) {
	return c.Submit(ctx, key, ActionPluginRemove, plugins.SchemePayload{Scheme: scheme})
}

// ProposeWasmLimits proposes changing the chain's Wasm limits to l, or
// approves the open proposal of the same limits.
func (c *Client) ProposeWasmLimits(ctx context.Context, key ed25519.PrivateKey, l wasmhost.Limits) (Result, error) {
	return c.Submit(ctx, key, ActionPluginParams, plugins.ParamsPayload{Wasm: l})
}

// Plugins reads the plugin list and the height it reflects.
func (c *Client) Plugins(ctx context.Context) (plugins.ListResult, int64, error) {
	var l plugins.ListResult
	h, err := c.query(ctx, QueryPlugins, nil, &l)
	return l, h, err
}

// PluginRequests reads the proposals (pending only unless all).
func (c *Client) PluginRequests(ctx context.Context, all bool) (plugins.RequestsResult, error) {
	var r plugins.RequestsResult
	data := []byte(`{}`)
	if all {
		data = []byte(`{"all":true}`)
	}
	_, err := c.query(ctx, QueryPluginRequests, data, &r)
	return r, err
}

// WaitPluginChecked waits until the proposal of scheme has its check
// verdict (every node registers a proposed module in the background and
// decides at the proposal's check height, docs/spec/plugins.md) and returns
// the scheme's row: status pending (open for approvals, or already decided
// by the proposer's own power) or refused, with the reason in Refusal.
func (c *Client) WaitPluginChecked(ctx context.Context, scheme string) (plugins.Plugin, error) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		l, _, err := c.Plugins(ctx)
		if err != nil {
			return plugins.Plugin{}, err
		}
		i := slices.IndexFunc(l.Plugins, func(p plugins.Plugin) bool { return p.Scheme == scheme })
		if i < 0 {
			return plugins.Plugin{}, fmt.Errorf("no plugin %q on the node", scheme)
		}
		if l.Plugins[i].Status != plugins.StatusChecking {
			return l.Plugins[i], nil
		}
		select {
		case <-ctx.Done():
			return plugins.Plugin{}, fmt.Errorf("waiting for the check of %q at height %d: %w", scheme, l.Plugins[i].CheckHeight, ctx.Err())
		case <-tick.C:
		}
	}
}
