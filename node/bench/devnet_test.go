package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testnet.Cleanup()
	os.Exit(code)
}

// BenchmarkDevnetThroughput: `idosnode devnet` with 4 validator processes
// (default 1 s timeout_commit), 20,000 signed kv.put transactions from 400
// senders submitted over HTTP RPC by 16 workers spread over all four nodes,
// one call per transaction and in batches of 10; reports committed
// transactions per second.
func BenchmarkDevnetThroughput(b *testing.B) {
	bin := testnet.Binary(b)
	dir := filepath.Join(testnet.TempDir(b), "devnet")
	d := testnet.StartDevnet(b, bin, dir, "--validators", "4", "--base-port", strconv.Itoa(testnet.DevnetPorts(b, 4)), "--chain-id", "idos-bench")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := d.WaitHeight(ctx, 2); err != nil {
		b.Fatal(err)
	}
	hs, err := d.Clients(ctx)
	if err != nil {
		b.Fatal(err)
	}
	runLoads(b, "4-validator devnet", hs)
	if err := d.Interrupt(); err != nil {
		b.Fatal(err)
	}
	if code, err := d.Wait(30 * time.Second); err != nil || code != 0 {
		b.Fatalf("devnet exit %d: %v", code, err)
	}
}
