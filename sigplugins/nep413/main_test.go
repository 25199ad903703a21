//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/mr-tron/base58"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/vectors"
)

const vectorFile = "testdata/vectors.json"

// generated is testdata/vectors.json, written by testdata/gen.mjs with
// @near-js/signers' signNep413Message (package versions in the file).
type generated struct {
	Cases []struct {
		vectors.Case
		PublicKey string `json:"public_key"`
	} `json:"cases"`
	PayloadVectors []struct {
		Name          string      `json:"name"`
		PublicKey     vectors.Hex `json:"public_key"`
		Message       string      `json:"message"`
		Recipient     string      `json:"recipient"`
		Nonce         vectors.Hex `json:"nonce"`
		CallbackURL   *string     `json:"callback_url"`
		PayloadSHA256 vectors.Hex `json:"payload_sha256"`
		Sig           vectors.Hex `json:"sig"`
	} `json:"payload_vectors"`
}

func load(t *testing.T) generated {
	t.Helper()
	var g generated
	vectors.Load(t, vectorFile, &g)
	if len(g.Cases) == 0 || len(g.PayloadVectors) == 0 {
		t.Fatalf("%s: no vectors", vectorFile)
	}
	return g
}

// TestLibraryVectors runs the cases near-api-js produced for the idOS
// mapping (valid, and altered message, signature, key, recipient, nonce,
// callbackUrl, tag, a non-canonical S, wrong lengths).
func TestLibraryVectors(t *testing.T) {
	for _, c := range load(t).Cases {
		t.Run(c.Name, func(t *testing.T) {
			st, text := sdk.Call(c.Signer, c.Msg, c.Sig)
			if st != sdk.Status(c.Status) || text == "" {
				t.Fatalf("Call = %d %q, want status %d", st, text, c.Status)
			}
			if c.Status != 0 {
				return
			}
			if text != c.Identifier {
				t.Fatalf("identifier %q, want %q", text, c.Identifier)
			}
			// The signer bytes are the key the library prints as ed25519:<base58>.
			if got := "ed25519:" + base58.Encode(c.Signer); got != c.PublicKey {
				t.Fatalf("signer is %s, library key %s", got, c.PublicKey)
			}
		})
	}
}

// TestPayloadVectors checks payloadHash against near-api-js's published
// NEP-413 vectors (packages/signers/test/key_pair_signer.test.ts, "Hello
// NEAR!" to example.near, with and without a callback URL): these use
// another recipient and nonce than the idOS mapping, so they pin the borsh
// layout itself.
func TestPayloadVectors(t *testing.T) {
	for _, v := range load(t).PayloadVectors {
		t.Run(v.Name, func(t *testing.T) {
			h := payloadHash([]byte(v.Message), [32]byte(v.Nonce), v.Recipient, v.CallbackURL)
			if !slices.Equal(h[:], v.PayloadSHA256) {
				t.Fatalf("payload hash %x, library %x", h, v.PayloadSHA256)
			}
			if !sdk.Ed25519Verify(v.PublicKey, h[:], v.Sig) {
				t.Fatal("published signature does not verify over the payload hash")
			}
		})
	}
}

// TestTagBytes: borsh writes the tag 2^31+413 little-endian.
func TestTagBytes(t *testing.T) {
	h := payloadHash(nil, [32]byte{}, "", nil)
	want := sdk.SHA256(append(append([]byte{0x9d, 0x01, 0x00, 0x80, 0, 0, 0, 0}, make([]byte, 32)...), 0, 0, 0, 0, 0))
	if h != want {
		t.Fatalf("empty payload hash %x, want %x", h, want)
	}
}

// TestVerifyErrors covers what the library cannot produce: non-UTF-8 text
// (signed correctly, so only the UTF-8 rule rejects it).
func TestVerifyErrors(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	signPayload := func(msg []byte, callback *string) []byte {
		h := payloadHash(msg, sdk.SHA256(msg), Recipient, callback)
		return ed25519.Sign(priv, h[:])
	}
	good := []byte("idOS transaction v1")
	bad := []byte{0xff, 0xfe}
	badCallback := string([]byte{0xc3, 0x28})
	for _, c := range []struct {
		name             string
		signer, msg, sig []byte
		want             sdk.Status
	}{
		{"valid (control)", pub, good, signPayload(good, nil), sdk.StatusValid},
		{"message not UTF-8", pub, bad, signPayload(bad, nil), sdk.StatusInvalidSignature},
		{"callbackUrl not UTF-8", pub, good, append(signPayload(good, &badCallback), badCallback...), sdk.StatusInvalidSignature},
		{"empty signature", pub, good, nil, sdk.StatusInvalidSignature},
		{"empty signer", nil, good, signPayload(good, nil), sdk.StatusInvalidSigner},
		{"signer 33 bytes", append(slices.Clone(pub), 0), good, signPayload(good, nil), sdk.StatusInvalidSigner},
	} {
		st, text := sdk.Call(c.signer, c.msg, c.sig)
		if st != c.want || text == "" {
			t.Errorf("%s: status %d (%q), want %d", c.name, st, text, c.want)
		}
		if c.want == sdk.StatusValid && text != hex.EncodeToString(pub) {
			t.Errorf("%s: identifier %q", c.name, text)
		}
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"nep413","key_type":"ed25519","address_format":"NEAR implicit account id (64 lowercase hex of the Ed25519 key)"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}
