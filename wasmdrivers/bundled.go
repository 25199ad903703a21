// Package wasmdrivers embeds the chain-grant drivers shipped with the node,
// so that a chain config naming one of them by SHA-256 (drivers.chains'
// driver_sha256) runs without the operator installing a file. The bytes are
// the committed, reproducible builds in <name>/<name>.wasm, checked by
// TestReproducible. The template is a skeleton, not a driver to run.
package wasmdrivers

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"slices"
)

//go:embed evm/evm.wasm
var evm []byte

//go:embed evmfinalized/evmfinalized.wasm
var evmFinalized []byte

// Bundled is one shipped driver module.
type Bundled struct {
	Name string
	wasm []byte
}

// Wasm returns a copy of the module bytes.
func (b Bundled) Wasm() []byte { return slices.Clone(b.wasm) }

// SHA256 is the lowercase hex SHA-256 of the module bytes, as chain configs
// name it.
func (b Bundled) SHA256() string {
	h := sha256.Sum256(b.wasm)
	return hex.EncodeToString(h[:])
}

// All returns the bundled drivers in name order.
func All() []Bundled {
	return []Bundled{{Name: "evm", wasm: evm}, {Name: "evmfinalized", wasm: evmFinalized}}
}

// BySHA256 returns the bundled driver whose module has the hex SHA-256 sum.
func BySHA256(sum string) (Bundled, bool) {
	for _, b := range All() {
		if b.SHA256() == sum {
			return b, true
		}
	}
	return Bundled{}, false
}
