package plugins

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// Fraction is an exact ratio (the approval engine's threshold).
type Fraction = approval.Fraction

// Params are the genesis parameters of signature plugins, in app_state
// under "plugins".
type Params struct {
	// ProposalExpiryBlocks is how long a proposal (adding or removing a
	// plugin) stays open: one made at height H can be approved at heights
	// H .. H+ProposalExpiryBlocks-1. Unfinished uploads expire likewise.
	ProposalExpiryBlocks int64 `json:"proposal_expiry_blocks"`
	// ApprovalThreshold is the share of current voting power whose
	// approvals decide a proposal ("at least").
	ApprovalThreshold Fraction `json:"approval_threshold"`
	// ActivationDelayBlocks is the default and the minimum number of blocks
	// between the decision and the height at which it takes effect, so that
	// every node has loaded the module before the first transaction uses
	// it. A removal takes effect after exactly this many blocks.
	ActivationDelayBlocks int64 `json:"activation_delay_blocks"`
	// CheckDelayBlocks is how many blocks every node has to check a
	// proposed module (compile it, run _initialize, read its metadata) in
	// the background: a proposal made at H is decided, opened for
	// approvals or refused, at H + CheckDelayBlocks (checks.go).
	CheckDelayBlocks int64 `json:"check_delay_blocks"`
	// MaxModuleBytes caps a module, both compressed (what is uploaded) and
	// decompressed.
	MaxModuleBytes int64 `json:"max_module_bytes"`
	// Wasm are the execution limits of plugin calls (fuel, _initialize
	// fuel, call depth, memory) from genesis. They are chain state:
	// plugins.propose_params changes them, at decision height +
	// activation_delay_blocks, once approved like a plugin.
	Wasm wasmhost.Limits `json:"wasm"`
	// Genesis lists the plugins active from block 1.
	Genesis []GenesisPlugin `json:"genesis"`
}

// GenesisPlugin is a plugin active from genesis: either a bundled module
// named by Bundled (sigplugins.All) or the module bytes themselves in
// Module (base64 in JSON). SHA256 (hex) pins the bytes in both cases, so a
// node binary that bundles other bytes refuses the genesis.
type GenesisPlugin struct {
	Bundled string `json:"bundled,omitempty"`
	Module  []byte `json:"module,omitempty"`
	SHA256  string `json:"sha256"`
}

// Bounds.
const (
	maxActivationDelay = 1 << 20
	maxCheckDelay      = 10_000
	maxModuleBytesCap  = 64 << 20
)

// MaxActivationDelay is the largest activation delay a proposal may ask for
// (clients check it before uploading).
const MaxActivationDelay = maxActivationDelay

// DefaultMaxModuleBytes is the default MaxModuleBytes. Tools that read a
// module to upload or test it (idosnode plugin, sig verify) refuse larger
// files with it, as the chain would.
const DefaultMaxModuleBytes = 8 << 20

// DefaultCheckDelayBlocks gives the slowest node ten block intervals to
// compile the largest module the static limits accept (3.5 times a bundled
// plugin, 3-6 s on a loaded 2-core machine: docs/BENCHMARKS.md).
const DefaultCheckDelayBlocks = 10

// DefaultParams: proposals stay open for 600 blocks, need 2/3 of voting
// power, take effect 2 blocks after the decision; modules up to 8 MiB,
// checked in the background for 10 blocks;
// the Wasm limits of wasmhost.DefaultLimits.
func DefaultParams() Params {
	return Params{
		ProposalExpiryBlocks:  600,
		ApprovalThreshold:     Fraction{Numerator: 2, Denominator: 3},
		ActivationDelayBlocks: 2,
		CheckDelayBlocks:      DefaultCheckDelayBlocks,
		MaxModuleBytes:        DefaultMaxModuleBytes,
		Wasm:                  wasmhost.DefaultLimits(),
		Genesis:               []GenesisPlugin{},
	}
}

// Validate checks the bounds and the form of the genesis list (the modules
// themselves are checked by InitGenesis).
func (p Params) Validate() error {
	switch thresholdErr := p.ApprovalThreshold.Check(); {
	case p.ProposalExpiryBlocks < 1:
		return fmt.Errorf("plugins: proposal_expiry_blocks %d must be at least 1", p.ProposalExpiryBlocks)
	case thresholdErr != nil:
		return fmt.Errorf("plugins: approval_threshold %w", thresholdErr)
	case p.ActivationDelayBlocks < 1 || p.ActivationDelayBlocks > maxActivationDelay:
		return fmt.Errorf("plugins: activation_delay_blocks %d out of range (1..%d)", p.ActivationDelayBlocks, maxActivationDelay)
	case p.CheckDelayBlocks < 1 || p.CheckDelayBlocks > maxCheckDelay:
		return fmt.Errorf("plugins: check_delay_blocks %d out of range (1..%d)", p.CheckDelayBlocks, maxCheckDelay)
	case p.MaxModuleBytes < 1 || p.MaxModuleBytes > maxModuleBytesCap:
		return fmt.Errorf("plugins: max_module_bytes %d out of range (1..%d)", p.MaxModuleBytes, maxModuleBytesCap)
	}
	if err := p.Wasm.Validate(); err != nil {
		return fmt.Errorf("plugins: wasm: %w", err)
	}
	for i, g := range p.Genesis {
		if (g.Bundled == "") == (len(g.Module) == 0) {
			return fmt.Errorf("plugins: genesis[%d]: give exactly one of bundled and module", i)
		}
		if b, err := hex.DecodeString(g.SHA256); err != nil || len(b) != 32 || g.SHA256 != hex.EncodeToString(b) {
			return fmt.Errorf("plugins: genesis[%d]: sha256 must be 64 lowercase hex characters", i)
		}
	}
	return nil
}

// paramsFromAppState reads the "plugins" section of the canonical app_state
// (already validated by the app).
func paramsFromAppState(appState []byte) (Params, error) {
	var s struct {
		Plugins *Params `json:"plugins"`
	}
	if err := json.Unmarshal(appState, &s); err != nil {
		return Params{}, fmt.Errorf("plugins: genesis: %w", err)
	}
	if s.Plugins == nil {
		return DefaultParams(), nil
	}
	return *s.Plugins, s.Plugins.Validate()
}
