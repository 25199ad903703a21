// Package vectors reads the generated test vectors of the signature plugins
// (<plugin>/testdata/vectors.json, written by the ecosystem-library script
// next to it), so the plugins' own tests and the Wasm host tests in
// sigplugins run the same cases. Tests only: it uses encoding/json, which a
// plugin binary must not link.
package vectors

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// Case is one verification and its expected result.
type Case struct {
	Name   string `json:"name"`
	Scheme string `json:"scheme"`
	Signer Hex    `json:"signer"`
	Msg    Hex    `json:"msg"`
	Sig    Hex    `json:"sig"`
	// Status is the idos_verify status: 0 valid, 1 invalid signature, 2
	// invalid signer.
	Status uint8 `json:"status"`
	// Identifier is the expected identifier when Status is 0.
	Identifier string `json:"identifier"`
	// Source names the library call that produced the case.
	Source string `json:"source"`
}

// File is the common part of every vectors.json.
type File struct {
	Generator string            `json:"generator"`
	Packages  map[string]string `json:"packages"`
	Cases     []Case            `json:"cases"`
}

// Hex is a byte string written as lowercase hex in JSON.
type Hex []byte

// UnmarshalJSON decodes a hex string.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// Load reads path into v (a *File or a struct embedding File's fields) and
// fails the test on any error.
func Load(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Cases returns path's cases for scheme, failing the test if there are none.
func Cases(t testing.TB, path, scheme string) []Case {
	t.Helper()
	var f File
	Load(t, path, &f)
	var out []Case
	for _, c := range f.Cases {
		if c.Scheme == scheme {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no cases for scheme %q", path, scheme)
	}
	return out
}
