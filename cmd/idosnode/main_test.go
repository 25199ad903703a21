package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testnet.Cleanup()
	if lightBuilt.Load() {
		if bin, err := lightBinary(); err == nil {
			os.RemoveAll(filepath.Dir(bin))
		}
	}
	os.Exit(code)
}

func TestInitRefusesOverwrite(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(t.TempDir(), "home")
	out, code := testnet.Command(t, bin, "init", "--home", dir, "--chain-id", "idos-cli")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	for _, want := range []string{"node id:", "validator address:"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, "config", "genesis.json"))

	out, code = testnet.Command(t, bin, "init", "--home", dir, "--chain-id", "other")
	if code == 0 || !strings.Contains(out, "already initialised") {
		t.Fatalf("second init: exit %d, want refusal\n%s", code, out)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "config", "genesis.json"))
	if string(before) != string(after) {
		t.Error("refused init changed the genesis")
	}

	if out, code := testnet.Command(t, bin, "init", "--home", dir, "--chain-id", "other", "--force"); code != 0 {
		t.Fatalf("init --force: exit %d\n%s", code, out)
	}
}

func TestHelp(t *testing.T) {
	bin := testnet.Binary(t)
	for _, cmd := range []string{"init", "start", "devnet"} {
		out, code := testnet.Command(t, bin, cmd, "--help")
		if code != 0 || !strings.Contains(out, "idosnode "+cmd) {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, out)
		}
	}
}

// TestDevnet runs a 4-validator devnet as real processes, stops it with
// SIGINT, and resumes the same chain.
func TestDevnet(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(testnet.TempDir(t), "devnet")
	base := testnet.DevnetPorts(t, 4)
	args := []string{"--validators", "4", "--base-port", strconv.Itoa(base)}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	d := testnet.StartDevnet(t, bin, dir, args...)
	heights, err := d.WaitHeight(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: heights %v after %s", heights, time.Since(start).Round(time.Millisecond))
	m, err := d.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	genesis, err := os.ReadFile(filepath.Join(dir, "node0", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Output(), m.Nodes[3].GatewayURL()) {
		t.Errorf("address table missing; output:\n%s", d.Output())
	}
	var stopped int64
	for _, h := range heights {
		stopped = max(stopped, h)
	}
	// The hash of an early block, to prove the resumed network extends the
	// same chain rather than a new one with the same id.
	early := int64(2)
	cs, err := d.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cs[0].Block(ctx, &early)
	if err != nil {
		t.Fatal(err)
	}
	earlyHash := b.BlockID.Hash.String()
	if err := d.Interrupt(); err != nil {
		t.Fatal(err)
	}
	if code, err := d.Wait(time.Minute); err != nil || code != 0 {
		t.Fatalf("devnet after SIGINT: exit %d, %v", code, err)
	}

	// Flags that contradict the network are refused.
	out, code := testnet.Command(t, bin, "devnet", "--dir", dir, "--validators", "3")
	if code == 0 || !strings.Contains(out, "--validators 3") {
		t.Fatalf("devnet with conflicting --validators: exit %d\n%s", code, out)
	}

	// Resume without flags: same chain, higher heights.
	start = time.Now()
	d = testnet.StartDevnet(t, bin, dir)
	heights, err = d.WaitHeight(ctx, stopped+2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed: heights %v after %s", heights, time.Since(start).Round(time.Millisecond))
	cs, err = d.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.NodeInfo.Network != m.ChainID {
			t.Errorf("node%d chain %q, want %q", i, st.NodeInfo.Network, m.ChainID)
		}
		b, err := c.Block(ctx, &early)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.BlockID.Hash.String(); got != earlyHash {
			t.Errorf("node%d block %d hash %s, want %s: not the same chain", i, early, got, earlyHash)
		}
	}
	again, _ := os.ReadFile(filepath.Join(dir, "node0", "config", "genesis.json"))
	if string(again) != string(genesis) {
		t.Error("resume changed the genesis")
	}
	if err := d.Interrupt(); err != nil {
		t.Fatal(err)
	}
	if code, err := d.Wait(time.Minute); err != nil || code != 0 {
		t.Fatalf("resumed devnet after SIGINT: exit %d, %v", code, err)
	}
}

// TestDevnetNodeDies kills one node and expects the supervisor to stop the
// others and exit non-zero.
func TestDevnetNodeDies(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(testnet.TempDir(t), "devnet")
	base := testnet.DevnetPorts(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	d := testnet.StartDevnet(t, bin, dir, "--validators", "2", "--base-port", strconv.Itoa(base))
	if _, err := d.WaitHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pids, err := d.ChildPIDs()
	if err != nil || len(pids) != 2 {
		t.Fatalf("child pids %v, %v", pids, err)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	code, err := d.Wait(time.Minute)
	if err != nil || code == 0 {
		t.Fatalf("devnet after a node died: exit %d, %v", code, err)
	}
	if !strings.Contains(d.Output(), "exited unexpectedly") {
		t.Errorf("no loud report of the dead node:\n%s", d.Output())
	}
	if err := syscall.Kill(pids[1], 0); err == nil {
		t.Errorf("surviving node %d still running", pids[1])
	}
}
