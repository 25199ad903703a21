//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"crypto/ed25519"
	"slices"
	"testing"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/vectors"
)

// vectorFile is written by ../stellar/testdata/gen.mjs with
// @stellar/stellar-base (version in the file); it holds the cases of stellar
// and stellar_sep53, and the addresses (checked in ../stellar).
const vectorFile = "../stellar/testdata/vectors.json"

// TestLibraryVectors runs SEP-53's own three test cases (ASCII, Japanese,
// binary) and the stellar-base cases: the sign bytes signed by two keys,
// and rejections (altered message and signature, wrong key, a raw
// signature, the hash without the prefix, the prefix without the hash,
// S + L, lengths).
func TestLibraryVectors(t *testing.T) {
	cases := vectors.Cases(t, vectorFile, Scheme)
	sep53 := 0
	for _, c := range cases {
		if c.Source == "SEP-53 v1.0.0 test cases" {
			sep53++
		}
		t.Run(c.Name, func(t *testing.T) {
			st, text := sdk.Call(c.Signer, c.Msg, c.Sig)
			if st != sdk.Status(c.Status) || text == "" {
				t.Fatalf("Call = %d %q, want status %d", st, text, c.Status)
			}
			if c.Status == 0 && text != c.Identifier {
				t.Fatalf("identifier %q, want %q", text, c.Identifier)
			}
		})
	}
	if sep53 != 3 {
		t.Fatalf("%d SEP-53 test cases in %s, want 3", sep53, vectorFile)
	}
}

func TestVerifyErrors(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte("idOS transaction v1")
	h := messageHash(msg)
	sig := ed25519.Sign(priv, h[:])
	for _, c := range []struct {
		name             string
		signer, msg, sig []byte
		want             sdk.Status
	}{
		{"valid (control)", pub, msg, sig, sdk.StatusValid},
		{"raw signature", pub, msg, ed25519.Sign(priv, msg), sdk.StatusInvalidSignature},
		{"empty signature", pub, msg, nil, sdk.StatusInvalidSignature},
		{"signature 65 bytes", pub, msg, append(slices.Clone(sig), 0), sdk.StatusInvalidSignature},
		{"empty signer", nil, msg, sig, sdk.StatusInvalidSigner},
		{"signer 33 bytes", append(slices.Clone(pub), 0), msg, sig, sdk.StatusInvalidSigner},
	} {
		if st, text := sdk.Call(c.signer, c.msg, c.sig); st != c.want || text == "" {
			t.Errorf("%s: status %d (%q), want %d", c.name, st, text, c.want)
		}
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"stellar_sep53","key_type":"ed25519","address_format":"Stellar account id (G..., SEP-23 strkey of the Ed25519 key); SEP-53 signMessage"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}
