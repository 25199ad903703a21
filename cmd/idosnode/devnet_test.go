package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/devnet"
)

// waitOutput waits until the devnet has printed want.
func waitOutput(t *testing.T, d *testnet.Devnet, want string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !strings.Contains(d.Output(), want) {
		select {
		case <-ctx.Done():
			t.Fatalf("no %q within %s:\n%s", want, timeout, d.Output())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// The README's order: a plain devnet first, then `devnet --seed-demo` on
// the same directory, which seeds the existing network (every devnet's
// genesis lists the demo inserter). The nodes share one compilation cache
// in DIR/wasm-cache.
func TestDevnetSeedDemoOnExisting(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(testnet.TempDir(t), "devnet")
	port := strconv.Itoa(testnet.DevnetPorts(t, 2))
	d := testnet.StartDevnet(t, bin, dir, "--validators", "2", "--base-port", port)
	waitOutput(t, d, "validators running", 2*time.Minute)
	if err := d.Interrupt(); err != nil {
		t.Fatal(err)
	}
	if code, err := d.Wait(time.Minute); err != nil || code != 0 {
		t.Fatalf("plain devnet stopped with %d, %v:\n%s", code, err, d.Output())
	}
	entries, err := os.ReadDir(filepath.Join(dir, devnet.WasmCacheDir))
	if err != nil || len(entries) == 0 {
		t.Fatalf("shared wasm cache empty: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node0", "data", "wasm-cache")); err == nil {
		t.Fatal("node0 compiled into its own cache, not the shared one")
	}

	d = testnet.StartDevnet(t, bin, dir, "--seed-demo")
	waitOutput(t, d, "Demo data", 2*time.Minute)
	if out := d.Output(); !strings.Contains(out, "resuming devnet") || strings.Contains(out, "seed failed") {
		t.Fatalf("seed on the existing devnet:\n%s", out)
	}
}
