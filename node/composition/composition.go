// Package composition is what makes a standard idOS node out of the
// generic parts: the modules it runs, in order, and the default genesis
// app_state that goes with them. node/app imports no module; cmd/idosnode,
// node/runner, node/devnet, node/home and the tests take the list from
// here.
package composition

import (
	"encoding/json"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/module/validators"
	"github.com/idos-network/idos-node/node/tx"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// Modules are the modules of a standard node, in order. The order is
// consensus: it is the order of schemas, genesis sections and end-of-block
// hooks.
func Modules() []module.Module {
	return []module.Module{kv.Module(), validators.Module(), idos.Module(), plugins.Module(), drivers.Module()}
}

// ModulesWasm is Modules with the plugins module checking proposals in
// rts; give the app the same runtimes (app.Config.Wasm) and each module
// compiles once per set of limits.
func ModulesWasm(rts *wasmhost.Runtimes) []module.Module {
	ms := Modules()
	for i := range ms {
		if ms[i].Name == "plugins" {
			ms[i] = plugins.New(plugins.Config{Runtimes: rts})
		}
	}
	return ms
}

// Codes are the result codes that a node with Modules registers for its
// modules' errors, in the same order. Clients use it to match a rejection's
// code with a sentinel error (errors.Is).
func Codes() *module.Codes {
	c := &module.Codes{}
	if err := c.Register(module.CommonCodes...); err != nil {
		panic(err)
	}
	for _, m := range Modules() {
		if err := c.Register(m.Errors...); err != nil {
			panic(err) // the default modules' codes are checked by the tests
		}
	}
	return c
}

// GenesisState is the app_state of a standard node's genesis.json, typed
// for the tools that write one. Its fields follow Modules (the sections of
// kv, which has none, validators, idos, plugins and drivers), so its encoding is
// the canonical one app.ParseGenesis gives (TestGenesisMatchesApp).
type GenesisState struct {
	// MaxTxBytes caps a transaction's encoded size; at most tx.MaxTxBytes.
	MaxTxBytes int `json:"max_tx_bytes"`
	// Validators are the rules of the validator set by approval.
	Validators validators.Params `json:"validators"`
	// IDOS seeds the data model (initial inserters) and sets the rules of
	// inserter proposals.
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
	return GenesisState{MaxTxBytes: tx.MaxTxBytes, Validators: validators.DefaultParams(), IDOS: idos.DefaultGenesis(),
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

// Canonical is g as compact JSON with fields in struct order.
func (g GenesisState) Canonical() ([]byte, error) { return json.Marshal(g) }
