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
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idos-network/idos-node/sdk-wasm/wasmbuild"
	"github.com/idos-network/idos-node/sdk-wasm/wasmtest"
	"github.com/idos-network/idos-node/sigplugins/internal/vectors"
)

// A call and its expected result; the vectors are the plugins' own (see
// their main_test.go for the sources).
type call struct {
	name             string
	signer, msg, sig string // hex
	status           byte
	text             string // "" for status != 0: any non-empty reason
}

type pluginSpec struct {
	name, scheme, keyType string
	calls                 []call
	// vectorFile, if set, holds more calls: the cases for scheme in a
	// generated <plugin>/testdata/vectors.json (see its gen.mjs and
	// vectorCalls).
	vectorFile string
}

var plugins = []pluginSpec{
	{
		name: "eip191", scheme: "eip191_wasm", keyType: "secp256k1",
		calls: []call{
			{"web3.js vector", "2c7536e3605d9c16a7a3d7b1898e529396a65c23", hex.EncodeToString([]byte("Some data")),
				"b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c",
				0, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},
			{"web3.js vector, v=1", "2c7536e3605d9c16a7a3d7b1898e529396a65c23", hex.EncodeToString([]byte("Some data")),
				"b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a02901",
				0, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},
			{"other message", "2c7536e3605d9c16a7a3d7b1898e529396a65c23", hex.EncodeToString([]byte("Some date")),
				"b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c",
				1, ""},
			{"high S", "2c7536e3605d9c16a7a3d7b1898e529396a65c23", hex.EncodeToString([]byte("Some data")),
				"b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fdffffffffffffffffffffffffffffffffbaaedce6af48a03bbfd25e8cd036414101",
				1, ""},
			{"signer 19 bytes", "2c7536e3605d9c16a7a3d7b1898e529396a65c", "",
				"b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c",
				2, ""},
			{"empty signature", "2c7536e3605d9c16a7a3d7b1898e529396a65c23", "00", "", 1, ""},
		},
	},
	{
		name: "solana", scheme: "solana", keyType: "ed25519",
		calls: []call{
			{"RFC 8032 TEST 1", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
				"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
				0, "FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z"},
			{"RFC 8032 TEST 3", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
				"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
				0, "Hyx62wPQGyvXCoihZq1BrbUjBRh2LuNxWiiqMkfAuSZr"},
			{"RFC 8032 TEST 3, other message", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af83",
				"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
				1, ""},
			{"signer 31 bytes", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb9115489080", "af82",
				"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
				2, ""},
		},
	},
	// The generated vectors (testdata/gen.mjs, the ecosystems' own
	// libraries) are the calls of these plugins: EIP-712 (ethers,
	// eth-sig-util), ADR-036 (Keplr, CosmJS), BIP-137 (bitcoinjs-message),
	// NEAR NEP-413 signMessage (near-api-js), XRPL (ripple-keypairs),
	// Stellar raw and SEP-53 (stellar-base, SEP-53's own test cases).
	{name: "eip712", scheme: "eip712", keyType: "secp256k1", vectorFile: "eip712/testdata/vectors.json"},
	{name: "adr036", scheme: "adr036", keyType: "secp256k1", vectorFile: "adr036/testdata/vectors.json"},
	{name: "bip137", scheme: "bip137", keyType: "secp256k1", vectorFile: "bip137/testdata/vectors.json"},
	{name: "nep413", scheme: "nep413", keyType: "ed25519", vectorFile: "nep413/testdata/vectors.json"},
	{name: "xrpl", scheme: "xrpl", keyType: "secp256k1", vectorFile: "xrpl/testdata/vectors.json"},
	{name: "stellar", scheme: "stellar", keyType: "ed25519", vectorFile: "stellar/testdata/vectors.json"},
	{name: "stellar_sep53", scheme: "stellar_sep53", keyType: "ed25519", vectorFile: "stellar/testdata/vectors.json"},
}

// allCalls is p's inline calls followed by its generated vectors. Every
// plugin must have at least four calls and at least one of each status.
func (p pluginSpec) allCalls(t *testing.T) []call {
	t.Helper()
	out := slices.Clone(p.calls)
	if p.vectorFile != "" {
		out = append(out, vectorCalls(t, p.vectorFile, p.scheme)...)
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

// vectorCalls returns the cases for scheme in a generated vectors.json. The
// generators write one of two layouts:
//   - "cases" (nep413, xrpl, stellar; internal/vectors): each case names its
//     scheme, so one file can serve several plugins (stellar, stellar_sep53);
//     keys signer, msg, sig.
//   - "vectors" (eip712, adr036, bip137): one scheme per file; keys signer,
//     message, signature.
//
// Both write the byte strings in hex, status 0/1/2, and identifier.
func vectorCalls(t *testing.T, path, scheme string) []call {
	t.Helper()
	var f struct {
		Cases   []vectors.Case `json:"cases"`
		Vectors []struct {
			Name       string `json:"name"`
			Signer     string `json:"signer"`
			Message    string `json:"message"`
			Signature  string `json:"signature"`
			Status     byte   `json:"status"`
			Identifier string `json:"identifier"`
		} `json:"vectors"`
	}
	vectors.Load(t, path, &f)
	var out []call
	for _, c := range f.Cases {
		if c.Scheme == scheme {
			out = append(out, call{c.Name, hex.EncodeToString(c.Signer), hex.EncodeToString(c.Msg), hex.EncodeToString(c.Sig), c.Status, c.Identifier})
		}
	}
	for _, v := range f.Vectors {
		out = append(out, call{v.Name, v.Signer, v.Message, v.Signature, v.Status, v.Identifier})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no cases for scheme %q", path, scheme)
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
		c := p.calls[i%len(p.calls)]
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
