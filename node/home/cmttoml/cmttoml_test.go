package cmttoml

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// TestRoundTrip writes configs with CometBFT's own template and checks that
// every field reads back, which also proves the subset parser covers the
// whole template of the pinned CometBFT version.
func TestRoundTrip(t *testing.T) {
	want := cmtcfg.DefaultConfig()
	want.SetRoot("/tmp/x")
	want.Moniker = "node # 1" // the template does not escape quotes, so none here
	want.P2P.PersistentPeers = "a@127.0.0.1:1,b@127.0.0.1:2"
	want.P2P.AddrBookStrict = false
	want.Consensus.TimeoutCommit = 250 * time.Millisecond
	want.Mempool.Size = 50000
	want.RPC.CORSAllowedOrigins = []string{"*", "http://x"}
	want.StateSync.RPCServers = []string{"a:1", "b:2"}

	path := filepath.Join(t.TempDir(), "config.toml")
	cmtcfg.WriteConfigFile(path, want)

	got := cmtcfg.DefaultConfig()
	// Start from values that differ from the file so a key the decoder
	// skipped shows up as a difference.
	got.Moniker = "other"
	got.Mempool.Size = 1
	if err := ReadFile(path, got); err != nil {
		t.Fatal(err)
	}
	got.SetRoot("/tmp/x") // root_dir is not part of the file's meaning
	if !reflect.DeepEqual(got, want) {
		for _, pair := range [][2]any{
			{got.BaseConfig, want.BaseConfig}, {got.RPC, want.RPC}, {got.P2P, want.P2P},
			{got.Mempool, want.Mempool}, {got.StateSync, want.StateSync},
			{got.BlockSync, want.BlockSync}, {got.Consensus, want.Consensus},
			{got.Storage, want.Storage}, {got.TxIndex, want.TxIndex},
			{got.Instrumentation, want.Instrumentation},
		} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("mismatch:\n got %+v\nwant %+v", pair[0], pair[1])
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, in := range map[string]string{
		"unknown key":      "no_such_key = 1\n",
		"unknown section":  "[nope]\nx = 1\n",
		"bad duration":     "[consensus]\ntimeout_commit = \"soon\"\n",
		"type mismatch":    "[mempool]\nsize = \"big\"\n",
		"bad bool":         "[p2p]\npex = yes\n",
		"unterminated":     "moniker = \"abc\n",
		"multi-line array": "[rpc]\ncors_allowed_origins = [\n",
		"array of tables":  "[[rpc]]\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := Decode([]byte(in), cmtcfg.DefaultConfig()); err == nil {
				t.Fatalf("Decode(%q) succeeded, want error", in)
			}
		})
	}
}
