//go:build !wasip1

// Package sigplugins_test checks the shipped plugin binaries: each .wasm is
// rebuilt from source with the SDK's reproducible command and compared byte
// for byte, then run end to end in the SDK's reference test host.
package sigplugins_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	sdkvectors "github.com/idos-network/idos-node/sdk-wasm/vectors"
	"github.com/idos-network/idos-node/sdk-wasm/wasmbuild"
	"github.com/idos-network/idos-node/sdk-wasm/wasmtest"
	"github.com/idos-network/idos-node/sigplugins/internal/vectors"
)

// A call and its expected result.
type call struct {
	name             string
	signer, msg, sig string // hex
	status           byte
	text             string // "" for status != 0: any non-empty reason
}

// pluginSpec is a shipped plugin. Its calls are <name>/vectors.json, in the
// format of `idosnode plugin test` (sdk-wasm/vectors). For the generated
// plugins that file is derived from generatedFile (see TestShippedVectors).
type pluginSpec struct {
	name, scheme, keyType string
	// generatedFile, if set, is the file written by the ecosystem-library
	// script (testdata/gen.mjs) that <name>/vectors.json is derived from.
	generatedFile string
}

// The generated vectors (testdata/gen.mjs, the ecosystems' own libraries)
// are those of: EIP-712 (ethers, eth-sig-util), ADR-036 (Keplr, CosmJS),
// BIP-137 (bitcoinjs-message), NEAR NEP-413 signMessage (near-api-js), XRPL
// (ripple-keypairs), Stellar raw and SEP-53 (stellar-base, SEP-53's own test
// cases). eip191's and solana's are written by hand from public sources.
var plugins = []pluginSpec{
	{name: "eip191", scheme: "eip191_wasm", keyType: "secp256k1"},
	{name: "solana", scheme: "solana", keyType: "ed25519"},
	{name: "eip712", scheme: "eip712", keyType: "secp256k1", generatedFile: "eip712/testdata/vectors.json"},
	{name: "adr036", scheme: "adr036", keyType: "secp256k1", generatedFile: "adr036/testdata/vectors.json"},
	{name: "bip137", scheme: "bip137", keyType: "secp256k1", generatedFile: "bip137/testdata/vectors.json"},
	{name: "nep413", scheme: "nep413", keyType: "ed25519", generatedFile: "nep413/testdata/vectors.json"},
	{name: "xrpl", scheme: "xrpl", keyType: "secp256k1", generatedFile: "xrpl/testdata/vectors.json"},
	{name: "stellar", scheme: "stellar", keyType: "ed25519", generatedFile: "stellar/testdata/vectors.json"},
	{name: "stellar_sep53", scheme: "stellar_sep53", keyType: "ed25519", generatedFile: "stellar/testdata/vectors.json"},
}

// allCalls is p's <name>/vectors.json. Every plugin must have at least four
// calls and at least one of each status.
func (p pluginSpec) allCalls(t *testing.T) []call {
	t.Helper()
	f, err := sdkvectors.Read(filepath.Join(p.name, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Scheme != p.scheme {
		t.Fatalf("%s/vectors.json: scheme %q, want %q", p.name, f.Scheme, p.scheme)
	}
	var out []call
	for _, v := range f.Vectors {
		st, err := sdkvectors.Status(v.Expect)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, call{v.Name, v.Signer, v.Message, v.Signature, st, v.Identifier})
	}
	if len(out) < 4 {
		t.Fatalf("%s: only %d calls", p.name, len(out))
	}
	for _, st := range []byte{0, 1, 2} {
		if !slices.ContainsFunc(out, func(c call) bool { return c.status == st }) {
			t.Fatalf("%s: no call with status %d", p.name, st)
		}
	}
	return out
}

var update = flag.Bool("update", false, "rewrite the derived <plugin>/vectors.json files")

// TestShippedVectors requires each generated plugin's vectors.json to be
// exactly what its generated file gives (every case of its scheme, status as
// expect, with the generator's per-case source), so the file `idosnode plugin
// test` reads cannot drift from the library output. -update rewrites them.
func TestShippedVectors(t *testing.T) {
	for _, p := range plugins {
		if p.generatedFile == "" {
			continue
		}
		want, err := derivedVectors(t, p).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(p.name, "vectors.json")
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not derived from %s (%v): run go test ./sigplugins -run TestShippedVectors -update", path, p.generatedFile, err)
		}
	}
}

// derivedVectors reads the cases for p.scheme in p.generatedFile. The
// generators write one of two layouts:
//   - "cases" (nep413, xrpl, stellar; internal/vectors): each case names its
//     scheme, so one file can serve several plugins (stellar, stellar_sep53);
//     keys signer, msg, sig.
//   - "vectors" (eip712, adr036, bip137): one scheme per file; keys signer,
//     message, signature.
//
// Both write the byte strings in hex, status 0/1/2, and identifier.
func derivedVectors(t *testing.T, p pluginSpec) sdkvectors.File {
	t.Helper()
	var f struct {
		Packages map[string]string `json:"packages"`
		Cases    []vectors.Case    `json:"cases"`
		Vectors  []struct {
			Name       string `json:"name"`
			Signer     string `json:"signer"`
			Message    string `json:"message"`
			Signature  string `json:"signature"`
			Status     byte   `json:"status"`
			Identifier string `json:"identifier"`
			Source     string `json:"source"`
		} `json:"vectors"`
	}
	vectors.Load(t, p.generatedFile, &f)
	out := sdkvectors.File{
		Scheme:    p.scheme,
		Generator: "go test ./sigplugins -run TestShippedVectors -update",
		Comment:   "Do not edit: derived from " + p.generatedFile + ", written by its gen.mjs with the packages below.",
		Source:    "sigplugins/" + p.generatedFile,
		Packages:  f.Packages,
	}
	add := func(name, signer, msg, sig string, status byte, id, source string) {
		expect, err := sdkvectors.Expect(status)
		if err != nil {
			t.Fatalf("%s: %s: %v", p.generatedFile, name, err)
		}
		if expect != sdkvectors.Valid {
			id = ""
		}
		out.Vectors = append(out.Vectors, sdkvectors.Vector{Name: name, Signer: signer, Message: msg, Signature: sig,
			Expect: expect, Identifier: id, Source: source})
	}
	for _, c := range f.Cases {
		if c.Scheme == p.scheme {
			add(c.Name, hex.EncodeToString(c.Signer), hex.EncodeToString(c.Msg), hex.EncodeToString(c.Sig), c.Status, c.Identifier, c.Source)
		}
	}
	for _, v := range f.Vectors {
		add(v.Name, v.Signer, v.Message, v.Signature, v.Status, v.Identifier, v.Source)
	}
	if len(out.Vectors) == 0 {
		t.Fatalf("%s: no cases for scheme %q", p.generatedFile, p.scheme)
	}
	return out
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readWasm(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(name, name+".wasm"))
	if err != nil {
		t.Fatalf("%v (run go generate ./sigplugins/...)", err)
	}
	return b
}

// TestReproducible rebuilds every plugin in a temporary directory with the
// command of its go:generate line and requires the committed .wasm to be identical.
func TestReproducible(t *testing.T) {
	for _, p := range plugins {
		t.Run(p.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), p.name+".wasm")
			if err := wasmbuild.Build(p.name, out, "."); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if want := readWasm(t, p.name); !bytes.Equal(got, want) {
				t.Fatalf("%s/%s.wasm (%d bytes) differs from a fresh build (%d bytes): run go generate ./sigplugins/... with the go.mod toolchain",
					p.name, p.name, len(want), len(got))
			}
		})
	}
}

// TestABI runs each shipped binary in the reference host.
func TestABI(t *testing.T) {
	ctx := context.Background()
	for _, p := range plugins {
		t.Run(p.name, func(t *testing.T) {
			h, err := wasmtest.Load(ctx, readWasm(t, p.name))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(ctx)
			if v, err := h.ABIVersion(ctx); err != nil || v != 1 {
				t.Fatalf("idos_abi_version = %d, %v", v, err)
			}
			meta, err := h.Metadata(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(meta, &m); err != nil {
				t.Fatalf("metadata %q: %v", meta, err)
			}
			if m["abi"] != 1.0 || m["kind"] != "signature" || m["scheme"] != p.scheme || m["key_type"] != p.keyType {
				t.Fatalf("metadata = %s", meta)
			}
			for _, c := range p.allCalls(t) {
				st, text, err := h.Verify(ctx, mustHex(t, c.signer), mustHex(t, c.msg), mustHex(t, c.sig))
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if st != c.status || (c.text != "" && text != c.text) || text == "" {
					t.Errorf("%s: got %d %q, want %d %q", c.name, st, text, c.status, c.text)
				}
			}
			if len(h.Logs) != 0 {
				t.Errorf("unexpected log lines: %q", h.Logs)
			}
		})
	}
}

// TestManyCallsOneInstance reuses one instance for many verifications with
// large messages, so the guest's garbage collector runs while the host holds
// buffers from idos_alloc: results must not change.
func TestManyCallsOneInstance(t *testing.T) {
	ctx := context.Background()
	p := plugins[0]
	calls := p.allCalls(t)
	h, err := wasmtest.Load(ctx, readWasm(t, p.name))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	in, err := h.NewInstance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	big := bytes.Repeat([]byte{0xab}, 60<<10)
	for i := range 300 {
		c := calls[i%len(calls)]
		if _, _, err := in.Verify(ctx, mustHex(t, c.signer), big, mustHex(t, c.sig)); err != nil {
			t.Fatalf("call %d (large message): %v", i, err)
		}
		st, text, err := in.Verify(ctx, mustHex(t, c.signer), mustHex(t, c.msg), mustHex(t, c.sig))
		if err != nil || st != c.status || (c.text != "" && text != c.text) {
			t.Fatalf("call %d %s: got %d %q %v, want %d %q", i, c.name, st, text, err, c.status, c.text)
		}
	}
	// About 300 × 4 × 60 KiB passed through the guest: without collection
	// that is over 70 MiB, past the node's default 64 MiB cap.
	if mem := in.MemoryBytes(); mem > 32<<20 {
		t.Errorf("guest memory grew to %d MiB: garbage is not collected", mem>>20)
	}
	t.Logf("guest memory after the loop: %d MiB", in.MemoryBytes()>>20)
	// A zero-size allocation still yields a usable, non-null buffer.
	if st, _, err := in.Verify(ctx, nil, nil, nil); err != nil || st != 2 {
		t.Fatalf("empty inputs: %d, %v", st, err)
	}
}
