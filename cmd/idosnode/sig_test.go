package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/module/plugins"
)

// `idosnode sig verify` checks one signature offline, with a built-in scheme
// or a plugin module, and answers through its exit status: 0 valid, 1
// invalid, 2 wrong command line. The vector is web3.js's personal_sign
// example (also in node/auth).
func TestSigVerify(t *testing.T) {
	bin := testnet.Binary(t)
	tooLarge := filepath.Join(t.TempDir(), "large.wasm")
	if err := os.WriteFile(tooLarge, make([]byte, plugins.DefaultMaxModuleBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	const (
		addr = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
		sig  = "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c"
	)
	for _, c := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"native valid", []string{"--scheme", "eip191", "--signer", addr, "--message", "Some data", "--signature", sig}, 0, "valid: " + addr},
		{"plugin valid", []string{"--module", "../../sigplugins/eip191/eip191.wasm", "--signer", addr, "--message", "Some data", "--signature", sig}, 0, "valid: " + addr},
		{"hex message", []string{"--scheme", "eip191", "--signer", addr, "--message-hex", "536f6d652064617461", "--signature", sig}, 0, "valid: " + addr},
		{"other message", []string{"--scheme", "eip191", "--signer", addr, "--message", "Some datA", "--signature", sig}, 1, "invalid signature"},
		{"plugin invalid", []string{"--module", "../../sigplugins/eip191/eip191.wasm", "--signer", addr, "--message", "Some datA", "--signature", sig}, 1, "invalid signature"},
		{"scheme differs from module", []string{"--scheme", "solana", "--module", "../../sigplugins/eip191/eip191.wasm", "--signer", addr, "--message", "x", "--signature", sig}, 2, "implements"},
		{"unknown scheme", []string{"--scheme", "nope", "--signer", "00", "--message", "x", "--signature", "00"}, 2, "unknown signature scheme"},
		{"no message", []string{"--scheme", "eip191", "--signer", addr, "--signature", sig}, 2, "exactly one of"},
		{"module over the chain's cap", []string{"--module", tooLarge, "--signer", addr, "--message", "x", "--signature", sig}, 2, "module too large"},
		{"bad hex", []string{"--scheme", "eip191", "--signer", "zz", "--message", "x", "--signature", sig}, 2, "not hex"},
	} {
		out, code := testnet.Command(t, bin, append([]string{"sig", "verify"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%s: exit %d, output %q; want exit %d containing %q", c.name, code, out, c.code, c.out)
		}
	}
}
