// Package sigplugins embeds the signature plugins shipped with the node, so
// a devnet (or a genesis that names them) can start with them active without
// reading files. The bytes are the committed, reproducible builds in
// <name>/<name>.wasm, checked by TestReproducible.
package sigplugins

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"slices"
)

//go:embed eip191/eip191.wasm
var eip191 []byte

//go:embed solana/solana.wasm
var solana []byte

// Bundled is one shipped module.
type Bundled struct {
	// Name is how genesis refers to the bundle ("eip191", "solana"). The
	// scheme the module registers is in its own metadata: eip191 registers
	// "eip191_wasm", so it does not collide with the native scheme.
	Name   string
	Scheme string
	wasm   []byte
}

// Wasm returns a copy of the module bytes.
func (b Bundled) Wasm() []byte { return slices.Clone(b.wasm) }

// SHA256 is the lowercase hex SHA-256 of the module bytes.
func (b Bundled) SHA256() string {
	h := sha256.Sum256(b.wasm)
	return hex.EncodeToString(h[:])
}

// All returns the bundled plugins in name order.
func All() []Bundled {
	return []Bundled{
		{Name: "eip191", Scheme: "eip191_wasm", wasm: eip191},
		{Name: "solana", Scheme: "solana", wasm: solana},
	}
}

// Lookup returns the bundled plugin called name.
func Lookup(name string) (Bundled, bool) {
	for _, b := range All() {
		if b.Name == name {
			return b, true
		}
	}
	return Bundled{}, false
}
