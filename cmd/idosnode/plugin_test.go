package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/module/plugins"
)

// `idosnode plugin test` runs a module against a vectors file offline and
// reports per vector: 0 all pass, 1 a vector fails or the module is refused,
// 2 wrong command line or vectors file.
func TestPluginTestCommand(t *testing.T) {
	bin := testnet.Binary(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// TEST 1 of RFC 8032 claimed invalid: the plugin says valid, the vector fails.
	wrongExpect := write("wrong.json", `{"vectors":[{"name":"TEST 1","signer":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a","message":"",`+
		`"signature":"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b","expect":"invalid_signature"}]}`)
	badField := write("bad.json", `{"vectors":[{"name":"x","signer":"","message":"","signature":"","expect":"valid","extra":1}]}`)
	notWasm := write("x.wasm", "not wasm")
	tooLarge := write("large.wasm", "\x00asm\x01\x00\x00\x00"+strings.Repeat("\x00", plugins.DefaultMaxModuleBytes))
	const (
		solana = "../../sigplugins/solana/solana.wasm"
		eip191 = "../../sigplugins/eip191/eip191.wasm"
	)
	for _, c := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"solana vectors", []string{"--vectors", "../../sigplugins/solana/vectors.json", solana}, 0, "5 of 5 vectors passed"},
		{"eip191 vectors", []string{"--vectors", "../../sigplugins/eip191/vectors.json", eip191}, 0, "6 of 6 vectors passed"},
		{"failing vector", []string{"--vectors", wrongExpect, solana}, 1, "FAIL  0 TEST 1: valid"},
		{"other scheme's vectors", []string{"--vectors", "../../sigplugins/solana/vectors.json", eip191}, 1, `module implements "eip191_wasm"`},
		{"not a module", []string{"--vectors", "../../sigplugins/solana/vectors.json", notWasm}, 1, "refused"},
		{"module over the chain's cap", []string{"--vectors", "../../sigplugins/solana/vectors.json", tooLarge}, 2, "module too large"},
		{"unknown field", []string{"--vectors", badField, solana}, 2, "unknown field"},
		{"no vectors flag", []string{solana}, 2, "--vectors is required"},
		{"no module", []string{"--vectors", wrongExpect}, 2, "exactly one argument"},
	} {
		out, code := testnet.Command(t, bin, append([]string{"plugin", "test"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%s: exit %d, output %q; want exit %d containing %q", c.name, code, out, c.code, c.out)
		}
	}
	for _, args := range [][]string{{"plugin"}, {"plugin", "approve"}, {"plugin", "propose", "--home", dir}, {"plugin", "list", "extra"}} {
		if out, code := testnet.Command(t, bin, args...); code != 2 {
			t.Errorf("idosnode %s: exit %d, want 2\n%s", strings.Join(args, " "), code, out)
		}
	}
}

// readModuleFile reads up to the chain's cap and refuses one byte more,
// with errModuleTooLarge.
func TestReadModuleFileCap(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		size int
		ok   bool
	}{{0, true}, {plugins.DefaultMaxModuleBytes, true}, {plugins.DefaultMaxModuleBytes + 1, false}, {3 * plugins.DefaultMaxModuleBytes, false}} {
		p := filepath.Join(dir, "m.wasm")
		if err := os.WriteFile(p, make([]byte, c.size), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := readModuleFile(p)
		switch {
		case c.ok && (err != nil || len(b) != c.size):
			t.Errorf("%d bytes: read %d, err %v", c.size, len(b), err)
		case !c.ok && !errors.Is(err, errModuleTooLarge):
			t.Errorf("%d bytes: err %v, want errModuleTooLarge", c.size, err)
		case !c.ok && !errors.As(err, new(usageError)):
			t.Errorf("%d bytes: %v is not a usage error", c.size, err)
		}
	}
	if _, err := readModuleFile(filepath.Join(dir, "missing.wasm")); err == nil || errors.Is(err, errModuleTooLarge) {
		t.Errorf("missing file: err %v", err)
	}
}

// `idosnode plugin limits` needs at least one limit and no arguments
// (usage errors, before any home or node is read); a well-formed command
// whose home does not exist is a failure.
func TestPluginLimitsUsage(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"plugin", "limits", "--home", dir},
		{"plugin", "limits", "--home", dir, "--fuel-limit", "1000", "extra"},
		{"plugin", "limits", "--home", dir, "--fuel-limit", "lots"},
	} {
		if out, code := testnet.Command(t, bin, args...); code != exitUsage {
			t.Errorf("idosnode %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exitUsage, out)
		}
	}
	if out, code := testnet.Command(t, bin, "plugin", "limits", "--home", dir, "--stack-budget", "2000"); code != exitFailure {
		t.Errorf("limits with a missing home: exit %d, want %d\n%s", code, exitFailure, out)
	}
}
