package auth

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// rfc8032 are the Ed25519 test vectors of RFC 8032 section 7.1, TESTS 1-3.
var rfc8032 = []struct {
	name, secret, public, msg, sig string
}{
	{
		name:   "TEST 1 (empty message)",
		secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		msg:    "",
		sig:    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	},
	{
		name:   "TEST 2 (1-byte message)",
		secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		msg:    "72",
		sig:    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
	},
	{
		name:   "TEST 3 (2-byte message)",
		secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		public: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
		msg:    "af82",
		sig:    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
	},
}

// TestEd25519RFC8032 checks the public vectors in both directions: the scheme
// accepts the published signature, and the Signer reproduces it byte for byte
// (Ed25519 signing is deterministic).
func TestEd25519RFC8032(t *testing.T) {
	s := ed25519Scheme{}
	for _, v := range rfc8032 {
		t.Run(v.name, func(t *testing.T) {
			pub, msg, sig := mustHex(t, v.public), mustHex(t, v.msg), mustHex(t, v.sig)

			id, err := s.Verify(pub, msg, sig)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// The identifier is the lowercase hex public key, no 0x.
			if id != v.public {
				t.Errorf("identifier = %q, want %q", id, v.public)
			}

			signer := NewEd25519Signer(ed25519.NewKeyFromSeed(mustHex(t, v.secret)))
			if signer.Scheme() != SchemeEd25519 {
				t.Errorf("Scheme() = %q", signer.Scheme())
			}
			if got := signer.SignerID(); !slices.Equal(got, pub) {
				t.Errorf("SignerID = %x, want %x", got, pub)
			}
			got, err := signer.Sign(msg)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !slices.Equal(got, sig) {
				t.Errorf("Sign = %x, want %x", got, sig)
			}
		})
	}
}

func TestEd25519Invalid(t *testing.T) {
	v1, v2 := rfc8032[0], rfc8032[1]
	pub, msg, sig := mustHex(t, v2.public), mustHex(t, v2.msg), mustHex(t, v2.sig)

	flip := func(b []byte, i int) []byte {
		c := slices.Clone(b)
		c[i] ^= 0x01
		return c
	}

	// sPlusL replaces the scalar S (second half, little endian) with S + L,
	// the group order. The equation still holds, but ZIP-215 (like RFC 8032)
	// requires S < L, closing this malleability.
	sPlusL := func(sig []byte) []byte {
		l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
		le := slices.Clone(sig[32:])
		slices.Reverse(le)
		s := new(big.Int).Add(new(big.Int).SetBytes(le), l)
		out := make([]byte, 32)
		s.FillBytes(out)
		slices.Reverse(out)
		return append(slices.Clone(sig[:32]), out...)
	}

	tests := []struct {
		name             string
		signer, msg, sig []byte
		want             error
	}{
		// One flipped bit in R, in S, or in the message breaks the signature.
		{"flipped bit in R", pub, msg, flip(sig, 0), ErrInvalidSignature},
		{"flipped bit in S", pub, msg, flip(sig, 40), ErrInvalidSignature},
		{"flipped bit in msg", pub, flip(msg, 0), sig, ErrInvalidSignature},
		// A valid signature presented for another key.
		{"wrong signer", mustHex(t, v1.public), msg, sig, ErrInvalidSignature},
		// Non-canonical S (S + L) must not verify.
		{"S not reduced", pub, msg, sPlusL(sig), ErrInvalidSignature},
		// Lengths are checked before any curve arithmetic.
		{"signer 31 bytes", pub[:31], msg, sig, ErrInvalidSigner},
		{"signer 33 bytes", append(slices.Clone(pub), 0), msg, sig, ErrInvalidSigner},
		{"signer empty", nil, msg, sig, ErrInvalidSigner},
		{"sig 63 bytes", pub, msg, sig[:63], ErrInvalidSignature},
		{"sig 65 bytes", pub, msg, append(slices.Clone(sig), 0), ErrInvalidSignature},
		{"sig empty", pub, msg, nil, ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ed25519Scheme{}.Verify(tt.signer, tt.msg, tt.sig)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if id != "" {
				t.Errorf("identifier %q returned with an error", id)
			}
		})
	}
}

func TestEd25519SignerBadKey(t *testing.T) {
	// A truncated key must fail cleanly, not panic inside crypto/ed25519.
	s := NewEd25519Signer(make([]byte, 10))
	if _, err := s.Sign([]byte("x")); err == nil {
		t.Fatal("Sign with a 10-byte key succeeded")
	}
	if id := s.SignerID(); len(id) != 0 {
		t.Errorf("SignerID = %x, want empty", id)
	}
}
