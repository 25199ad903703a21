package app

import (
	"context"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/module/kv"
)

// BenchmarkFinalizeBlock1000 measures block execution (decode, signature
// verification, nonce check, action, changeset and app hash) for blocks of
// 1,000 kv.put transactions from 100 ed25519 senders, committed each time.
// "cold" verifies every signature in FinalizeBlock; "checked" is the normal
// path, where CheckTx already verified them.
func BenchmarkFinalizeBlock1000(b *testing.B) {
	for _, mode := range []string{"cold", "checked"} {
		b.Run(mode, func(b *testing.B) {
			a := newApp(b, b.TempDir())
			defer a.Close()
			initChain(b, a)
			runBlock(b, a, 1)
			accounts := make([]*client.Account, 100)
			for i := range accounts {
				accounts[i] = edAccount(byte(i + 1))
			}
			const perBlock = 1000
			blocks := make([][][]byte, b.N)
			for n := range blocks {
				for i := range perBlock {
					acc := accounts[i%len(accounts)]
					blocks[n] = append(blocks[n], build(b, acc, "kv.put",
						kv.PutPayload{Key: fmt.Sprintf("k%d", i%10), Value: fmt.Sprintf("v%d-%d", n, i)}))
				}
			}
			if mode == "checked" {
				for _, txs := range blocks {
					for _, raw := range txs {
						if r, _ := a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw}); r.Code != CodeOK {
							b.Fatalf("CheckTx: %s", r.Log)
						}
					}
				}
			}
			b.ResetTimer()
			for n := range b.N {
				res := runBlock(b, a, int64(n+2), blocks[n]...)
				if res.TxResults[perBlock-1].Code != CodeOK {
					b.Fatalf("tx failed: %s", res.TxResults[perBlock-1].Log)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*perBlock), "µs/tx")
		})
	}
}
