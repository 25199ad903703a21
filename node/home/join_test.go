package home

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A node that joins an existing network writes the network's genesis, and
// the file is byte-identical to the validators' own.
func TestInitWithNetworkGenesis(t *testing.T) {
	dir := t.TempDir()
	val, joiner := filepath.Join(dir, "val"), filepath.Join(dir, "joiner")
	if err := Init(val, Options{ChainID: "idos-net", GenesisTime: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	h, err := Load(val)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := h.Genesis()
	if err != nil {
		t.Fatal(err)
	}

	if err := Init(joiner, Options{ChainID: "other", Genesis: doc}); err == nil || !strings.Contains(err.Error(), `"idos-net"`) {
		t.Fatalf("init with a disagreeing chain id: %v", err)
	}
	if err := Init(joiner, Options{Genesis: doc, PersistentPeers: []string{strings.Repeat("ab", 20) + "@127.0.0.1:26656"}}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(val, "config", "genesis.json"))
	got, _ := os.ReadFile(filepath.Join(joiner, "config", "genesis.json"))
	if !bytes.Equal(got, want) {
		t.Errorf("joiner genesis differs:\n%s\nwant\n%s", got, want)
	}
	a, _ := ReadIdentity(val)
	b, _ := ReadIdentity(joiner)
	if a.NodeID == b.NodeID || a.ValidatorAddress.String() == b.ValidatorAddress.String() {
		t.Error("joiner reused the validator's keys")
	}
}

func TestGenesisAppStateOverride(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	if err := Init(dir, Options{ChainID: "c"}); err != nil {
		t.Fatal(err)
	}
	custom := json.RawMessage(`{"max_tx_bytes":1000}`)
	doc, err := NewGenesis([]string{dir}, GenesisOptions{ChainID: "c", AppState: custom})
	if err != nil {
		t.Fatal(err)
	}
	if string(doc.AppState) != string(custom) {
		t.Errorf("app_state %s, want %s", doc.AppState, custom)
	}
	if _, err := NewGenesis([]string{dir}, GenesisOptions{ChainID: "c", AppState: json.RawMessage(`{`)}); err == nil {
		t.Error("invalid app_state accepted")
	}
}
