package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/module/kv"
)

// nodeProc is one `idosnode start` process of a test network.
type nodeProc struct {
	home, log string
	cmd       *exec.Cmd
	done      chan struct{}
}

func startNode(t *testing.T, bin, home string) *nodeProc {
	t.Helper()
	p := &nodeProc{home: home, log: filepath.Join(home, "test-node.log"), done: make(chan struct{})}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "start", "--home", home)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	return p
}

func (p *nodeProc) kill(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	<-p.done
}

func (p *nodeProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func height(ctx context.Context, c *rpchttp.HTTP) int64 {
	st, err := c.Status(ctx)
	if err != nil {
		return 0
	}
	return st.SyncInfo.LatestBlockHeight
}

// TestKilledValidatorRejoins: a 4-validator network under a steady stream of
// transactions; one validator is killed with SIGKILL at arbitrary points of
// block execution and restarted, three times in a row. Each time it must
// replay what it missed, catch up, and agree with its peers on every app
// hash, with no app hash mismatch in its log.
func TestKilledValidatorRejoins(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(t.TempDir(), "net")
	m, err := devnet.Create(devnet.Config{
		Dir: dir, Validators: 4, BasePort: testnet.DevnetPorts(t, 4), ChainID: "idos-crash",
		TimeoutCommit: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	procs := make([]*nodeProc, len(m.Nodes))
	cs := make([]*rpchttp.HTTP, len(m.Nodes))
	for i, n := range m.Nodes {
		procs[i] = startNode(t, bin, filepath.Join(dir, n.Name))
		if cs[i], err = rpchttp.New(n.RPCURL(), "/websocket"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	waitAll := func(min int64) {
		t.Helper()
		for {
			ok := true
			for i, c := range cs {
				if !procs[i].alive() {
					t.Fatalf("node %d exited; log %s:\n%s", i, procs[i].log, tail(procs[i].log))
				}
				if height(ctx, c) < min {
					ok = false
				}
			}
			if ok {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for height %d: %v", min, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	waitAll(2)

	// Load: a few senders write continuously through node 0.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for s := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(s + 1)}, 32))
			acc := client.NewAccount(auth.NewEd25519Signer(key), "idos-crash")
			for i := 0; loadCtx.Err() == nil; i++ {
				raw, err := acc.Build("kv.put", kv.PutPayload{Key: fmt.Sprint(i % 5), Value: fmt.Sprint(i)})
				if err != nil {
					t.Error(err)
					return
				}
				res, err := cs[0].BroadcastTxSync(loadCtx, raw)
				if err != nil || res.Code != app.CodeOK {
					acc.Nonce-- // not admitted: reuse the nonce
					time.Sleep(50 * time.Millisecond)
					continue
				}
				mu.Lock()
				admitted++
				mu.Unlock()
				time.Sleep(5 * time.Millisecond) // a steady stream, not a flood
			}
		}()
	}

	const victim = 3
	for round := range 3 {
		// Kill at a different point of the block cycle each round.
		time.Sleep(time.Duration(700+round*330) * time.Millisecond)
		procs[victim].kill(syscall.SIGKILL)
		before := height(ctx, cs[0])
		time.Sleep(time.Second) // the others go on without it
		procs[victim] = startNode(t, bin, procs[victim].home)
		waitAll(before + 3)
	}
	stopLoad()
	wg.Wait()

	top := height(ctx, cs[0])
	waitAll(top + 1)
	sameAppHashes(ctx, t, cs, 1, top)
	for i, p := range procs {
		b, _ := os.ReadFile(p.log)
		for _, bad := range []string{"wrong Block.Header.AppHash", "does not match AppHash", "CONSENSUS FAILURE"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("node %d logged %q:\n%s", i, bad, tail(p.log))
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if admitted == 0 {
		t.Fatal("no transaction was admitted during the run")
	}
	t.Logf("%d transactions admitted, %d blocks, victim restarted 3 times", admitted, top)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
