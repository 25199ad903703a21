package plugins

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
)

// Plugin is one row of plugins.list.
type Plugin struct {
	// Kind is always KindSignature: the plugins table holds signature
	// modules only (drivers are in wasm_modules).
	Kind   string `json:"kind"`
	Scheme string `json:"scheme"`
	SHA256 string `json:"sha256"`
	// CodeSHA256 is the hash of the metered module the nodes run
	// (wasmhost.Plugin.CodeHash).
	CodeSHA256      string `json:"code_sha256"`
	Size            int64  `json:"size"`
	KeyType         string `json:"key_type"`
	AddressFormat   string `json:"address_format"`
	Status          string `json:"status"`
	Proposer        string `json:"proposer"`
	Proposed        int64  `json:"proposed"`
	ActivationDelay int64  `json:"activation_delay"`
	// ActiveFrom is the first height at which the scheme verifies (0 while
	// pending); RemovedFrom the first at which it no longer does (0 if not
	// removed).
	ActiveFrom  int64 `json:"active_from"`
	RemovedFrom int64 `json:"removed_from"`
	// CheckHeight is the height at which the nodes' check of the module
	// decided the proposal (0 for a genesis plugin); Refusal says why the
	// check refused it (status "refused").
	CheckHeight int64  `json:"check_height"`
	Refusal     string `json:"refusal,omitempty"`
}

// ListResult is the answer of plugins.list.
type ListResult struct {
	// Builtin are the native schemes of every node.
	Builtin []string `json:"builtin"`
	Plugins []Plugin `json:"plugins"`
	// Params are the genesis rules, with Wasm the latest decided limits;
	// WasmLimits lists every set of limits with the height it applies
	// from (0: genesis).
	Params     Params            `json:"params"`
	WasmLimits []ScheduledLimits `json:"wasm_limits"`
}

// Request is a proposal as plugins.requests shows it. For kind "params"
// Scheme holds the proposed limits in their canonical text
// ("fuel_limit=…,init_fuel_limit=…,stack_budget=…,memory_limit_pages=…").
type Request struct {
	Kind          string   `json:"kind"`
	Scheme        string   `json:"scheme"`
	Proposer      string   `json:"proposer"`
	Created       int64    `json:"created"`
	Expires       int64    `json:"expires"`
	Status        string   `json:"status"`
	Decided       int64    `json:"decided"`
	Approvals     []string `json:"approvals"`
	ApprovedPower int64    `json:"approved_power"`
	TotalPower    int64    `json:"total_power"`
}

// RequestsQuery is the data of plugins.requests: {"all": true} includes
// decided and expired proposals; the default is pending ones only.
type RequestsQuery = approval.ListQuery

// RequestsResult is the answer of plugins.requests.
type RequestsResult struct {
	Requests []Request `json:"requests"`
}

func list(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	res := ListResult{Builtin: auth.BuiltinSchemes(), Plugins: []Plugin{}}
	p := &res.Params
	if err := snap.QueryRowContext(ctx,
		`SELECT proposal_expiry_blocks, threshold_num, threshold_den, activation_delay_blocks, max_module_bytes, check_delay_blocks
		 FROM plugin_params WHERE id = 1`).
		Scan(&p.ProposalExpiryBlocks, &p.ApprovalThreshold.Numerator, &p.ApprovalThreshold.Denominator,
			&p.ActivationDelayBlocks, &p.MaxModuleBytes, &p.CheckDelayBlocks); err != nil {
		return nil, fmt.Errorf("plugins: params: %w", err)
	}
	p.Genesis = []GenesisPlugin{} // in the genesis file, not repeated here
	wl, err := scheduledLimits(ctx, snap, -1)
	if err != nil {
		return nil, err
	}
	res.WasmLimits, p.Wasm = wl, wl[len(wl)-1].Wasm
	rows, err := snap.QueryContext(ctx,
		`SELECT scheme, module_hash, code_hash, length(module), key_type, address_format, status, proposer, proposed,
		   activation_delay, active_from, removed_from, check_height, refusal FROM plugins ORDER BY scheme`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		pl := Plugin{Kind: KindSignature}
		var hash, code []byte
		if err := rows.Scan(&pl.Scheme, &hash, &code, &pl.Size, &pl.KeyType, &pl.AddressFormat, &pl.Status, &pl.Proposer,
			&pl.Proposed, &pl.ActivationDelay, &pl.ActiveFrom, &pl.RemovedFrom, &pl.CheckHeight, &pl.Refusal); err != nil {
			return nil, err
		}
		pl.SHA256, pl.CodeSHA256 = hex.EncodeToString(hash), hex.EncodeToString(code)
		res.Plugins = append(res.Plugins, pl)
	}
	return res, rows.Err()
}

func requests(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	rs, err := approval.Query(ctx, snap, data, engine, func(l approval.Listed, total int64) Request {
		return Request{Kind: l.Kind, Scheme: l.Subject, Proposer: l.Proposer, Created: l.Created, Expires: l.Expires,
			Status: l.Status, Decided: l.Decided, Approvals: l.Approvals, ApprovedPower: l.ApprovedPower, TotalPower: total}
	})
	if err != nil {
		return nil, err
	}
	return RequestsResult{Requests: rs}, nil
}
