package main

import (
	"bytes"
	"strings"
	"testing"

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
