package devnet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrepareCreatesThenResumes(t *testing.T) {
	dir := t.TempDir()
	gt := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	m, created, err := Prepare(Config{Dir: dir, Validators: 3, BasePort: 40000, ChainID: "idos-x", GenesisTime: gt})
	if err != nil || !created {
		t.Fatalf("create: created=%v err=%v", created, err)
	}
	if len(m.Nodes) != 3 || m.Nodes[2].RPCAddr != "127.0.0.1:40021" || m.Nodes[1].GatewayAddr != "127.0.0.1:40012" {
		t.Errorf("manifest nodes = %+v", m.Nodes)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "node0", "config", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Nodes[1:] {
		if !strings.Contains(string(cfg), n.NodeID+"@"+n.P2PAddr) {
			t.Errorf("node0 does not peer with %s", n.Name)
		}
	}

	m2, created, err := Prepare(Config{Dir: dir})
	if err != nil || created || m2.ChainID != "idos-x" || !m2.GenesisTime.Equal(gt) {
		t.Fatalf("resume: %+v created=%v err=%v", m2, created, err)
	}
	_, _, err = Prepare(Config{Dir: dir, Validators: 4, ChainID: "idos-y"})
	if err == nil || !strings.Contains(err.Error(), "--validators 4") || !strings.Contains(err.Error(), "idos-y") {
		t.Fatalf("conflicting flags: err = %v", err)
	}
}

func TestCreateRefusesPartialDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "node0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Prepare(Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), ManifestFile) {
		t.Fatalf("partial dir: err = %v", err)
	}
}

func TestCreateRejectsBadShape(t *testing.T) {
	for _, cfg := range []Config{
		{Validators: MaxValidators + 1},
		{BasePort: 65530, Validators: 2},
	} {
		cfg.Dir = t.TempDir()
		if _, err := Create(cfg); err == nil {
			t.Errorf("Create(%+v) succeeded", cfg)
		}
	}
}
