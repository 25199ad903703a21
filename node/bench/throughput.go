package bench

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/module/kv"
)

// Load is a pre-signed workload: Senders accounts, each with PerSender
// kv.put transactions in nonce order.
type Load struct {
	Txs     [][][]byte // [sender][nonce]
	Senders []string   // account ids, for polling the committed nonce
}

// NewLoad signs the workload with deterministic ed25519 keys; keys are
// numbered from first, so successive loads on one chain use fresh senders.
func NewLoad(chainID string, first, senders, perSender int) (*Load, error) {
	l := &Load{Txs: make([][][]byte, senders), Senders: make([]string, senders)}
	for s := range senders {
		seed := make([]byte, ed25519.SeedSize)
		binary.BigEndian.PutUint32(seed, uint32(first+s+1))
		key := ed25519.NewKeyFromSeed(seed)
		acc := client.NewAccount(auth.NewEd25519Signer(key), chainID)
		l.Senders[s] = fmt.Sprintf("ed25519:%x", key.Public())
		for i := range perSender {
			b, err := acc.Build("kv.put", kv.PutPayload{Key: fmt.Sprintf("k%d", i%8), Value: fmt.Sprintf("value %d", i)})
			if err != nil {
				return nil, err
			}
			l.Txs[s] = append(l.Txs[s], b)
		}
	}
	return l, nil
}

// Count is the number of transactions.
func (l *Load) Count() int { return len(l.Txs) * len(l.Txs[0]) }

// Client is the RPC client the load is submitted through.
type Client = *rpchttp.HTTP

var _ rpcclient.Client = Client(nil)

// Result of one run.
type Result struct {
	Txs       int
	Submitted time.Duration // until the last broadcast returned
	Committed time.Duration // until every transaction was committed
}

// TPS is committed transactions per second, submission to commit.
func (r Result) TPS() float64 { return float64(r.Txs) / r.Committed.Seconds() }

// Run submits the load with broadcast_tx_sync from workers goroutines (each
// sender's transactions stay in order on one worker), spread round-robin
// over clients, then polls until every sender's nonce is committed. With
// batch > 1 each worker sends its senders' next transactions as JSON-RPC
// batches of up to batch calls, which CometBFT runs in order.
func Run(ctx context.Context, clients []Client, l *Load, workers, batch int) (Result, error) {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w%len(clients)]
			// Interleave this worker's senders so that the mempool sees
			// many senders at once, as it would in production.
			var pending [][]byte
			flush := func() error {
				if len(pending) == 0 {
					return nil
				}
				defer func() { pending = pending[:0] }()
				if batch <= 1 {
					res, err := c.BroadcastTxSync(ctx, pending[0])
					if err == nil && res.Code != app.CodeOK {
						err = fmt.Errorf("tx rejected: code %d: %s", res.Code, res.Log)
					}
					return err
				}
				b := c.NewBatch()
				for _, raw := range pending {
					if _, err := b.BroadcastTxSync(ctx, raw); err != nil {
						return err
					}
				}
				results, err := b.Send(ctx)
				if err != nil {
					return err
				}
				for _, r := range results {
					if res, ok := r.(*coretypes.ResultBroadcastTx); !ok || res.Code != app.CodeOK {
						return fmt.Errorf("tx rejected in batch: %+v", r)
					}
				}
				return nil
			}
			for i := range len(l.Txs[0]) {
				for s := w; s < len(l.Txs); s += workers {
					pending = append(pending, l.Txs[s][i])
					if len(pending) >= max(batch, 1) {
						if err := flush(); err != nil {
							errs <- err
							return
						}
					}
				}
			}
			if err := flush(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	submitted := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return Result{}, err
	}
	want := fmt.Sprintf(`"next_nonce":%d}`, len(l.Txs[0]))
	for _, id := range l.Senders {
		for {
			res, err := clients[0].ABCIQuery(ctx, "/account", []byte(id))
			if err != nil {
				return Result{}, err
			}
			if len(res.Response.Value) >= len(want) && string(res.Response.Value[len(res.Response.Value)-len(want):]) == want {
				break
			}
			select {
			case <-ctx.Done():
				return Result{}, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return Result{Txs: l.Count(), Submitted: submitted, Committed: time.Since(start)}, nil
}
