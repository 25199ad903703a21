package client

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/mr-tron/base58"

	"github.com/idos-network/idos-node/sdk-wasm/vectors"
)

// verifyOver checks sig over what the request says a bare key signs, with
// the algorithm the scheme's spec gives, independently of the plugin.
func verifyOver(t *testing.T, scheme string, signer, keySigns, sig []byte) {
	t.Helper()
	ok := false
	switch scheme {
	case "solana", "stellar", "stellar_sep53", "ed25519":
		ok = ed25519.Verify(signer, keySigns, sig)
	case "nep413":
		ok = ed25519.Verify(signer, keySigns, sig[:64])
	case "xrpl":
		if signer[0] == 0xED {
			ok = ed25519.Verify(signer[1:], keySigns, sig)
		} else {
			r, s, err := parseCanonicalDER(sig)
			if err != nil {
				t.Fatal(err)
			}
			rs := make([]byte, 64)
			new32 := func(dst, v []byte) { copy(dst[32-len(bytes.TrimLeft(v, "\x00")):], bytes.TrimLeft(v, "\x00")) }
			new32(rs[:32], r)
			new32(rs[32:], s)
			ok = crypto.VerifySignature(signer, keySigns, rs)
		}
	case "adr036":
		ok = crypto.VerifySignature(signer, keySigns, sig)
	case "eip191_wasm", "eip712":
		rsv := bytes.Clone(sig)
		if rsv[64] >= 27 {
			rsv[64] -= 27
		}
		pub, err := crypto.SigToPub(keySigns, rsv)
		ok = err == nil && bytes.Equal(crypto.PubkeyToAddress(*pub).Bytes(), signer)
	case "bip137":
		h := sig[0] - 27
		rsv := append(bytes.Clone(sig[1:]), h&3)
		pub, err := crypto.SigToPub(keySigns, rsv)
		if err != nil {
			break
		}
		// The address's own check needs its decoding; for P2PKH (1...)
		// compare the key hash, for the others that a key recovers.
		addr := string(signer)
		if !strings.HasPrefix(addr, "1") {
			ok = true
			break
		}
		dec, err := base58.Decode(addr)
		if err != nil {
			t.Fatal(err)
		}
		key := crypto.CompressPubkey(pub)
		if h < 4 {
			key = crypto.FromECDSAPub(pub)
		}
		ok = bytes.Equal(dec[1:21], hash160(key))
	default:
		t.Fatalf("no verifier for %s", scheme)
	}
	if !ok {
		t.Errorf("%s: the signature does not verify over key_signs %x", scheme, keySigns)
	}
}

// TestWalletFormatsShippedVectors: for every valid vector each plugin ships
// (made by the ecosystem's own libraries, docs/spec/schemes.md), the client
// derives the vector's identifier from the signer, accepts the signature's
// form in each encoding wallets print, and the signature verifies over the
// request's key_signs: so what the client asks a wallet or a bare key to
// sign is what the plugin checks.
func TestWalletFormatsShippedVectors(t *testing.T) {
	files, err := filepath.Glob("../../sigplugins/*/vectors.json")
	if err != nil || len(files) < 9 {
		t.Fatalf("vectors: %v %v", files, err)
	}
	for _, path := range files {
		f, err := vectors.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := formats[f.Scheme]; !ok {
			t.Fatalf("%s: scheme %q has no wallet format", path, f.Scheme)
		}
		n := 0
		for _, v := range f.Vectors {
			if v.Expect != "valid" {
				continue
			}
			n++
			signer, msg, sig := v.Bytes()
			fm := formats[f.Scheme]
			if v.Identifier != "" {
				if id, err := fm.identifier(signer); err != nil || id != v.Identifier {
					t.Errorf("%s %q: identifier %q (%v), want %q", f.Scheme, v.Name, id, err, v.Identifier)
				}
			}
			for _, answer := range []string{hex.EncodeToString(sig), "0x" + hex.EncodeToString(sig), base64.StdEncoding.EncodeToString(sig)} {
				got, err := ParseSignature(f.Scheme, signer, answer)
				if err != nil || !bytes.Equal(got, sig) {
					t.Errorf("%s %q: ParseSignature(%s) = %x, %v", f.Scheme, v.Name, answer, got, err)
				}
			}
			req := fm.request(signer, v.Identifier, msg)
			keySigns, _ := hex.DecodeString(req.KeySigns)
			if f.Scheme == "nep413" && len(sig) > 64 {
				cb := string(sig[64:])
				h := NEP413Hash(msg, &cb)
				keySigns = h[:]
			}
			verifyOver(t, f.Scheme, signer, keySigns, sig)
		}
		if n == 0 {
			t.Errorf("%s: no valid vector", path)
		}
	}
}

// TestParseSignatureMalformed: answers the client refuses before sending,
// each with ErrMalformedSignature.
func TestParseSignatureMalformed(t *testing.T) {
	xrplSecp, _ := hex.DecodeString("030d58eb48b4420b1f7b9df55087e0e29fef0e8468f9a6825b01ca2c361042d435")
	ed := make([]byte, 32)
	eth := make([]byte, 20)
	sig64 := bytes.Repeat([]byte{1}, 64)
	highS := append(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{0xff}, 32)...)
	tests := []struct {
		name, scheme string
		signer       []byte
		answer       string
	}{
		// 1. Not an encoding the scheme's wallets print.
		{"not an encoding", "solana", ed, "not a signature!"},
		// 2. A Solana signature is 64 bytes.
		{"short ed25519", "solana", ed, hex.EncodeToString(sig64[:63])},
		// 3. NEP-413: fewer than 64 bytes.
		{"short nep413", "nep413", ed, base64.StdEncoding.EncodeToString(sig64[:40])},
		// 4. NEP-413: the callbackUrl after the signature must be UTF-8.
		{"nep413 callback not utf-8", "nep413", ed, hex.EncodeToString(append(bytes.Clone(sig64), 0xff))},
		// 5. NEP-413: the wallet's JSON names another key.
		{"nep413 other key", "nep413", ed, `{"signature":"` + base64.StdEncoding.EncodeToString(sig64) + `","publicKey":"ed25519:` + base58.Encode(bytes.Repeat([]byte{2}, 32)) + `"}`},
		// 6. XRPL secp256k1: not DER.
		{"xrpl not DER", "xrpl", xrplSecp, hex.EncodeToString(sig64)},
		// 7. XRPL secp256k1: DER with a superfluous leading zero.
		{"xrpl non-minimal DER", "xrpl", xrplSecp, "3008020200010202007f"},
		// 8. Ethereum: v must be 27, 28, 0 or 1.
		{"eth bad v", "eip712", eth, hex.EncodeToString(append(bytes.Clone(sig64), 29))},
		// 9. Ethereum: high S.
		{"eth high S", "eip191", eth, hex.EncodeToString(append(bytes.Clone(highS), 27))},
		// 10. BIP-137: header byte out of range.
		{"bip137 header", "bip137", []byte("1EHNa6Q4Jz2uvNExL497mE43ikXhwF6kZm"), base64.StdEncoding.EncodeToString(append([]byte{26}, sig64...))},
		// 11. An unknown scheme: the envelope's 256-byte limit.
		{"unknown too long", "newscheme", []byte{1}, hex.EncodeToString(make([]byte, 257))},
	}
	for i, tt := range tests {
		if _, err := ParseSignature(tt.scheme, tt.signer, tt.answer); !errors.Is(err, ErrMalformedSignature) {
			t.Errorf("%d %s: %v, want ErrMalformedSignature", i+1, tt.name, err)
		}
	}
	if _, err := ParseSignature("solana", ed, "  \n"); !errors.Is(err, ErrNoSignature) {
		t.Errorf("empty answer: %v", err)
	}
}

// TestNewExternalSigners: signers as wallets write them, and the
// identifiers the node derives (values from docs/spec/schemes.md and the
// plugins' vectors).
func TestNewExternalSigners(t *testing.T) {
	tests := []struct{ scheme, signer, id string }{
		{"nep413", "ed25519:" + base58.Encode(mustHex(t, "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664")),
			"79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"},
		{"solana", base58.Encode(mustHex(t, "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664")),
			base58.Encode(mustHex(t, "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"))},
		{"xrpl", "030d58eb48b4420b1f7b9df55087e0e29fef0e8468f9a6825b01ca2c361042d435", "rU6K7V3Po4snVhBBaU29sesqs2qTQJWDw1"},
		{"eip712", "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23", "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},
		{"adr036", "024f4e2ad99c34d60b9ba6283c9431a8418af8673212961f97a77b6377fcd05b62", "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"},
		{"bip137", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
	}
	for _, tt := range tests {
		e, err := NewExternal(tt.scheme, tt.signer, "", nil)
		if err != nil || e.Identifier() != tt.id {
			t.Errorf("%s %s: %v, identifier %v, want %s", tt.scheme, tt.signer, err, e, tt.id)
			continue
		}
		if _, err := NewExternal(tt.scheme, tt.signer, "someone-else", nil); err == nil {
			t.Errorf("%s: a wrong --identifier is accepted", tt.scheme)
		}
	}
	// Stellar: the address round-trips.
	g, _ := stellarAddress(mustHex(t, "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"))
	if e, err := NewExternal("stellar", g, "", nil); err != nil || e.Identifier() != g || !strings.HasPrefix(g, "G") {
		t.Errorf("stellar %s: %v", g, err)
	}
	// A scheme this client does not know needs hex and the identifier.
	if _, err := NewExternal("newscheme", "0a0b", "", nil); err == nil {
		t.Error("unknown scheme without identifier accepted")
	}
	if e, err := NewExternal("newscheme", "0a0b", "ident", nil); err != nil || AccountID(e) != "newscheme:ident" {
		t.Errorf("unknown scheme: %v", err)
	}
	// A NEAR key of another curve is refused with the reason.
	if _, err := NewExternal("nep413", "secp256k1:abc", "", nil); err == nil {
		t.Error("secp256k1 NEAR key accepted")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
