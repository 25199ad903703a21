package bench

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// runLoads runs a fresh 20,000-transaction load (400 senders × 50) per
// iteration, once with one call per transaction and once in JSON-RPC batches
// of 10 (CometBFT's default rpc.max_request_batch_size).
func runLoads(b *testing.B, label string, cs []Client) {
	next := 0
	for _, batch := range []int{1, 10} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				load, err := NewLoad("idos-bench", next*400, 400, 50)
				next++
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				res, err := Run(ctx, cs, load, 16, batch)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.TPS(), "tx/s")
				b.ReportMetric(res.Submitted.Seconds(), "s-submit")
				fmt.Printf("%s, batch %d: %d txs, submitted in %v, committed in %v: %.0f tx/s\n", label, batch,
					res.Txs, res.Submitted.Round(time.Millisecond), res.Committed.Round(time.Millisecond), res.TPS())
			}
		})
	}
}
