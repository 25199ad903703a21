package devnet

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/composition"
)

// The demo genesis is valid and names the demo inserter; the demo keys are
// fixed (their secrets are valid secp256k1 scalars, or demoECDSA panics).
func TestDemoAppState(t *testing.T) {
	if _, err := app.ParseGenesis(composition.Modules(), DemoAppState()); err != nil {
		t.Fatal(err)
	}
	var g composition.GenesisState
	if err := json.Unmarshal(DemoAppState(), &g); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.IDOS.Inserters, []string{DemoInserterAccount()}) {
		t.Fatalf("inserters %v", g.IDOS.Inserters)
	}
	if got := DemoInserterAccount(); got != "eip191:0x7d104594807aA7947c9E8d9a354c8ED5FeA90854" {
		t.Fatalf("demo inserter changed: %s", got)
	}
	for _, d := range demoSchemes {
		if d.scheme == "eip191" {
			demoECDSA(d.name)
		}
	}
}
