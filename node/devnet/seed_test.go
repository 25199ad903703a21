package devnet

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/userclient"
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

// The demo keystore is marked, so that a user's new key is not written
// there (and under the demo's public passphrase) by a shell that still
// exports the demo's variables; the devnet itself reopens and fills it.
func TestDemoKeystoreMarked(t *testing.T) {
	dir := t.TempDir()
	for range 2 { // a second seeding reopens it
		if _, _, err := demoKeys(dir); err != nil {
			t.Fatal(err)
		}
	}
	kd := filepath.Join(dir, DemoKeysDir)
	if !userclient.IsDemoKeystore(kd) {
		t.Fatalf("%s has no %s", kd, userclient.DemoMarker)
	}
	ks := &userclient.Keystore{Dir: kd, ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	if _, err := ks.Generate("mine", auth.SchemeEd25519, DemoPassphrase, rand.Reader); !errors.Is(err, userclient.ErrDemoKeystore) {
		t.Fatalf("a new key in the demo keystore: %v, want ErrDemoKeystore", err)
	}
}
