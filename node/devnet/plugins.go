package devnet

import (
	"encoding/json"

	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/sigplugins"
)

// BundledPlugins lists every plugin bundled with the node (sigplugins), by
// name and hash, for app_state.plugins.genesis.
func BundledPlugins() []plugins.GenesisPlugin {
	var out []plugins.GenesisPlugin
	for _, b := range sigplugins.All() {
		out = append(out, plugins.GenesisPlugin{Bundled: b.Name, SHA256: b.SHA256()})
	}
	return out
}

// DefaultAppState is the app_state of a new `idosnode devnet`: the default
// genesis with the bundled plugins (eip191_wasm, solana) active from block 1
// and the demo inserter (seed.go), so that `devnet --seed-demo` can seed
// any devnet, also one first started without it. The demo inserter's key
// is public: anyone can create users on a devnet, which is local.
func DefaultAppState() json.RawMessage {
	g := composition.DefaultGenesis()
	g.Plugins.Genesis = BundledPlugins()
	g.IDOS.Inserters = []string{DemoInserterAccount()}
	b, err := g.Canonical()
	if err != nil {
		panic(err)
	}
	return b
}
