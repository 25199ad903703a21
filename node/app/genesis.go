package app

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/module/validators"
	"github.com/idos-network/idos-node/node/tx"
)

// GenesisState is the app_state of genesis.json.
type GenesisState struct {
	// MaxTxBytes caps a transaction's encoded size; at most tx.MaxTxBytes.
	MaxTxBytes int `json:"max_tx_bytes"`
	// Validators are the rules of the validator set by approval.
	Validators validators.Params `json:"validators"`
	// IDOS seeds the data model (initial inserters).
	IDOS idos.Genesis `json:"idos"`
	// Plugins are the rules of signature plugins and the plugins active
	// from genesis.
	Plugins plugins.Params `json:"plugins"`
	// Drivers are the rules of chain-grant observations and the chains
	// enabled from genesis.
	Drivers drivers.Params `json:"drivers"`
}

// DefaultGenesis returns the genesis state of a new network.
func DefaultGenesis() GenesisState {
	return GenesisState{MaxTxBytes: tx.MaxTxBytes, Validators: validators.DefaultParams(), IDOS: idos.Genesis{Inserters: []string{}},
		Plugins: plugins.DefaultParams(), Drivers: drivers.DefaultParams()}
}

// DefaultGenesisState is the app_state written into a new genesis file.
func DefaultGenesisState() json.RawMessage {
	b, err := DefaultGenesis().Canonical()
	if err != nil {
		panic(err)
	}
	return b
}

// Canonical is the encoding of g that the app hash commits to: compact JSON
// with fields in struct order.
func (g GenesisState) Canonical() ([]byte, error) { return json.Marshal(g) }

// ParseGenesis decodes and validates app_state over the defaults: a field
// left out keeps its default, an unknown field is an error (a typo in
// genesis must not silently fall back to a default).
func ParseGenesis(appState []byte) (GenesisState, error) {
	g := DefaultGenesis()
	if len(bytes.TrimSpace(appState)) == 0 {
		return g, nil
	}
	dec := json.NewDecoder(bytes.NewReader(appState))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, fmt.Errorf("genesis app_state: %w", err)
	}
	if g.MaxTxBytes <= 0 || g.MaxTxBytes > tx.MaxTxBytes {
		return g, fmt.Errorf("genesis app_state: max_tx_bytes %d out of range (1..%d)", g.MaxTxBytes, tx.MaxTxBytes)
	}
	if err := g.Validators.Validate(); err != nil {
		return g, fmt.Errorf("genesis app_state: %w", err)
	}
	if g.IDOS.Inserters == nil {
		g.IDOS.Inserters = []string{} // null and [] are the same genesis
	}
	if err := g.IDOS.Validate(); err != nil {
		return g, fmt.Errorf("genesis app_state: %w", err)
	}
	if g.Plugins.Genesis == nil {
		g.Plugins.Genesis = []plugins.GenesisPlugin{}
	}
	if err := g.Plugins.Validate(); err != nil {
		return g, fmt.Errorf("genesis app_state: %w", err)
	}
	if g.Drivers.Chains == nil {
		g.Drivers.Chains = []drivers.Chain{}
	}
	if err := g.Drivers.Validate(); err != nil {
		return g, fmt.Errorf("genesis app_state: %w", err)
	}
	return g, nil
}
