package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/sigplugins"
)

// runCLI runs idosnode in process, as main does, and returns stdout,
// stderr and the exit status.
func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"idosnode"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// A wrong command line exits 2 with one error line and a pointer to the
// command's --help, never the whole help text, and nothing on stdout.
func TestUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
		help string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "idosnode"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus", "idosnode"},
		{[]string{"help", "frobnicate"}, `no help for "frobnicate": not a command`, "idosnode"},
		{[]string{"plugin", "help", "frobnicate"}, `no help for "frobnicate": not a command`, "idosnode"},
		{[]string{"start"}, "--home is required", "idosnode start"},
		{[]string{"start", "--home", "/nonexistent", "extra"}, "unexpected arguments: [extra]", "idosnode start"},
		{[]string{"init", "--bogus"}, "flag provided but not defined: -bogus", "idosnode init"},
		{[]string{"init"}, "--home is required", "idosnode init"},
		{[]string{"init", "--home", "/nonexistent", "--join", "x:1", "--state-sync", "x:1"}, "--join and --state-sync exclude each other", "idosnode init"},
		{[]string{"devnet", "extra"}, "unexpected arguments: [extra]", "idosnode devnet"},
		{[]string{"plugin"}, "plugin needs a command: propose, approve, remove, limits, list, test", "idosnode plugin"},
		{[]string{"plugin", "frobnicate"}, `unknown plugin command "frobnicate"`, "idosnode plugin"},
		{[]string{"plugin", "approve"}, "exactly one argument, SCHEME", "idosnode plugin approve"},
		{[]string{"plugin", "test", "--bogus"}, "flag provided but not defined: -bogus", "idosnode plugin test"},
		{[]string{"plugin", "test", "x.wasm"}, "--vectors is required", "idosnode plugin test"},
		{[]string{"validators"}, "validators needs a command", "idosnode validators"},
		{[]string{"validators", "frobnicate"}, `unknown validators command "frobnicate"`, "idosnode validators"},
		{[]string{"validators", "list", "--json=maybe"}, "invalid boolean value", "idosnode validators list"},
		{[]string{"inserter"}, "inserter needs a command: propose, approve, remove, list", "idosnode inserter"},
		{[]string{"inserter", "approve"}, "exactly one argument, ACCOUNT", "idosnode inserter approve"},
		{[]string{"inserter", "propose", "--home", "/nonexistent", "0xabc"}, `"0xabc" is not an account id`, "idosnode inserter propose"},
		{[]string{"inserter", "remove", "--home", "/nonexistent", "eip191:0x12"}, "an eip191 identifier is a 0x-prefixed 20-byte hex address", "idosnode inserter remove"},
		{[]string{"sig"}, "sig needs a command: verify", "idosnode sig"},
		{[]string{"sig", "verify", "--signature", "00"}, "--signer is required", "idosnode sig verify"},
		{[]string{"sig", "verify", "--signer", "zz", "--signature", "00", "--message", "m", "--scheme", "ed25519"}, "--signer is not hex", "idosnode sig verify"},
	} {
		stdout, stderr, code := runCLI(c.args...)
		want := "Error: " + c.msg
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != exitUsage || len(lines) != 2 || !strings.HasPrefix(lines[0], "Error: ") || !strings.Contains(lines[0], c.msg) ||
			lines[1] != "see '"+c.help+" --help'" || stdout != "" {
			t.Errorf("idosnode %s: exit %d, stdout %q, stderr %q; want exit 2, stderr %q and see '%s --help'",
				strings.Join(c.args, " "), code, stdout, stderr, want, c.help)
		}
	}
	// Asking for help is not an error.
	for _, args := range [][]string{{}, {"--help"}, {"help"}, {"plugin", "--help"}, {"start", "--help"}} {
		if stdout, stderr, code := runCLI(args...); code != 0 || !strings.Contains(stdout, "USAGE:") || stderr != "" {
			t.Errorf("idosnode %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
		}
	}
}

// Every shipped plugin passes `idosnode plugin test` with its own
// sigplugins/<name>/vectors.json, through the real command.
func TestPluginTestShippedVectors(t *testing.T) {
	dirs, err := filepath.Glob("../../sigplugins/*/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 9 {
		t.Fatalf("%d shipped vectors files, want one for each of the 9 plugins: %v", len(dirs), dirs)
	}
	for _, b := range sigplugins.All() {
		if _, err := os.Stat(filepath.Join("../../sigplugins", b.Name, "vectors.json")); err != nil {
			t.Errorf("bundled plugin %s: %v", b.Name, err)
		}
	}
	for _, v := range dirs {
		dir := filepath.Dir(v)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runCLI("plugin", "test", "--vectors", v, filepath.Join(dir, name+".wasm"))
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			last := lines[len(lines)-1]
			n := len(lines) - 1
			if code != 0 || stderr != "" || last != strings.Replace("N of N vectors passed", "N", strconv.Itoa(n), 2) || strings.Contains(stdout, "FAIL") {
				t.Fatalf("exit %d, stderr %q, last line %q (%d vectors)\n%s", code, stderr, last, n, stdout)
			}
			if n < 4 {
				t.Errorf("only %d vectors", n)
			}
		})
	}
}

// A JSON file of the wrong shape is reported by field and JSON kind, not by
// Go type names.
func TestNoGoTypesInErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home := filepath.Join(dir, "home")
	if _, stderr, code := runCLI("init", "--home", home, "--chain-id", "idos-errors"); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	write("home/config/idos.json", `{"gateway_listen_addr": ["127.0.0.1:8080"]}`)
	const solana = "../../sigplugins/solana/solana.wasm"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plugin", "test", "--vectors", write("name.json", `{"vectors":[{"name":1}]}`), solana}, `field "vectors.name" is a JSON number, want a string`},
		{[]string{"plugin", "test", "--vectors", write("obj.json", `{"vectors":{}}`), solana}, `field "vectors" is a JSON object, want an array`},
		{[]string{"plugin", "test", "--vectors", write("arr.json", `[]`), solana}, "a JSON array where an object is wanted"},
		{[]string{"start", "--home", home}, `idos.json: field "gateway_listen_addr" is a JSON array, want a string`},
	} {
		_, stderr, code := runCLI(c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "Go ") || strings.Contains(stderr, "vectors.File") ||
			strings.Contains(stderr, "AppConfig") {
			t.Errorf("idosnode %s: exit %d, stderr %q; want %q and no Go type", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}
