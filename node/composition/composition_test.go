package composition

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/plugins"
)

// TestGenesisMatchesApp: the typed GenesisState and the app's parse of the
// modules' sections agree byte for byte, so a genesis file written here
// hashes as the app computes it; edited genesis files too.
func TestGenesisMatchesApp(t *testing.T) {
	edited := DefaultGenesis()
	edited.MaxTxBytes = 1000
	edited.Validators.JoinExpiryBlocks = 7
	edited.IDOS.Inserters = []string{"ed25519:abc"}
	edited.Plugins.Genesis = []plugins.GenesisPlugin{}
	for name, g := range map[string]GenesisState{"default": DefaultGenesis(), "edited": edited} {
		want, err := g.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := app.ParseGenesis(Modules(), want)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := parsed.Canonical()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: app canonical\n%s\nwant\n%s", name, got, want)
		}
	}
	// An empty app_state and one with null sections are the defaults.
	want := DefaultGenesisState()
	for _, in := range []string{"", "{}", `{"validators":null,"idos":{"inserters":null},"plugins":{"genesis":null}}`} {
		parsed, err := app.ParseGenesis(Modules(), []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got, _ := parsed.Canonical(); !bytes.Equal(got, want) {
			t.Errorf("%q: canonical %s, want the defaults %s", in, got, want)
		}
	}
	// Unknown fields, also inside a section, and invalid values are refused.
	for _, bad := range []string{`{"typo":1}`, `{"validators":{"typo":1}}`, `{"idos":{"inserters":["nocolon"]}}`, `{"max_tx_bytes":0}`} {
		if _, err := app.ParseGenesis(Modules(), []byte(bad)); err == nil {
			t.Errorf("ParseGenesis accepted %s", bad)
		}
	}
}

// Codes registers every standard module's errors without a clash, and
// the common ones first.
func TestCodes(t *testing.T) {
	c := Codes()
	if code, ok := c.Code(fmt.Errorf("x: %w", module.ErrNotFound)); !ok || code != module.CodeNotFound {
		t.Fatalf("ErrNotFound has code %d, %v", code, ok)
	}
	n := len(module.CommonCodes)
	for _, m := range Modules() {
		n += len(m.Errors)
	}
	if got := len(c.All()); got == 0 || got > n {
		t.Fatalf("%d codes registered, at most %d expected", got, n)
	}
}
