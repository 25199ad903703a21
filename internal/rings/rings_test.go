package rings

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/idos-network/idos-node/"

// goList runs `go list` in the module with the given arguments and returns
// its output lines.
func goList(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...) // the go on PATH, as for go test
	cmd.Dir = "../.."
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Fields(string(out))
}

// deps is every package pkg links (go list -deps), itself included.
func deps(t *testing.T, pkg string) []string {
	return goList(t, nil, "-deps", "-f", "{{.ImportPath}}", mod+pkg)
}

// forbidden returns, sorted, the entries of pkgs that some entry of ps is
// or is below, ignoring the entries of ps listed in allowed.
func forbidden(ps []string, pkgs []string, allowed ...string) []string {
	var bad []string
	for _, p := range ps {
		if slices.Contains(allowed, p) {
			continue
		}
		for _, f := range pkgs {
			if (p == f || strings.HasPrefix(p, f+"/")) && !slices.Contains(bad, f) {
				bad = append(bad, f)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// nodeSide is what a client must never link: the storage engine, the Wasm
// runtime, and the node's own packages (each of which brings one of them
// or the embedded plugins).
var nodeSide = []string{
	"modernc.org/sqlite",
	"github.com/tetratelabs/wazero",
	mod + "node/app",
	mod + "node/composition",
	mod + "node/sqlstate",
	mod + "node/module",
	mod + "node/wasmhost",
	mod + "node/gateway", // the server; its client gwclient is allowed
	mod + "node/runner",
	mod + "node/home",
	mod + "node/devnet",
	mod + "node/driverhost",
	mod + "sigplugins",
	mod + "wasmdrivers",
}

// TestClientsLinkNoNode: the user's binary and the libraries it is built
// from link neither SQLite, nor wazero, nor any node package. Before the
// wire package they did (idoslight was 41 MB).
func TestClientsLinkNoNode(t *testing.T) {
	for _, pkg := range []string{"cmd/idoslight", "node/userclient", "node/gateway/gwclient", "lightclient", "lightclient/idosverify", "node/client", "node/wire"} {
		t.Run(pkg, func(t *testing.T) {
			ds := deps(t, pkg)
			bad := forbidden(ds, nodeSide, mod+"node/gateway/gwclient", mod+"node/module/idos/idosschema")
			if len(bad) > 0 {
				t.Errorf("%s links node-side packages: %s", pkg, strings.Join(bad, ", "))
			}
		})
	}
}

// TestLeavesImportNothing: node/schemename is compiled into every Wasm
// guest (through sdk-wasm), and node/module/idos/idosschema into clients
// although it sits under node/module, so both stay free of imports.
func TestLeavesImportNothing(t *testing.T) {
	for _, pkg := range []string{"node/schemename", "node/module/idos/idosschema"} {
		for _, goos := range []string{"", "GOOS=wasip1"} {
			var env []string
			if goos != "" {
				env = []string{goos, "GOARCH=wasm"}
			}
			imports := goList(t, env, "-f", "{{join .Imports \" \"}}", mod+pkg)
			if len(imports) != 0 {
				t.Errorf("%s %s imports %v, want nothing", goos, pkg, imports)
			}
		}
	}
}

// TestAppImportsNoModule: node/app runs the modules it is given; it links
// none of them (nor the composition that lists them, nor the embedded
// plugins), only the contract in node/module.
func TestAppImportsNoModule(t *testing.T) {
	ds := deps(t, "node/app")
	bad := forbidden(ds, []string{mod + "node/module", mod + "node/composition", mod + "sigplugins"}, mod+"node/module")
	if len(bad) > 0 {
		t.Errorf("node/app links %s", strings.Join(bad, ", "))
	}
}
