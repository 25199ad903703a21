package runner_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/wire"
)

// TestStartStop runs a real single-validator node in-process, waits for
// blocks, reads /v1/status through the gateway and stops.
func TestStartStop(t *testing.T) {
	h := newHome(t, "idos-runner-test")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	r, err := runner.Start(ctx, h, testnet.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = r.Stop()
		}
	})

	for {
		st, err := r.Client().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.SyncInfo.LatestBlockHeight >= 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("height %d after timeout", st.SyncInfo.LatestBlockHeight)
		case <-time.After(50 * time.Millisecond):
		}
	}

	resp, err := http.Get(r.GatewayURL() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st wire.StatusResponse
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status: %d %v", resp.StatusCode, err)
	}
	nk, err := h.NodeKey()
	if err != nil {
		t.Fatal(err)
	}
	if st.ChainID != "idos-runner-test" || st.NodeID != string(nk.ID()) || st.LatestBlockHeight < 3 ||
		len(st.LatestBlockHash) != 64 || st.CatchingUp {
		t.Errorf("status = %+v", st)
	}

	stopped = true
	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if r.Node().IsRunning() {
		t.Error("CometBFT still running after Stop")
	}
	if _, err := http.Get(r.GatewayURL() + "/v1/health"); err == nil {
		t.Error("gateway still answering after Stop")
	}
}

// TestRunStopsOnCancel covers Run's clean return when its context ends.
func TestRunStopsOnCancel(t *testing.T) {
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 3)
	if err := home.Init(dir, home.Options{
		P2PListenAddr:     "127.0.0.1:" + strconv.Itoa(base),
		RPCListenAddr:     "127.0.0.1:" + strconv.Itoa(base+1),
		GatewayListenAddr: "127.0.0.1:" + strconv.Itoa(base+2),
		TimeoutCommit:     100 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx, dir, testnet.Logger(t)) }()

	url := "http://127.0.0.1:" + strconv.Itoa(base+2) + "/v1/health"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway never answered: %v", err)
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// newHome creates and loads a single-validator home on free local ports,
// committing a block every 100 ms.
func newHome(t *testing.T, chainID string) *home.Home {
	t.Helper()
	return initHome(t, home.Options{ChainID: chainID})
}

// initHome is newHome with other options (a network's genesis, peers).
func initHome(t *testing.T, opts home.Options) *home.Home {
	t.Helper()
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 2)
	opts.P2PListenAddr = "127.0.0.1:" + strconv.Itoa(base)
	opts.RPCListenAddr = "127.0.0.1:" + strconv.Itoa(base+1)
	opts.GatewayListenAddr = "127.0.0.1:0"
	opts.TimeoutCommit = 100 * time.Millisecond
	if err := home.Init(dir, opts); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
