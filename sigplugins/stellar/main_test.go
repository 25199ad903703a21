//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"crypto/ed25519"
	"slices"
	"testing"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/strkey"
	"github.com/idos-network/idos-node/sigplugins/internal/vectors"
)

// vectorFile is written by testdata/gen.mjs with @stellar/stellar-base
// (version in the file); it holds the cases of stellar and stellar_sep53.
const vectorFile = "testdata/vectors.json"

// TestLibraryVectors runs the stellar-base cases: the sign bytes signed by
// the SEP-53 test key and the RFC 8032 seed 01..20, and rejections (altered
// message and signature, wrong key, a SEP-53 signature, S + L, lengths).
func TestLibraryVectors(t *testing.T) {
	for _, c := range vectors.Cases(t, vectorFile, Scheme) {
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
}

// TestAddresses checks the identifier against stellar-base's
// StrKey.encodeEd25519PublicKey and SEP-23's valid account-id test case.
func TestAddresses(t *testing.T) {
	var g struct {
		Addresses []struct {
			Name      string      `json:"name"`
			PublicKey vectors.Hex `json:"public_key"`
			Address   string      `json:"address"`
		} `json:"addresses"`
	}
	vectors.Load(t, vectorFile, &g)
	if len(g.Addresses) == 0 {
		t.Fatal("no addresses")
	}
	for _, a := range g.Addresses {
		if got := strkey.AccountID(a.PublicKey); got != a.Address {
			t.Errorf("%s: %s, want %s", a.Name, got, a.Address)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte("idOS transaction v1")
	sig := ed25519.Sign(priv, msg)
	for _, c := range []struct {
		name             string
		signer, msg, sig []byte
		want             sdk.Status
	}{
		{"valid (control)", pub, msg, sig, sdk.StatusValid},
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
	want := `{"abi":1,"kind":"signature","scheme":"stellar","key_type":"ed25519","address_format":"Stellar account id (G..., SEP-23 strkey of the Ed25519 key); raw signature over the message"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}
