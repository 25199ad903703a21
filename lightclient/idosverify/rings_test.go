package idosverify_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The light client library links no node: no SQLite, no Wasm runtime, no
// ABCI app, no module implementation (only idosschema's column lists).
func TestLinksNoNode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/idos-network/idos-node/lightclient/idosverify").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"modernc.org/sqlite", "github.com/tetratelabs/wazero",
			"github.com/idos-network/idos-node/node/app", "github.com/idos-network/idos-node/node/sqlstate",
			"github.com/idos-network/idos-node/node/module/idos", "github.com/idos-network/idos-node/node/gateway",
		} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") && dep != "github.com/idos-network/idos-node/node/module/idos/idosschema" {
				t.Errorf("lightclient/idosverify links %s", dep)
			}
		}
	}
}
