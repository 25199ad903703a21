package valclient

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/idos-network/idos-node/node/module/drivers"
)

// The drivers module's queries.
const (
	QueryDriverChains  = "/drivers.chains"
	QueryDriverPending = "/drivers.pending"
	QueryDriverModule  = "/drivers.module"
	ActionProposeChain = "drivers.propose_chain"
)

// DriverChains reads the chain configs and the height of the answer.
func (c *Client) DriverChains(ctx context.Context) ([]drivers.ChainRow, int64, error) {
	var l []drivers.ChainRow
	h, err := c.query(ctx, QueryDriverChains, nil, &l)
	return l, h, err
}

// DriverPending reads the open proposals (every one with all): pending
// observations and chain configs with their attested power.
func (c *Client) DriverPending(ctx context.Context, all bool) ([]drivers.Pending, int64, error) {
	var l []drivers.Pending
	data := []byte(`{}`)
	if all {
		data = []byte(`{"all":true}`)
	}
	h, err := c.query(ctx, QueryDriverPending, data, &l)
	return l, h, err
}

// DriverModule reads the driver module with hex SHA-256 sum from state
// (Found false when state has none), with its bytes if withModule.
func (c *Client) DriverModule(ctx context.Context, sum string, withModule bool) (drivers.StoredModule, error) {
	var m drivers.StoredModule
	data, _ := json.Marshal(drivers.ModuleQuery{SHA256: sum, WithModule: withModule})
	_, err := c.query(ctx, QueryDriverModule, data, &m)
	return m, err
}

// ProposeChain proposes the chain config cfg (drivers.propose_chain),
// waiting for its block. With wasm (whose SHA-256 must be
// cfg.DriverSHA256) it uploads the module first (plugins.upload, as
// ProposePlugin does), for the proposal to take into state.
func (c *Client) ProposeChain(ctx context.Context, key ed25519.PrivateKey, wasm []byte, cfg drivers.Chain) (Result, error) {
	if wasm == nil {
		return c.Submit(ctx, key, ActionProposeChain, drivers.ChainPayload{Chain: cfg})
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != cfg.DriverSHA256 {
		return Result{}, fmt.Errorf("%s: the module's SHA-256 is %x, the config names %s", ActionProposeChain, sum, cfg.DriverSHA256)
	}
	_, acc, err := c.upload(ctx, key, wasm)
	if err != nil {
		return Result{}, err
	}
	raw, err := acc.Build(ActionProposeChain, drivers.ChainPayload{Chain: cfg})
	if err != nil {
		return Result{}, err
	}
	return c.broadcastCommit(ctx, ActionProposeChain, raw)
}
