package app

import (
	"path/filepath"
	"testing"

	"github.com/idos-network/idos-node/node/module"
)

// The app runs only the modules it is given, and refuses to run none.
func TestNewNeedsModules(t *testing.T) {
	if _, err := New(Config{DBPath: filepath.Join(t.TempDir(), "state.sqlite")}); err == nil {
		t.Fatal("New without modules succeeded")
	}
}

// Two modules providing signature plugins would make loading ambiguous.
func TestOnePluginSource(t *testing.T) {
	src := &module.PluginSource{}
	ms := []module.Module{{Name: "a", Plugins: src}, {Name: "b", Plugins: src}}
	a, err := New(Config{DBPath: filepath.Join(t.TempDir(), "state.sqlite"), Modules: ms[:1]})
	if err != nil {
		t.Fatalf("one plugin source: %v", err)
	}
	a.Close()
	if _, err := New(Config{DBPath: filepath.Join(t.TempDir(), "state.sqlite"), Modules: ms}); err == nil {
		t.Fatal("New with two plugin sources succeeded")
	}
}

// A section's Default must be a pointer to a struct (its fields become
// app_state's).
func TestGenesisSectionShape(t *testing.T) {
	ms := []module.Module{{Name: "a", Genesis: &module.GenesisSection{Default: func() any { return 1 }, Validate: func(any) error { return nil }}}}
	if _, err := ParseGenesis(ms, nil); err == nil {
		t.Fatal("ParseGenesis accepted a non-struct section")
	}
}
