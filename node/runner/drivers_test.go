package runner_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/valclient"
	"github.com/idos-network/idos-node/wasmdrivers"
)

// onePoller reports one observation once; it stands in for node/driverhost
// (the Wasm drivers of the drivers-guest branch).
type onePoller struct {
	g     observation.Grant
	polls atomic.Int64
}

func (p *onePoller) Poll(_ context.Context, cursor []byte) ([]observation.Grant, []byte, error) {
	p.polls.Add(1)
	if len(cursor) > 0 {
		return nil, cursor, nil
	}
	return []observation.Grant{p.g}, []byte{1}, nil
}

// TestDriverListener: a real single-validator node with a chain enabled at
// genesis runs the listener; the observation its driver reports is
// attested through the node's mempool and decided by consensus (its owner
// has no idOS user here, so it closes "unmatched"), and the cursor is
// saved beside the state.
func TestDriverListener(t *testing.T) {
	h := newHome(t, "idos-runner-drivers")
	chain := drivers.Chain{Chain: "eip155:31337", Contract: "0xc0ffee", Confirmations: 1,
		DriverSHA256: hex.EncodeToString(make([]byte, 32)), AccountScheme: "eip191", LockUnit: "s"}
	enableChains(t, h.CometBFT.GenesisFile(), chain)

	p := &onePoller{g: observation.Grant{Kind: observation.Added, Chain: chain.Chain, Contract: chain.Contract,
		Owner: "0x00000000000000000000000000000000000000aa", Grantee: "0x00000000000000000000000000000000000000bb",
		DataID: "d1", LockedUntil: "0", BlockNumber: 9, BlockHash: "0x09", TxRef: "0x0a:0"}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := runner.StartWithOptions(ctx, h, testnet.Logger(t), runner.Options{
		DriverInterval: 100 * time.Millisecond,
		Drivers: func(c drivers.ChainRow) (listener.Poller, error) {
			if c.Chain.Chain != chain.Chain {
				t.Errorf("driver asked for %s", c.Chain.Chain)
			}
			return p, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	vc := valclient.New(r.Client(), "idos-runner-drivers")
	enc, _ := p.g.Encode()
	for {
		l, _, err := vc.DriverPending(ctx, true)
		if err == nil && len(l) == 1 && l[0].Digest == drivers.Digest(enc) && l[0].Status == drivers.StatusUnmatched {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("observation not decided: %+v %v", l, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(h.DBPath), runner.DriverCursorsDir)
	if b, err := filepath.Glob(filepath.Join(dir, "*.cursor")); err != nil || len(b) != 1 {
		t.Fatalf("cursor files %v %v", b, err)
	}
	st, err := listener.ReadStatus(dir)
	if err != nil || len(st.Chains) != 1 || st.Chains[0].Skip != "" || st.Chains[0].Attested != 1 || st.Chains[0].Cursor != "\x01" {
		t.Fatalf("status %+v %v", st, err)
	}
}

// TestStandardDrivers: a standard node (no Options.Drivers) with two
// chains enabled at genesis: one with no endpoints in its config, which it
// does not observe, and one whose driver module is in neither the binary
// nor the modules directory. Neither stops the node; the status file says
// why each is not polled, and the node logs each reason once.
func TestStandardDrivers(t *testing.T) {
	h := newHome(t, "idos-runner-std-drivers")
	noEndpoints := drivers.Chain{Chain: "eip155:1", Contract: "0xc0ffee", Confirmations: 3,
		DriverSHA256: wasmdrivers.All()[0].SHA256(), AccountScheme: "eip191", LockUnit: "s"}
	noModule := drivers.Chain{Chain: "eip155:2", Contract: "0xc0ffee", Confirmations: 3,
		DriverSHA256: hex.EncodeToString(make([]byte, 32)), AccountScheme: "eip191", LockUnit: "s"}
	enableChains(t, h.CometBFT.GenesisFile(), noEndpoints, noModule)
	h.App.DriverEndpoints = map[string][]string{"eip155:2": {"http://127.0.0.1:1"}}
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := runner.StartWithOptions(ctx, h, slog.New(slog.NewTextHandler(&logs, nil)), runner.Options{DriverInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	dir := filepath.Join(filepath.Dir(h.DBPath), runner.DriverCursorsDir)
	for {
		st, err := listener.ReadStatus(dir)
		if err == nil && len(st.Chains) == 2 && st.Chains[0].Skip != "" && st.Chains[1].Skip != "" && strings.Count(logs.String(), "chain not observed") >= 2 {
			if !strings.Contains(st.Chains[0].Skip, "no endpoints for eip155:1") || !strings.Contains(st.Chains[1].Skip, runner.ErrNoModule.Error()) {
				t.Fatalf("status %+v", st)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("status %+v %v; log:\n%s", st, err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond) // several more rounds
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "chain not observed"); n != 2 {
		t.Errorf("logged %d times that a chain is not observed, want once per chain:\n%s", n, logs.String())
	}
	if b, _ := filepath.Glob(filepath.Join(dir, "*.cursor")); len(b) != 0 {
		t.Errorf("cursor files %v for chains that were not polled", b)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// enableChains rewrites the genesis app_state to enable cs.
func enableChains(t *testing.T, path string, cs ...drivers.Chain) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var state map[string]json.RawMessage
	if err := json.Unmarshal(doc["app_state"], &state); err != nil {
		t.Fatal(err)
	}
	d := drivers.DefaultParams()
	d.Chains = cs
	state["drivers"], _ = json.Marshal(d)
	doc["app_state"], _ = json.Marshal(state)
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDriverReconfigured: a chain config replaced by an approved proposal
// (a single validator decides alone) makes the listener load the driver
// again with the new settings, closing the old one. An endpoint that
// fails every round is warned about once.
func TestDriverReconfigured(t *testing.T) {
	h := newHome(t, "idos-runner-reconf")
	cfg := drivers.Chain{Chain: "eip155:1", Contract: "0xc0ffee", Confirmations: 3,
		DriverSHA256: wasmdrivers.All()[0].SHA256(), AccountScheme: "eip191", LockUnit: "s"}
	enableChains(t, h.CometBFT.GenesisFile(), cfg)
	// Unreachable: the driver loads (loading reads no endpoint), its polls fail.
	h.App.DriverEndpoints = map[string][]string{"eip155:1": {"http://127.0.0.1:1"}}
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := runner.StartWithOptions(ctx, h, slog.New(slog.NewTextHandler(&logs, nil)), runner.Options{DriverInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	wait := func(want string) {
		t.Helper()
		for !strings.Contains(logs.String(), want) {
			select {
			case <-ctx.Done():
				t.Fatalf("log lacks %q:\n%s", want, logs.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	wait(`msg="driver loaded" module=drivers chain=eip155:1 contract=0xc0ffee driver=evm-grants`)
	wait("confirmations=3")
	pv, err := h.PrivValidator()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Confirmations = 5
	vc := valclient.New(r.Client(), "idos-runner-reconf")
	if _, err := vc.Submit(ctx, ed25519.PrivateKey(pv.Key.PrivKey.Bytes()), "drivers.propose_chain", drivers.ChainPayload{Chain: cfg}); err != nil {
		t.Fatal(err)
	}
	wait("confirmations=5")
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "driver loaded"); n != 2 {
		t.Errorf("driver loaded %d times, want 2:\n%s", n, logs.String())
	}
	// The endpoint failed every round with the same error: one warning.
	if n := strings.Count(logs.String(), `level=WARN msg="driver listener"`); n != 1 {
		t.Errorf("%d warnings for a lasting endpoint error, want 1:\n%s", n, logs.String())
	}
}

// TestDriverFromState: a driver module that is neither built in nor in
// the node's driver modules directory (the template driver) reaches the
// node through the chain: uploaded with the chain's proposal, it is
// loaded from state. A second chain naming the same module with an
// account scheme that does not fit the module's family is not observed,
// and the status file says why; nothing of it reaches state.
func TestDriverFromState(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "..", "wasmdrivers", "template", "template.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHome(t, "idos-runner-state-driver")
	sum := sha256.Sum256(wasm)
	cfg := drivers.Chain{Chain: "eip155:7", Contract: "0xc0ffee", Confirmations: 2,
		DriverSHA256: hex.EncodeToString(sum[:]), AccountScheme: "eip191", LockUnit: "s"}
	if _, ok := wasmdrivers.BySHA256(cfg.DriverSHA256); ok {
		t.Fatal("the template driver is built in; this test needs a module that is not")
	}
	misfit := cfg
	misfit.Chain, misfit.AccountScheme = "near:testnet", "nep413"
	// Unreachable: the drivers load (loading reads no endpoint).
	h.App.DriverEndpoints = map[string][]string{cfg.Chain: {"http://127.0.0.1:1"}, misfit.Chain: {"http://127.0.0.1:1"}}
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := runner.StartWithOptions(ctx, h, slog.New(slog.NewTextHandler(&logs, nil)), runner.Options{DriverInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	pv, err := h.PrivValidator()
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.PrivateKey(pv.Key.PrivKey.Bytes())
	vc := valclient.New(r.Client(), "idos-runner-state-driver")
	var chunks int
	vc.UploadProgress = func(i, n int, _, _ int64) { chunks = n }
	res, err := vc.ProposeChain(ctx, key, wasm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if chunks < 2 {
		t.Fatalf("uploaded in %d chunks", chunks)
	}
	// The module is in state now: the second proposal needs no upload.
	if _, err := vc.ProposeChain(ctx, key, nil, misfit); err != nil {
		t.Fatal(err)
	}
	m, err := vc.DriverModule(ctx, cfg.DriverSHA256, true)
	if err != nil || !m.Found || m.Kind != "driver" || !bytes.Equal(m.Module, wasm) || m.Height != res.Height {
		t.Fatalf("drivers.module: found %v kind %q height %d (proposal at %d) %v", m.Found, m.Kind, m.Height, res.Height, err)
	}
	dir := filepath.Join(filepath.Dir(h.DBPath), runner.DriverCursorsDir)
	for {
		st, err := listener.ReadStatus(dir)
		if err == nil && len(st.Chains) == 2 && st.Chains[1].Skip != "" &&
			strings.Contains(logs.String(), `msg="driver loaded" module=drivers chain=eip155:7 contract=0xc0ffee driver=template module="state (height`) {
			if st.Chains[0].Chain != cfg.Chain || st.Chains[0].Skip != "" || st.Chains[1].Chain != misfit.Chain ||
				!strings.Contains(st.Chains[1].Skip, runner.ErrDriverMismatch.Error()) {
				t.Fatalf("status %+v", st)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("status %+v %v; log:\n%s", st, err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if files, _ := filepath.Glob(filepath.Join(h.DriverModulesDir(), "*")); len(files) != 0 {
		t.Fatalf("driver modules directory holds %v", files)
	}
}
