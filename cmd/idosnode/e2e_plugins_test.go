package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// TestPluginByApproval adds a signature standard to a running 4-validator
// network of real processes, without a restart: v0 proposes the solana
// plugin with the CLI (not in genesis here), v1 (CLI) and v2 approve (30 of
// 40 with the proposer's), it activates at the stated height, and a user's
// transaction signed with a Solana key commits on every node with the same
// app hashes. Then validators lower the chain's fuel limit with `plugin
// limits` and from its activation height a Solana signature runs out of
// fuel. Last the plugin is removed the same way and a later transaction
// under "solana" is refused.
func TestPluginByApproval(t *testing.T) {
	bin := testnet.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	n := startVsNet(t, ctx, bin, 4)
	v0, v1, v2, v3 := n.nodes[0], n.nodes[1], n.nodes[2], n.nodes[3]
	list := func() ([]plugins.Plugin, int64) {
		var view pluginListView
		out := n.cli(0, "plugin", "list", "--json", "--node", v3.rpc.Remote())
		if err := json.Unmarshal([]byte(out), &view); err != nil {
			t.Fatalf("plugin list --json: %v\n%s", err, out)
		}
		return view.Plugins, view.Height
	}

	// a. Propose (upload in chunks, then the proposal) and approve.
	step := time.Now()
	const solanaWasm = "../../sigplugins/solana/solana.wasm"
	// Refusals the node's state shows are made before any upload.
	for _, c := range []struct{ delay, want string }{
		{"1048577", "bad activation delay: --activation-delay 1048577; the minimum is"},
	} {
		out := n.cli(1, "plugin", "propose", "--home", v0.home, "--activation-delay", c.delay, solanaWasm)
		if !strings.Contains(out, c.want) || strings.Contains(out, "upload") {
			t.Errorf("propose --activation-delay %s: want %q before any upload, got:\n%s", c.delay, c.want, out)
		}
	}
	out := n.cli(0, "plugin", "propose", "--home", v0.home, "--activation-delay", "3", solanaWasm)
	t.Logf("plugin propose:\n%s", out)
	for _, want := range []string{"upload  chunk 1/", "check   every node checks the module until height ", "check   passed at height ", "approvals 1: ", "power   10 of 40; the threshold 2/3 needs 27: 17 missing\n", "state   pending; approvals count until height "} {
		if !strings.Contains(out, want) {
			t.Errorf("propose: output lacks %q:\n%s", want, out)
		}
	}
	out = n.cli(1, "plugin", "propose", "--home", v1.home, solanaWasm)
	if want := `scheme name taken: a proposal for "solana" is open`; !strings.Contains(out, want) || strings.Contains(out, "upload") {
		t.Errorf("second proposal: want %q before any upload, got:\n%s", want, out)
	}
	out = n.cli(0, "plugin", "approve", "--home", v1.home, "solana")
	t.Logf("plugin approve:\n%s", out)
	if want := "power   20 of 40; the threshold 2/3 needs 27: 7 missing\n"; !strings.Contains(out, want) || !strings.Contains(out, "approvals 2: ") ||
		!strings.Contains(out, "(power 10)") {
		t.Errorf("second approval: want %q, approvals 2 with their power, got:\n%s", want, out)
	}
	res, err := v2.vc.ApprovePlugin(ctx, v2.key, "solana")
	if err != nil {
		t.Fatalf("v2 approves: %v", err)
	}
	n.lastTx = max(n.lastTx, res.Height)
	out = n.cli(1, "plugin", "approve", "--home", v3.home, "solana")
	if want := fmt.Sprintf("result  rejected (code %d)\n", module.CodeDecided); !strings.Contains(out, want) {
		t.Errorf("a fourth approval: want %q (already decided), got:\n%s", want, out)
	}
	n.synced(v3)
	ps, _ := list()
	if len(ps) != 1 || ps[0].Status != plugins.StatusActive || ps[0].ActiveFrom != res.Height+3 {
		t.Fatalf("after approval at %d: %+v", res.Height, ps)
	}
	activeFrom := ps[0].ActiveFrom
	t.Logf("a. solana proposed and approved at height %d, active from %d, after %s", res.Height, activeFrom, time.Since(step).Round(time.Millisecond))
	t.Logf("plugin list:\n%s", n.cli(0, "plugin", "list", "--node", v0.rpc.Remote()))

	// b. A user's Solana-signed transaction commits on every node.
	step = time.Now()
	userKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, 32))
	user := client.NewAccount(auth.NewEd25519SignerAs("solana", userKey), vsChainID)
	n.waitHeight(n.nodes, activeFrom-1) // committed activeFrom-1: the registry of activeFrom
	raw, err := user.Build("kv.put", kv.PutPayload{Key: "chain", Value: "solana"})
	if err != nil {
		t.Fatal(err)
	}
	h := commitTx(ctx, t, v3.rpc, raw)
	if h < activeFrom {
		t.Fatalf("solana transaction committed at %d, before activation at %d", h, activeFrom)
	}
	n.lastTx = max(n.lastTx, h)
	// The plugin's identifier of a key is its base58 address.
	owner := "solana:" + base58.Encode(userKey.Public().(ed25519.PublicKey))
	for _, v := range n.nodes {
		n.synced(v)
		got := query(ctx, t, v.rpc, "/kv.get", `{"owner":"`+owner+`","key":"chain"}`)
		if !strings.Contains(got, `"value":"solana"`) {
			t.Errorf("%s: kv.get = %s", v.name, got)
		}
	}
	n.checkAppHashes()
	t.Logf("b. solana-signed transaction committed at %d on every node after %s", h, time.Since(step).Round(time.Millisecond))

	// b2. The Wasm limits are chain state: v0, v1 and v2 lower the fuel
	// limit below what a Solana verification needs (~300,000) with the
	// CLI; from the activation height every node refuses the signature
	// as out of fuel.
	step = time.Now()
	for _, v := range []*vsNode{v0, v1, v2} {
		n.cli(0, "plugin", "limits", "--home", v.home, "--fuel-limit", "50000")
	}
	n.synced(v3)
	var view pluginListView
	if out := n.cli(0, "plugin", "list", "--json", "--node", v3.rpc.Remote()); json.Unmarshal([]byte(out), &view) != nil ||
		len(view.WasmLimits) != 2 || view.WasmLimits[1].Wasm.FuelLimit != 50000 {
		t.Fatalf("wasm limits after the proposal: %s", out)
	}
	// Block ActiveFrom exists once every node committed ActiveFrom-1
	// (CometBFT reports a height once the block is stored, which can be
	// before the application's Commit of it).
	n.waitHeight(n.nodes, view.WasmLimits[1].ActiveFrom)
	raw, _ = user.Build("kv.put", kv.PutPayload{Key: "chain", Value: "low fuel"})
	if r, err := v1.rpc.BroadcastTxSync(ctx, raw); err != nil || r.Code != app.CodeUnauthorized || !strings.Contains(r.Log, wasmhost.ErrOutOfFuel.Error()) {
		t.Fatalf("solana transaction under the low fuel limit: %+v %v", r, err)
	}
	t.Logf("b2. fuel limit 50000 from height %d after %s", view.WasmLimits[1].ActiveFrom, time.Since(step).Round(time.Millisecond))

	// c. Removal: v0 proposes, v1 and v2 approve; after the removal
	// height the scheme is refused.
	step = time.Now()
	n.cli(0, "plugin", "remove", "--home", v0.home, "solana")
	n.cli(0, "plugin", "remove", "--home", v1.home, "solana")
	out = n.cli(0, "plugin", "remove", "--home", v2.home, "solana")
	n.synced(v3)
	ps, _ = list()
	if ps[0].Status != plugins.StatusRemoved || ps[0].RemovedFrom == 0 {
		t.Fatalf("after removal: %+v", ps)
	}
	if want := fmt.Sprintf("removed from height %d", ps[0].RemovedFrom); !strings.Contains(out, "state   threshold 2/3 reached; decided at height ") || !strings.Contains(out, want) {
		t.Errorf("deciding removal: want the decision and %q, got:\n%s", want, out)
	}
	// Block RemovedFrom exists once every node committed RemovedFrom-1
	// (CometBFT reports a height once the block is stored, which can be
	// before the application's Commit of it: waiting for RemovedFrom-1
	// raced that Commit once in CI). The exact boundary is TestLifecycle's
	// (node/module/plugins).
	n.waitHeight(n.nodes, ps[0].RemovedFrom)
	raw, _ = user.Build("kv.put", kv.PutPayload{Key: "chain", Value: "again"})
	r, err := v1.rpc.BroadcastTxSync(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != app.CodeUnauthorized || !strings.Contains(r.Log, `unknown signature scheme "solana"`) {
		t.Errorf("solana transaction after removal: code %d %q, want %d unknown scheme", r.Code, r.Log, app.CodeUnauthorized)
	}
	t.Logf("c. solana removed from height %d after %s", ps[0].RemovedFrom, time.Since(step).Round(time.Millisecond))

	top := n.minHeight(n.nodes)
	n.waitHeight(n.nodes, top+1)
	n.checkAppHashes()
	for _, v := range n.nodes {
		b, _ := os.ReadFile(v.proc.log)
		for _, bad := range []string{"wrong Block.Header.AppHash", "does not match AppHash", "CONSENSUS FAILURE"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s logged %q:\n%s", v.name, bad, tail(v.proc.log))
			}
		}
		if !bytes.Contains(b, []byte("signature plugin activated")) || !bytes.Contains(b, []byte("signature plugin deactivated")) {
			t.Errorf("%s did not log the activation and deactivation", v.name)
		}
	}
	t.Logf("done after %s at height %d", time.Since(start).Round(time.Millisecond), n.checked)
}
