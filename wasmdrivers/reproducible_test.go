// Package wasmdrivers holds the drivers shipped as source with their
// committed, reproducible .wasm builds.
package wasmdrivers

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/idos-network/idos-node/sdk-wasm/wasmbuild"
)

// TestReproducible rebuilds each driver as its go:generate line does and
// requires the committed .wasm to be identical.
func TestReproducible(t *testing.T) {
	for _, name := range []string{"evm", "evmfinalized", "near", "template"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), name+".wasm")
			if err := wasmbuild.Build(name, out, "."); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(name, name+".wasm"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s/%s.wasm (%d bytes) differs from a fresh build (%d bytes): run go tool task drivers", name, name, len(want), len(got))
			}
		})
	}
}
