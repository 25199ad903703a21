package home_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/wasmhost"
)

var genesisTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func TestInitLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	opts := home.Options{
		ChainID:           "idos-test",
		Moniker:           "n0",
		P2PListenAddr:     "127.0.0.1:36656",
		RPCListenAddr:     "tcp://127.0.0.1:36657",
		GatewayListenAddr: "127.0.0.1:38080",
		PersistentPeers:   []string{"0123456789abcdef0123456789abcdef01234567@127.0.0.1:1"},
		TimeoutCommit:     100 * time.Millisecond,
		GenesisTime:       genesisTime,
		LogFormat:         "json",
	}
	if err := home.Init(dir, opts); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := h.CometBFT
	checks := []struct {
		name      string
		got, want any
	}{
		{"root", c.RootDir, dir},
		{"moniker", c.Moniker, "n0"},
		{"p2p laddr", c.P2P.ListenAddress, "tcp://127.0.0.1:36656"},
		{"rpc laddr", c.RPC.ListenAddress, "tcp://127.0.0.1:36657"},
		{"peers", c.P2P.PersistentPeers, opts.PersistentPeers[0]},
		{"addr book strict", c.P2P.AddrBookStrict, false},
		{"allow duplicate ip", c.P2P.AllowDuplicateIP, true},
		{"timeout commit", c.Consensus.TimeoutCommit, 100 * time.Millisecond},
		{"empty blocks", c.Consensus.CreateEmptyBlocks, true},
		{"mempool size", c.Mempool.Size, 50000},
		{"mempool cache", c.Mempool.CacheSize, 100000},
		{"indexer", c.TxIndex.Indexer, "kv"},
		{"gateway", h.App.GatewayListenAddr, "127.0.0.1:38080"},
		{"log level", h.App.LogLevel, "info"},
		{"log format", h.App.LogFormat, "json"},
		{"db path", h.DBPath, filepath.Join(dir, "data", "idos.sqlite")},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}

	g, err := h.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	if g.ChainID != "idos-test" || !g.GenesisTime.Equal(genesisTime) || len(g.Validators) != 1 {
		t.Errorf("genesis = chain %q time %v %d validators", g.ChainID, g.GenesisTime, len(g.Validators))
	}
	if g.ConsensusParams.Block.MaxBytes != 4<<20 {
		t.Errorf("block max bytes = %d", g.ConsensusParams.Block.MaxBytes)
	}
	// The genesis file is indented, so app_state is compared as JSON.
	var got, want bytes.Buffer
	if err := json.Compact(&got, g.AppState); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&want, composition.DefaultGenesisState()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("app_state = %s, want %s", got.Bytes(), want.Bytes())
	}
	pv, err := h.PrivValidator()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pv.GetAddress(), g.Validators[0].Address) {
		t.Error("genesis validator is not this home's key")
	}
	if _, err := h.NodeKey(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config/node_key.json", "config/priv_validator_key.json", "data/priv_validator_state.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestInitRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	if err := home.Init(dir, home.Options{GenesisTime: genesisTime}); err != nil {
		t.Fatal(err)
	}
	before, err := home.ReadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = home.Init(dir, home.Options{ChainID: "other"})
	if !errors.Is(err, home.ErrExists) {
		t.Fatalf("second Init: err = %v, want ErrExists", err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := h.Genesis(); g.ChainID != home.DefaultChainID {
		t.Errorf("refused Init changed chain id to %q", g.ChainID)
	}

	if err := home.Init(dir, home.Options{ChainID: "other", Overwrite: true}); err != nil {
		t.Fatalf("Init with Overwrite: %v", err)
	}
	after, err := home.ReadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after.NodeID != before.NodeID || !bytes.Equal(after.ValidatorAddress, before.ValidatorAddress) {
		t.Error("Overwrite replaced the keys; it must keep them")
	}
	h, err = home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := h.Genesis(); g.ChainID != "other" {
		t.Errorf("overwritten chain id = %q", g.ChainID)
	}
}

func TestInitRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]home.Options{
		"p2p addr":   {P2PListenAddr: "nope"},
		"gateway":    {GatewayListenAddr: "8080"},
		"peer":       {PersistentPeers: []string{"abc@127.0.0.1:1"}},
		"moniker":    {Moniker: `a"b`},
		"log level":  {LogLevel: "loud"},
		"log format": {LogFormat: "xml"},
		"chain id":   {ChainID: "has space"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := home.Init(dir, opts); err == nil {
				t.Fatal("Init succeeded")
			}
			if _, err := os.Stat(filepath.Join(dir, "config")); err == nil {
				t.Error("a rejected Init left files behind")
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := home.Load(t.TempDir()); err == nil {
		t.Fatal("Load of an empty directory succeeded")
	}
}

func TestSharedGenesis(t *testing.T) {
	root := t.TempDir()
	var homes []string
	for i := range 3 {
		dir := filepath.Join(root, "node"+string(rune('0'+i)))
		if err := home.Init(dir, home.Options{GenesisTime: genesisTime}); err != nil {
			t.Fatal(err)
		}
		homes = append(homes, dir)
	}
	doc, err := home.WriteSharedGenesis(homes, home.GenesisOptions{ChainID: "idos-devnet", GenesisTime: genesisTime})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Validators) != 3 {
		t.Fatalf("%d validators, want 3", len(doc.Validators))
	}
	first, err := os.ReadFile(filepath.Join(homes[0], "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range homes {
		data, err := os.ReadFile(filepath.Join(h, "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, first) {
			t.Errorf("genesis of %s differs from %s", h, homes[0])
		}
		id, err := home.ReadIdentity(h)
		if err != nil {
			t.Fatal(err)
		}
		v := doc.Validators[i]
		if !bytes.Equal(v.Address, id.ValidatorAddress) || v.Power != home.DefaultValidatorPower {
			t.Errorf("validator %d = %v power %d, want %v", i, v.Address, v.Power, id.ValidatorAddress)
		}
	}
	// Reproducible: same homes and options give the same bytes.
	if _, err := home.WriteSharedGenesis(homes, home.GenesisOptions{ChainID: "idos-devnet", GenesisTime: genesisTime}); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(homes[0], "config", "genesis.json"))
	if !bytes.Equal(again, first) {
		t.Error("genesis is not reproducible")
	}
}

// TestAppConfigRefusesWasmLimits: the Wasm fuel, call depth and memory
// limits are chain parameters; idos.json cannot set them, and says so.
func TestAppConfigRefusesWasmLimits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if err := home.Init(dir, home.Options{ChainID: "idos-test", Moniker: "n0", GenesisTime: genesisTime}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config", home.AppConfigFile)
	for _, extra := range []string{`"fuel_limit": 1000`, `"wasm": {"stack_budget": 10}`, `"memory_limit_pages": 1`} {
		cfg := `{"gateway_listen_addr": "127.0.0.1:8080", "log_level": "info", "log_format": "text", ` + extra + `}`
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := home.Load(dir); !errors.Is(err, wasmhost.ErrLocalLimits) {
			t.Errorf("idos.json with %s: Load = %v, want ErrLocalLimits", extra, err)
		}
	}
}

// TestDriverEndpointsConfig: driver_endpoints in idos.json, read by Load:
// valid lists load; each mistake is refused as ErrDriverEndpoints naming
// the chain.
func TestDriverEndpointsConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if err := home.Init(dir, home.Options{ChainID: "idos-test", Moniker: "n0", GenesisTime: genesisTime}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config", home.AppConfigFile)
	load := func(extra string) (*home.Home, error) {
		cfg := `{"gateway_listen_addr": "127.0.0.1:8080", "log_level": "info", "log_format": "text", "retain_blocks": 0, "light_trusting_period": "1h", ` + extra + `}`
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return home.Load(dir)
	}
	h, err := load(`"driver_endpoints": {"eip155:1": ["https://a.example/v3/key", "http://127.0.0.1:8545"]}, "driver_poll_interval_ms": 250, "driver_modules_dir": "mods"`)
	if err != nil || len(h.App.DriverEndpoints["eip155:1"]) != 2 || h.App.DriverPollIntervalMS != 250 || h.DriverModulesDir() != filepath.Join(h.Dir, "mods") {
		t.Fatalf("valid config: %+v %v", h, err)
	}
	if h, err = load(`"log_level": "info"`); err != nil || h.DriverModulesDir() != filepath.Join(h.Dir, "config", "drivers") || len(h.App.DriverEndpoints) != 0 {
		t.Fatalf("defaults: %+v %v", h, err)
	}
	for i, c := range []struct{ extra, want string }{
		0: {`"driver_endpoints": {"eip155:1": []}`, `"eip155:1": no endpoint`},
		1: {`"driver_endpoints": {"eip155 1": ["http://a"]}`, `chain id "eip155 1"`},
		2: {`"driver_endpoints": {"eip155:1": ["ws://a"]}`, `"ws://a": want an http:// or https:// URL`},
		3: {`"driver_endpoints": {"eip155:1": ["http://"]}`, `"http://": want an http:// or https:// URL`},
		4: {`"driver_endpoints": {"eip155:1": ["http://a", "http://a"]}`, `"http://a" listed twice`},
	} {
		if _, err := load(c.extra); !errors.Is(err, home.ErrDriverEndpoints) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: Load = %v, want ErrDriverEndpoints with %q", i, err, c.want)
		}
	}
	if _, err := load(`"driver_poll_interval_ms": -1`); err == nil || !strings.Contains(err.Error(), "driver_poll_interval_ms") {
		t.Errorf("negative interval: %v", err)
	}
}

// TestSnapshotChunkBytesConfig: snapshot_chunk_bytes loads from idos.json
// within 0..MaxSnapshotChunkBytes and is refused outside.
func TestSnapshotChunkBytesConfig(t *testing.T) {
	c := home.DefaultAppConfig()
	for _, n := range []int{0, 1024, home.MaxSnapshotChunkBytes} {
		c.SnapshotChunkBytes = n
		if err := c.Validate(); err != nil {
			t.Errorf("snapshot_chunk_bytes %d refused: %v", n, err)
		}
	}
	for _, n := range []int{-1, home.MaxSnapshotChunkBytes + 1} {
		c.SnapshotChunkBytes = n
		if err := c.Validate(); err == nil {
			t.Errorf("snapshot_chunk_bytes %d accepted", n)
		}
	}
	dir := filepath.Join(t.TempDir(), "node")
	if err := home.Init(dir, home.Options{ChainID: "idos-test", Moniker: "n0", GenesisTime: genesisTime}); err != nil {
		t.Fatal(err)
	}
	cfg := `{"gateway_listen_addr": "127.0.0.1:8080", "log_level": "info", "log_format": "text", "retain_blocks": 0, "light_trusting_period": "1h", "snapshot_chunk_bytes": 4096}`
	if err := os.WriteFile(filepath.Join(dir, "config", home.AppConfigFile), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if h, err := home.Load(dir); err != nil || h.App.SnapshotChunkBytes != 4096 {
		t.Fatalf("Load: %+v %v", h, err)
	}
}
