package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/observation"
)

// driver status shows what each pending observation says and the power
// that attested it.
func TestPrintDriverPending(t *testing.T) {
	g := observation.Grant{Kind: observation.Added, Chain: "eip155:1", Contract: "0xc0ffee", Owner: "0xaa", Grantee: "0xbb",
		DataID: "d1", LockedUntil: "0", BlockNumber: 7, BlockHash: "0x1", TxRef: "0x2:0"}
	var b bytes.Buffer
	printDriverPending(&b, 12, []drivers.Pending{{Kind: drivers.KindObservation, Digest: "c66dfd1067b18db10fcefb7a", Status: "pending",
		Created: 10, Expires: 30, Attesters: []string{"a", "b"}, AttestedPower: 20, TotalPower: 40, Observation: &g}})
	for _, want := range []string{"height 12: 1 proposal(s)", "observation c66dfd1067b1  pending  power 20 of 40 by 2 validator(s)  open 10..29",
		"added 0xaa→0xbb data d1 on eip155:1 at block 7"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output %q lacks %q", b.String(), want)
		}
	}
	stdout, stderr, code := runCLI("driver", "status", "extra")
	if code != 2 || !strings.Contains(stderr, "driver status takes no arguments") {
		t.Fatalf("usage error: %d %q %q", code, stdout, stderr)
	}
}

// TestDriverTest runs the committed EVM driver on the session recorded
// from a real geth node by driverhost's TestEVMDriver
// (IDOS_RECORD_FIXTURES): a grant added, then deleted.
func TestDriverTest(t *testing.T) {
	const contract = "0xab90c34a7835d0cab14691762845273e85782fe9"
	out, errOut, code := runCLI("driver", "test", "--fixtures", "../../wasmdrivers/evm/testdata/session",
		"--chain", "eip155:1337", "--contract", contract, "../../wasmdrivers/evm/evm.wasm")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[3] != "2 observations" || !strings.HasPrefix(lines[2], `cursor: {"next":`) {
		t.Fatalf("output:\n%s", out)
	}
	for i, kind := range []observation.Kind{observation.Added, observation.Deleted} {
		var g observation.Grant
		if err := json.Unmarshal([]byte(lines[i]), &g); err != nil {
			t.Fatal(err)
		}
		if g.Kind != kind || g.Contract != contract || g.DataID != "data-1" || g.Validate() != nil {
			t.Fatalf("observation %d: %+v", i, g)
		}
	}
	// Another contract's grants are not in the recording: the driver asks
	// for logs the fixtures do not hold, and the poll fails.
	out, errOut, code = runCLI("driver", "test", "--fixtures", "../../wasmdrivers/evm/testdata/session",
		"--chain", "eip155:1337", "--contract", "0x0000000000000000000000000000000000000001", "../../wasmdrivers/evm/evm.wasm")
	if code != exitFailure || !strings.Contains(errOut, "no fixture for request: eth_getLogs") || !strings.HasSuffix(out, "0 observations\n") {
		t.Fatalf("other contract: exit %d\n%s%s", code, out, errOut)
	}
	if _, _, code = runCLI("driver", "test", "../../wasmdrivers/evm/evm.wasm"); code != exitUsage {
		t.Fatalf("missing --fixtures: exit %d, want %d", code, exitUsage)
	}
}

// driver status --home shows, per enabled chain, whether this node
// observes it and what its listener last did.
func TestPrintDriverLocal(t *testing.T) {
	h := &home.Home{Dir: "/n0", App: home.AppConfig{DriverEndpoints: map[string][]string{
		"eip155:1": {"http://a", "http://b"}, "eip155:2": {"http://c"}, "eip155:3": {"http://d"}}}}
	row := func(chain string) drivers.ChainRow {
		return drivers.ChainRow{Chain: drivers.Chain{Chain: chain, Contract: "0xc0"}, Status: "enabled"}
	}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := listener.Status{Updated: at, Chains: []listener.ChainStatus{
		{Chain: "eip155:1", Contract: "0xc0", Cursor: `{"next":12}`, LastPoll: at, Attested: 3, LastError: "poll: endpoint down"},
		{Chain: "eip155:2", Contract: "0xc0", Skip: "not a validator: only validators attest"},
	}}
	var b bytes.Buffer
	printDriverLocal(&b, h, []drivers.ChainRow{row("eip155:0"), row("eip155:1"), row("eip155:2"), row("eip155:3")}, st)
	for _, want := range []string{
		"this node (/n0), listener round at 2026-12-01T12:00:00Z:",
		"eip155:0 0xc0  not observed: no endpoints in config/idos.json (driver_endpoints)",
		`eip155:1 0xc0  2 endpoint(s); cursor {"next":12}  attested 3  last poll 2026-12-01T12:00:00Z  last error: poll: endpoint down`,
		"eip155:2 0xc0  1 endpoint(s); not a validator: only validators attest",
		"eip155:3 0xc0  1 endpoint(s); not polled yet",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// propose-chain and approve-chain refuse bad command lines before
// reading the home.
func TestDriverChainUsage(t *testing.T) {
	base := []string{"driver", "propose-chain", "--home", "/nonexistent", "--chain", "eip155:1", "--contract", "0xc0", "--confirmations", "3"}
	for i, c := range []struct {
		args []string
		want string
	}{
		0: {base, "give exactly one of --driver, --driver-file and --driver-sha256"},
		1: {append(base, "--driver", "nosuch"), `--driver "nosuch": want one of evm, evmfinalized`},
		2: {append(base, "--driver-sha256", "zz"), "driver propose-chain: "},
		3: {[]string{"driver", "propose-chain", "--driver", "evm"}, "--chain is required"},
		4: {[]string{"driver", "approve-chain", "--home", "/nonexistent"}, "needs exactly one argument, DIGEST"},
		5: {append(base, "--driver", "evm", "--driver-file", "x.wasm"), "give exactly one of"},
		6: {append(base, "--driver-file", "/nonexistent/x.wasm"), "read module: "},
		7: {append(base, "--driver-file", "driver_test.go"), "module refused"},
	} {
		if _, stderr, code := runCLI(c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%d: exit %d, stderr %q, want 2 and %q", i, code, stderr, c.want)
		}
	}
}

// TestDriverTestNEAR runs the committed NEAR driver on its committed
// session (wasmdrivers/near/testdata/session, recorded from driverhost's
// NEAR RPC model: no NEAR node runs here), as docs/drivers.md shows it.
func TestDriverTestNEAR(t *testing.T) {
	out, errOut, code := runCLI("driver", "test", "--fixtures", "../../wasmdrivers/near/testdata/session",
		"--chain", "near:testnet", "--contract", "idos-dev-4.testnet", "../../wasmdrivers/near/near.wasm")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || lines[5] != "4 observations" || !strings.HasPrefix(lines[4], `cursor: {"height":111,`) {
		t.Fatalf("output:\n%s", out)
	}
	for i, want := range []struct {
		kind observation.Kind
		data string
	}{{observation.Added, "data-a"}, {observation.Added, "data-b"}, {observation.Deleted, "data-a"}, {observation.Added, "data-c"}} {
		var g observation.Grant
		if err := json.Unmarshal([]byte(lines[i]), &g); err != nil {
			t.Fatal(err)
		}
		if g.Kind != want.kind || g.DataID != want.data || g.Chain != "near:testnet" || g.Validate() != nil || len(g.Owner) != 64 {
			t.Fatalf("observation %d: %+v", i, g)
		}
	}
}
