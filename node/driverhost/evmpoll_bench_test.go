package driverhost

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
)

// BenchmarkEVMPoll1000Blocks is a validator's polling cost: one poll of
// the committed EVM driver from an empty cursor over 1,000 final blocks of
// a real geth node (the simulated backend over HTTP) holding 10 grant
// events, which reads eth_blockNumber, eth_getBlockByNumber (cross-checked)
// and eth_getLogs over the whole range and decodes the 10 events. The
// reference, interleaved in the same loop so that the machine's noise hits
// both alike, makes the same three JSON-RPC reads natively with ethclient:
// the ratio is what running the driver in the metered sandbox costs over
// the reads themselves (geth's work answering them is in both). An idle
// poll (nothing new after the cursor) is a round's fixed cost.
//
//	go test -run '^$' -bench EVMPoll1000Blocks -benchtime 20x ./node/driverhost
func BenchmarkEVMPoll1000Blocks(b *testing.B) {
	const blocks, events, confirmations = 1000, 10, 3
	c := newChain(b)
	for i := range events {
		c.Call("insertGrant", common.BigToAddress(big.NewInt(int64(0xb0+i))), fmt.Sprintf("data-%d", i), big.NewInt(0))
	}
	c.Commit(blocks + confirmations - int(c.Head()))
	d := loadEVM(b, newRuntime(b, false), c, []string{c.URL}, nil)
	ec, err := ethclient.Dial(c.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer ec.Close()
	ctx := context.Background()
	var tDriver, tNative, tIdle time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		obs, cur, err := d.Poll(ctx, nil)
		if err != nil || len(obs) != events {
			b.Fatalf("poll: %d observations, %v", len(obs), err)
		}
		t1 := time.Now()
		// A round with nothing new: the fixed cost of a poll.
		if obs, _, err = d.Poll(ctx, cur); err != nil || len(obs) != 0 {
			b.Fatalf("idle poll: %d observations, %v", len(obs), err)
		}
		tIdle += time.Since(t1)
		t1 = time.Now()
		head, err := ec.BlockNumber(ctx)
		if err != nil {
			b.Fatal(err)
		}
		final := head - confirmations
		if _, err := ec.HeaderByNumber(ctx, new(big.Int).SetUint64(final)); err != nil {
			b.Fatal(err)
		}
		logs, err := ec.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(0), ToBlock: new(big.Int).SetUint64(final),
			Addresses: []common.Address{c.Contract}})
		if err != nil || len(logs) != events {
			b.Fatalf("native: %d logs, %v", len(logs), err)
		}
		t2 := time.Now()
		tDriver += t1.Sub(t0)
		tNative += t2.Sub(t1)
	}
	b.ReportMetric(float64(tDriver.Microseconds())/float64(b.N), "driver-µs/1000blocks")
	b.ReportMetric(float64(tNative.Microseconds())/float64(b.N), "native-µs/1000blocks")
	b.ReportMetric(float64(tIdle.Microseconds())/float64(b.N), "idle-µs/poll")
	b.ReportMetric(float64(tDriver)/float64(tNative), "ratio")
}
