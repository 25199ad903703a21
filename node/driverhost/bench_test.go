package driverhost

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// cpuNow is the process's user + system CPU time.
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memo answers every request it has seen once from memory: polls then
// cost only the validator's side (driver, host, JSON), not the endpoint's.
func memo(next Transport) Transport {
	var mu sync.Mutex
	seen := map[string][]byte{}
	return func(ctx context.Context, ep string, body []byte) ([]byte, error) {
		var req struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		k := req.Method + string(compact(req.Params))
		mu.Lock()
		out, ok := seen[k]
		mu.Unlock()
		if ok {
			return out, nil
		}
		out, err := next(ctx, ep, body)
		if err == nil {
			mu.Lock()
			seen[k] = out
			mu.Unlock()
		}
		return out, err
	}
}

// pollCost polls alternately from empty (nothing new: the reference, the
// fixed cost of a poll) and from span (k new blocks), and reports the CPU
// and wall time of each per poll and the k-block poll's per 1,000 blocks.
func pollCost(b *testing.B, d *Driver, empty, span []byte, k, wantObs int) {
	ctx := context.Background()
	for _, c := range [][]byte{empty, span} { // warm up (and fill a memo)
		if _, _, err := d.Poll(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	var cpu, wall [2]time.Duration
	for b.Loop() {
		for i, c := range [][]byte{empty, span} {
			c0, w0 := cpuNow(b), time.Now()
			obs, _, err := d.Poll(ctx, c)
			cpu[i] += cpuNow(b) - c0
			wall[i] += time.Since(w0)
			if err != nil || i == 1 && len(obs) != wantObs {
				b.Fatalf("poll: %d observations, %v", len(obs), err)
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(cpu[0].Microseconds())/n, "cpu-µs/empty-poll")
	b.ReportMetric(float64(cpu[1].Microseconds())/n, "cpu-µs/poll")
	b.ReportMetric(float64(cpu[1].Microseconds())/n*1000/float64(k)/1000, "cpu-ms/1000blocks")
	b.ReportMetric(float64(wall[1].Microseconds())/n*1000/float64(k)/1000, "wall-ms/1000blocks")
	b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "ratio-to-empty")
}

// BenchmarkPollEVM: the evm driver against go-ethereum's simulated
// backend over HTTP (loopback, same process: "endpoint" CPU includes
// geth's side) or from memory ("memo": the validator's side only), over
// 1,000 blocks with a grant every 100, read in one poll (catch-up) or one
// block a poll (a chain slower than the poll interval).
func BenchmarkPollEVM(b *testing.B) {
	c := newChain(b)
	for i := range 1010 { // final (head - 3) past 1,000
		if i%100 == 50 {
			c.Call("insertGrant", common.BigToAddress(big.NewInt(int64(0xb0+i))), fmt.Sprint("data-", i), big.NewInt(0))
		} else {
			c.Commit(1)
		}
	}
	final := c.Head() - 3
	for _, tc := range []struct {
		name    string
		k       int
		wantObs int
	}{{"catchup-1000", 1000, 10}, {"steady-1", 1, 0}} {
		for _, mode := range []string{"endpoint", "memo"} {
			b.Run(tc.name+"/"+mode, func(b *testing.B) {
				tr := HTTPTransport(nil)
				if mode == "memo" {
					tr = memo(tr)
				}
				d := loadEVM(b, newRuntime(b, false), c, []string{c.URL}, tr)
				empty := fmt.Appendf(nil, `{"next":%d}`, final+1)
				span := fmt.Appendf(nil, `{"next":%d}`, final+1-uint64(tc.k))
				pollCost(b, d, empty, span, tc.k, tc.wantObs)
			})
		}
	}
}

// BenchmarkPollNEAR: the near driver against the NEAR RPC model over HTTP
// (the endpoint's CPU is the model's, far cheaper than a NEAR node's) or
// from memory, a receipt with a grant every 100 blocks, reading 16 blocks
// a poll (the most it reads: catch-up) or 1.
func BenchmarkPollNEAR(b *testing.B) {
	rs := map[uint64][]nearReceipt{}
	for h := uint64(100); h <= 1200; h += 100 {
		rs[h] = []nearReceipt{{nearHash(fmt.Sprint("r", h)), []string{grantLog("grant_inserted", nearOwner, nearG1, fmt.Sprint("data-", h), 0)}}}
	}
	c := newNearChain(nearContract, 1, 1203, nil, rs)
	srv := httptest.NewServer(c)
	defer srv.Close()
	cur := func(h uint64) []byte { return fmt.Appendf(nil, `{"height":%d,"hash":%q}`, h, c.at(h).hash) }
	for _, tc := range []struct {
		name    string
		k       int
		wantObs int
	}{{"catchup-16", 16, 1}, {"steady-1", 1, 0}} {
		for _, mode := range []string{"endpoint", "memo"} {
			b.Run(tc.name+"/"+mode, func(b *testing.B) {
				tr := HTTPTransport(nil)
				if mode == "memo" {
					tr = memo(tr)
				}
				d := loadNEARTransport(b, newRuntime(b, false), []string{srv.URL}, tr)
				// Final 1203: a poll reads up to 1201, so from 1201 nothing;
				// from 1201-k the k blocks up to 1201, the grant at 1200 in them.
				pollCost(b, d, cur(1201), cur(1201-uint64(tc.k)), tc.k, tc.wantObs)
			})
		}
	}
}
