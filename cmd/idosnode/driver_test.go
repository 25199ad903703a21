package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/observation"
)

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
