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

// Init writes the documented snapshot defaults (it once wrote 0, no
// snapshots), the options' values when given, and a [statesync] section
// CometBFT accepts, whose trust period is the light client's.
func TestInitSnapshotsAndStateSync(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "def")
	if err := Init(def, Options{}); err != nil {
		t.Fatal(err)
	}
	h, err := Load(def)
	if err != nil {
		t.Fatal(err)
	}
	if h.App.SnapshotInterval != DefaultSnapshotInterval || h.App.SnapshotKeep != DefaultSnapshotKeep || h.CometBFT.StateSync.Enable {
		t.Fatalf("defaults: interval %d keep %d statesync %v", h.App.SnapshotInterval, h.App.SnapshotKeep, h.CometBFT.StateSync.Enable)
	}
	hash := strings.Repeat("AB", 32)
	ss := filepath.Join(dir, "ss")
	if err := Init(ss, Options{SnapshotInterval: -1, StateSync: &StateSync{RPCServers: []string{"http://a:1", "http://b:1"}, TrustHeight: 7, TrustHash: hash}}); err != nil {
		t.Fatal(err)
	}
	if h, err = Load(ss); err != nil {
		t.Fatal(err)
	}
	c := h.CometBFT.StateSync
	if h.App.SnapshotInterval != 0 || !c.Enable || c.TrustHeight != 7 || c.TrustHash != hash || c.TrustPeriod != 168*time.Hour ||
		c.DiscoveryTime != DefaultDiscoveryTime || strings.Join(c.RPCServers, ",") != "http://a:1,http://b:1" {
		t.Fatalf("interval %d, statesync %+v", h.App.SnapshotInterval, c)
	}
	// CometBFT's own rule: a light client needs a primary and a witness.
	err = Init(filepath.Join(dir, "one"), Options{StateSync: &StateSync{RPCServers: []string{"http://a:1"}, TrustHeight: 7, TrustHash: hash}})
	if err == nil || !strings.Contains(err.Error(), "two rpc_servers") {
		t.Fatalf("one rpc server: %v", err)
	}
}
