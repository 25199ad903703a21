//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"github.com/mr-tron/base58"

	"crypto/ed25519"
	"encoding/hex"
	"slices"
	"testing"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

// rfc8032 are the Ed25519 test vectors of RFC 8032 section 7.1, TESTS 1-3
// (https://www.rfc-editor.org/rfc/rfc8032#section-7.1). The base58 addresses
// were computed with github.com/mr-tron/base58 v1.3.0, the encoder Solana's
// Go SDKs use.
var rfc8032 = []struct {
	name, secret, public, address, msg, sig string
}{
	{
		name:    "TEST 1 (empty message)",
		secret:  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		public:  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		address: "FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z",
		msg:     "",
		sig:     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	},
	{
		name:    "TEST 2 (1-byte message)",
		secret:  "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		public:  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		address: "586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5",
		msg:     "72",
		sig:     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
	},
	{
		name:    "TEST 3 (2-byte message)",
		secret:  "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		public:  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
		address: "Hyx62wPQGyvXCoihZq1BrbUjBRh2LuNxWiiqMkfAuSZr",
		msg:     "af82",
		sig:     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
	},
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRFC8032(t *testing.T) {
	for _, v := range rfc8032 {
		t.Run(v.name, func(t *testing.T) {
			pub, msg, sig := mustHex(t, v.public), mustHex(t, v.msg), mustHex(t, v.sig)
			// The vector is what a standard signer (the wallet) produces.
			priv := ed25519.NewKeyFromSeed(mustHex(t, v.secret))
			if !slices.Equal(priv.Public().(ed25519.PublicKey), pub) || !slices.Equal(ed25519.Sign(priv, msg), sig) {
				t.Fatal("test setup: vector does not match crypto/ed25519")
			}
			if st, text := sdk.Call(pub, msg, sig); st != sdk.StatusValid || text != v.address {
				t.Fatalf("Call = %d %q, want 0 %q", st, text, v.address)
			}
			bad := slices.Clone(sig)
			bad[0] ^= 1
			if st, _ := sdk.Call(pub, msg, bad); st != sdk.StatusInvalidSignature {
				t.Errorf("flipped signature: status %d", st)
			}
			if st, _ := sdk.Call(pub, append(slices.Clone(msg), 0), sig); st != sdk.StatusInvalidSignature {
				t.Errorf("extended message: status %d", st)
			}
		})
	}
}

// TestBase58 checks addresses of well-known Solana programs
// (https://docs.solana.com/developing/runtime-facilities/programs and the SPL
// Token program, https://spl.solana.com/token) and the zero-prefix rule.
func TestBase58(t *testing.T) {
	for _, c := range []struct{ hex, want string }{
		{"0000000000000000000000000000000000000000000000000000000000000000", "11111111111111111111111111111111"}, // System Program
		{"06ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a9", "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"},
		{"069b8857feab8184fb687f634618c035dac439dc1aeb3b5598a0f00000000001", "So11111111111111111111111111111111111111112"}, // wrapped SOL mint
		{"000000000000000000000000000000000000000000000000000000000000000a", "1111111111111111111111111111111B"},
		{"", ""},
		{"00", "1"},
		{"0000ff", "115Q"},
	} {
		if got := base58.Encode(mustHex(t, c.hex)); got != c.want {
			t.Errorf("base58.Encode(%s) = %q, want %q", c.hex, got, c.want)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	v := rfc8032[1]
	pub, msg, sig := mustHex(t, v.public), mustHex(t, v.msg), mustHex(t, v.sig)
	other := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	for _, c := range []struct {
		name             string
		signer, msg, sig []byte
		want             sdk.Status
	}{
		{"signer 31 bytes", pub[:31], msg, sig, sdk.StatusInvalidSigner},
		{"signer 33 bytes", append(slices.Clone(pub), 0), msg, sig, sdk.StatusInvalidSigner},
		{"signer empty", nil, msg, sig, sdk.StatusInvalidSigner},
		{"sig 63 bytes", pub, msg, sig[:63], sdk.StatusInvalidSignature},
		{"sig 65 bytes", pub, msg, append(slices.Clone(sig), 0), sdk.StatusInvalidSignature},
		{"other key", other, msg, sig, sdk.StatusInvalidSignature},
	} {
		if st, text := sdk.Call(c.signer, c.msg, c.sig); st != c.want || text == "" {
			t.Errorf("%s: status %d (%q), want %d", c.name, st, text, c.want)
		}
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"solana","key_type":"ed25519","address_format":"base58 Ed25519 public key (Solana address)"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}
