// Package plugins makes signature plugins chain state: validators upload a
// Wasm module (DEFLATE-compressed, in chunks), propose it under the scheme
// name its metadata declares, and approve it; with approvals of at least the
// genesis threshold of voting power before the proposal expires, the scheme
// becomes active at a stated height (decision height + activation delay).
// Removal is proposed and approved the same way. The module bytes and their
// SHA-256 are in state; the node (node/app) loads and unloads the schemes
// in its signature registry at those heights (docs/spec/plugins.md).
//
// The Wasm execution limits (fuel, _initialize fuel, stack budget, memory
// cap) are chain state as well: genesis Params.Wasm, changed by an approved
// plugins.propose_params at a height (limits.go); the node runs plugins
// under LimitsAt the height.
//
// Proposers and approvers are validators (validators.VotingPower), signing
// with their ed25519 validator key; proposals run on the shared approval
// engine (node/module/approval).
package plugins

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/validators"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// Errors of rejected actions, wrapped with detail.
var (
	ErrNotValidator  = errors.New("not a validator")
	ErrWrongScheme   = errors.New("plugin transactions are signed with an ed25519 validator key")
	ErrNameTaken     = errors.New("scheme name taken")
	ErrNoProposal    = errors.New("no such proposal")
	ErrExpired       = errors.New("proposal expired")
	ErrDecided       = errors.New("proposal already decided")
	ErrDuplicate     = errors.New("duplicate")
	ErrBadModule     = errors.New("module refused")
	ErrUpload        = errors.New("bad upload")
	ErrNotActive     = errors.New("no such active plugin")
	ErrBadActivation = errors.New("bad activation delay")
	ErrChecking      = errors.New("module being checked")
)

// Proposal kinds.
const (
	KindAdd    = "add"
	KindRemove = "remove"
)

// Plugin states (plugins.status). A plugin verifies signatures at height h
// when active_from ≤ h and (removed_from = 0 or h < removed_from); status
// says which decision was taken last.
const (
	StatusChecking = "checking" // proposed, its module checked by every node until check_height
	StatusRefused  = "refused"  // the check refused the module (plugins.refusal says why)
	StatusPending  = "pending"  // checked, waiting for approvals
	StatusActive   = "active"   // approved; verifies from active_from
	StatusRemoved  = "removed"  // removal approved; stops at removed_from
	StatusExpired  = "expired"  // the proposal was not approved in time
)

// Proposal states (plugin_requests.status).
const (
	RequestPending  = approval.StatusPending
	RequestApproved = approval.StatusApproved
	RequestExpired  = approval.StatusExpired
)

// engine runs proposals to add and remove plugins on plugin_requests and
// plugin_approvals (node/module/approval), counting the validators'
// current power.
var engine = &approval.Engine{
	Tables: approval.Tables{Requests: "plugin_requests", Approvals: "plugin_approvals", Subject: "scheme"},
	Power:  validators.VotingPower{},
	Errors: approval.Errors{NotFound: ErrNoProposal, Expired: ErrExpired, Decided: ErrDecided, Duplicate: ErrDuplicate},
	Noun:   "proposal",
	Quote:  true,
}

// schema: the requests table (one row per (kind, scheme): the latest
// proposal) and the approvals table come from the approval engine.
var schema = slices.Concat([]string{
	`CREATE TABLE plugin_params (
		id                      INTEGER PRIMARY KEY CHECK (id = 1),
		proposal_expiry_blocks  INTEGER NOT NULL,
		threshold_num           INTEGER NOT NULL,
		threshold_den           INTEGER NOT NULL,
		activation_delay_blocks INTEGER NOT NULL,
		max_module_bytes        INTEGER NOT NULL,
		check_delay_blocks      INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
	limitsTable,
	// One row per scheme name: the latest module proposed under it.
	`CREATE TABLE plugins (
		scheme           TEXT PRIMARY KEY,
		module_hash      BLOB NOT NULL,
		code_hash        BLOB NOT NULL,
		module           BLOB NOT NULL,
		key_type         TEXT NOT NULL,
		address_format   TEXT NOT NULL,
		status           TEXT NOT NULL,
		proposer         TEXT NOT NULL,
		proposed         INTEGER NOT NULL,
		activation_delay INTEGER NOT NULL,
		active_from      INTEGER NOT NULL,
		removed_from     INTEGER NOT NULL,
		check_height     INTEGER NOT NULL,
		refusal          TEXT NOT NULL
	) STRICT, WITHOUT ROWID`,
}, engine.Tables.Schema(), []string{
	// A validator's upload in progress: chunks of one compressed module,
	// in order. One upload per validator at a time.
	`CREATE TABLE plugin_uploads (
		uploader    TEXT NOT NULL,
		seq         INTEGER NOT NULL,
		module_hash BLOB NOT NULL,
		data        BLOB NOT NULL,
		height      INTEGER NOT NULL,
		PRIMARY KEY (uploader, seq)
	) STRICT, WITHOUT ROWID`,
})

// Config configures the module.
type Config struct {
	// Runtimes check modules when they are proposed (and at genesis),
	// under the Wasm limits in state. Nil: the module creates its own on
	// first use, compiling in memory. Sharing the node's saves compiling
	// a module twice.
	Runtimes *wasmhost.Runtimes
}

// Module returns the plugins module with its own Wasm runtime.
func Module() module.Module { return New(Config{}) }

// New returns the plugins module.
func New(cfg Config) module.Module {
	c := &checker{rts: cfg.Runtimes}
	return module.Module{
		Name:   "plugins",
		Errors: Codes,
		Schema: schema,
		Actions: map[string]module.Action{
			"plugins.upload":  upload,
			"plugins.propose": c.propose,
			"plugins.approve": c.approve,
			"plugins.remove":  c.remove,
			// Changes of the Wasm limits (limits.go).
			"plugins.propose_params": c.proposeParams,
			"plugins.approve_params": c.approveParams,
		},
		Queries: map[string]module.Query{
			"plugins.list":     list,
			"plugins.requests": requests,
		},
		InitGenesis: c.initGenesis,
		EndBlock:    c.endBlock,
		Genesis: &module.GenesisSection{
			Default: func() any { p := DefaultParams(); return &p },
			Validate: func(v any) error {
				p := v.(*Params)
				if p.Genesis == nil {
					p.Genesis = []GenesisPlugin{} // null and [] are the same genesis
				}
				return p.Validate()
			},
		},
		Plugins: &module.PluginSource{Schedule: Schedule, ModuleBytes: ModuleBytes, Limits: LimitsAt},
	}
}

// checker registers modules in a Wasm runtime to read and check their
// metadata. Registration is deterministic: validation, the ABI version and
// the metadata depend only on the bytes and the Wasm limits (see
// docs/spec/plugins.md for the one local limit, the call timeout).
type checker struct {
	checks checks
	once   sync.Once
	rts    *wasmhost.Runtimes
	ownRT  bool
	err    error
}

func (c *checker) check(ctx context.Context, wasm []byte, l wasmhost.Limits) (wasmhost.Metadata, []byte, error) {
	c.once.Do(func() {
		if c.rts == nil {
			c.rts, c.err = wasmhost.NewRuntimes(wasmhost.Config{})
			c.ownRT = true
		}
	})
	if c.err != nil {
		return wasmhost.Metadata{}, nil, c.err
	}
	rt, err := c.rts.Get(context.Background(), l)
	if err != nil {
		return wasmhost.Metadata{}, nil, err
	}
	p, err := rt.Register(ctx, wasm)
	if err != nil {
		return wasmhost.Metadata{}, nil, err
	}
	meta, code := p.Metadata(), p.CodeHash()
	if c.ownRT {
		// In a shared runtime the node may use the same compiled code
		// (wazero caches by module), so only a private one is released.
		_ = p.Close(ctx)
	}
	return meta, code[:], nil
}

// builtin reports whether name is a native scheme of every node.
func builtin(name string) bool {
	for _, b := range auth.BuiltinSchemes() {
		if b == name {
			return true
		}
	}
	return false
}
