package bench

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
)

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// BenchmarkSingleValidatorThroughput: one in-process validator, 20,000
// signed kv.put transactions from 400 senders submitted over the HTTP RPC by
// 16 workers, one call per transaction ("single") or in JSON-RPC batches of
// 25 ("batch10"); reports committed transactions per second.
func BenchmarkSingleValidatorThroughput(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "node")
	if err := home.Init(dir, home.Options{
		ChainID:           "idos-bench",
		P2PListenAddr:     freeAddr(b),
		RPCListenAddr:     freeAddr(b),
		GatewayListenAddr: freeAddr(b),
		TimeoutCommit:     500 * time.Millisecond,
	}); err != nil {
		b.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	r, err := runner.Start(context.Background(), h, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Stop()
	c, err := rpchttp.New("http://"+h.CometBFT.RPC.ListenAddress[len("tcp://"):], "/websocket")
	if err != nil {
		b.Fatal(err)
	}
	runLoads(b, "single validator", []Client{c})
}
