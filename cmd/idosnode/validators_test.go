package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/valclient"
)

func TestDialableP2PAddr(t *testing.T) {
	for _, c := range []struct{ listen, rpcHost, want string }{
		{"tcp://127.0.0.1:26656", "example.org", "127.0.0.1:26656"},
		{"tcp://0.0.0.0:26656", "10.0.0.5", "10.0.0.5:26656"},
		{"[::]:26656", "node.example", "node.example:26656"},
	} {
		got, err := dialableP2PAddr(c.listen, c.rpcHost)
		if err != nil || got != c.want {
			t.Errorf("dialableP2PAddr(%q, %q) = %q, %v; want %q", c.listen, c.rpcHost, got, err, c.want)
		}
	}
	if _, err := dialableP2PAddr("nonsense", "h"); err == nil {
		t.Error("a listen address without a port was accepted")
	}
}

func TestRPCURLs(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:26657":         "http://127.0.0.1:26657",
		"tcp://127.0.0.1:26657":   "http://127.0.0.1:26657",
		"https://rpc.example:443": "https://rpc.example:443",
	} {
		u, err := normaliseRPCURL(in)
		if err != nil || u.String() != want {
			t.Errorf("normaliseRPCURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	if got := localRPCURL("tcp://0.0.0.0:26657"); got != "http://127.0.0.1:26657" {
		t.Errorf("localRPCURL of a wildcard address = %s", got)
	}
}

func TestPrintList(t *testing.T) {
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	v := listView{
		Height:     20,
		Validators: []valclient.Validator{{PubKey: a, Power: 10}, {PubKey: b, Power: 10, Since: 19}},
		TotalPower: 20,
		Params:     valclient.Params{JoinExpiryBlocks: 30, ApprovalThreshold: valclient.Fraction{Numerator: 2, Denominator: 3}, NewValidatorPower: 10},
		CometBFT: valclient.ConsensusSet{Height: 21, Validators: []valclient.ConsensusValidator{
			{PubKey: a, Power: 10}, {PubKey: c, Power: 10},
		}},
		Pending: []valclient.Request{{Kind: "join", Target: c, Proposer: c, Created: 15, Expires: 45, Status: "pending",
			Approvals: []string{a}, ApprovedPower: 10, TotalPower: 20}},
	}
	var out bytes.Buffer
	printList(&out, v)
	for _, want := range []string{
		"COMETBFT@21",
		b + "  10     19     - (not yet)",  // joined, not effective yet
		c + "  -      -      10 (leaving)", // removed, still signing
		"approval needs 2/3 of power (14 now)",
		"10/20 (need 14)  aaaaaaaa",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list output lacks %q:\n%s", want, out.String())
		}
	}
}

// Wrong command lines exit 2 before touching a node or a key.
func TestValidatorsUsageErrors(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"validators"},
		{"validators", "approve", "--home", dir},
		{"validators", "approve", "--home", dir, "nothex"},
		{"validators", "join", "--home", dir, "extra"},
		{"validators", "join"},
		{"validators", "list", "--bogus"},
		{"init", "--home", dir, "--join", "http://"},
	} {
		out, code := testnet.Command(t, bin, args...)
		if code != exitUsage {
			t.Errorf("idosnode %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exitUsage, out)
		}
	}
	// A well-formed command whose home does not exist is a failure, not
	// a usage error.
	if out, code := testnet.Command(t, bin, "validators", "join", "--home", dir); code != exitFailure {
		t.Errorf("join with a missing home: exit %d, want %d\n%s", code, exitFailure, out)
	}
	for _, cmd := range []string{"join", "approve", "leave", "remove", "list", "requests"} {
		out, code := testnet.Command(t, bin, "validators", cmd, "--help")
		if code != 0 || !strings.Contains(out, "idosnode validators "+cmd) {
			t.Errorf("validators %s --help: exit %d\n%s", cmd, code, out)
		}
	}
}
