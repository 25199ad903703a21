package runner_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/valclient"
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
	enableChain(t, h.CometBFT.GenesisFile(), chain)

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
	if b, err := os.ReadDir(filepath.Join(filepath.Dir(h.DBPath), "driver-cursors")); err != nil || len(b) != 1 {
		t.Fatalf("cursor files %v %v", b, err)
	}
}

// enableChain rewrites the genesis app_state to enable c.
func enableChain(t *testing.T, path string, c drivers.Chain) {
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
	d.Chains = []drivers.Chain{c}
	state["drivers"], _ = json.Marshal(d)
	doc["app_state"], _ = json.Marshal(state)
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
