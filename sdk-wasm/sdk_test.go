//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package sdk

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/crypto"
)

// withRegistration runs f with m/fn registered, restoring the state after.
func withRegistration(t *testing.T, m Metadata, fn VerifyFunc, f func()) {
	t.Helper()
	saved := registered
	defer func() { registered = saved }()
	registered.fn = nil
	RegisterSignature(m, fn)
	f()
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func okFn(signer, msg, sig []byte) (string, error) { return "id", nil }

func TestRegisterValidation(t *testing.T) {
	good := Metadata{Scheme: "my_scheme_1", KeyType: KeyTypeEd25519, AddressFormat: "hex"}
	for name, m := range map[string]Metadata{
		"empty scheme":     {KeyType: KeyTypeEd25519},
		"upper case":       {Scheme: "Solana", KeyType: KeyTypeEd25519},
		"dash":             {Scheme: "my-scheme", KeyType: KeyTypeEd25519},
		"33 chars":         {Scheme: strings.Repeat("a", 33), KeyType: KeyTypeEd25519},
		"unknown key type": {Scheme: "x", KeyType: "rsa"},
		"bad utf-8":        {Scheme: "x", KeyType: KeyTypeEd25519, AddressFormat: "\xff"},
	} {
		saved := registered
		registered.fn = nil
		mustPanic(t, name, func() { RegisterSignature(m, okFn) })
		registered = saved
	}
	withRegistration(t, good, okFn, func() {
		mustPanic(t, "second registration", func() { RegisterSignature(good, okFn) })
		if m, ok := Registered(); !ok || m != good {
			t.Errorf("Registered = %+v, %v", m, ok)
		}
	})
	saved := registered
	registered.fn = nil
	mustPanic(t, "nil func", func() { RegisterSignature(good, nil) })
	mustPanic(t, "metadata without registration", func() { MetadataJSON() })
	mustPanic(t, "call without registration", func() { Call(nil, nil, nil) })
	registered = saved
}

func TestMetadataJSON(t *testing.T) {
	m := Metadata{Scheme: "s_32", KeyType: KeyTypeSecp256k1, AddressFormat: "quote \" backslash \\ tab \t <html> é"}
	withRegistration(t, m, okFn, func() {
		raw := MetadataJSON()
		var got struct {
			ABI           int    `json:"abi"`
			Kind          string `json:"kind"`
			Scheme        string `json:"scheme"`
			KeyType       string `json:"key_type"`
			AddressFormat string `json:"address_format"`
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got.ABI != 1 || got.Kind != "signature" || got.Scheme != m.Scheme || got.KeyType != m.KeyType || got.AddressFormat != m.AddressFormat {
			t.Fatalf("decoded %+v from %s", got, raw)
		}
		if !strings.HasPrefix(string(raw), `{"abi":1,"kind":"signature","scheme":"s_32","key_type":"secp256k1","address_format":`) {
			t.Errorf("field order: %s", raw)
		}
	})
}

func TestCallStatus(t *testing.T) {
	var ret struct {
		id  string
		err error
	}
	fn := func(signer, msg, sig []byte) (string, error) { return ret.id, ret.err }
	withRegistration(t, Metadata{Scheme: "t", KeyType: KeyTypeEd25519}, fn, func() {
		for _, c := range []struct {
			id     string
			err    error
			status Status
			text   string
		}{
			{"0xABC", nil, StatusValid, "0xABC"},
			{"", fmt.Errorf("%w: bad r", ErrInvalidSignature), StatusInvalidSignature, "invalid signature: bad r"},
			{"", fmt.Errorf("%w: 19 bytes", ErrInvalidSigner), StatusInvalidSigner, "invalid signer: 19 bytes"},
			{"", errors.New("something else"), StatusInvalidSignature, "something else"},
			{"", errors.New(""), StatusInvalidSignature, "verification failed"},
			{"ignored", errors.New("err wins"), StatusInvalidSignature, "err wins"},
		} {
			ret.id, ret.err = c.id, c.err
			if st, text := Call(nil, nil, nil); st != c.status || text != c.text {
				t.Errorf("(%q, %v): got %d %q, want %d %q", c.id, c.err, st, text, c.status, c.text)
			}
		}
		// A long reason is cut to fit 4 KiB, on a rune boundary.
		ret.id, ret.err = "", errors.New(strings.Repeat("é", 3000))
		if _, text := Call(nil, nil, nil); len(text) > MaxResultBytes-1 || len(text) < MaxResultBytes-3 || !utf8.ValidString(text) {
			t.Errorf("long reason: %d bytes, valid UTF-8 %v", len(text), utf8.ValidString(text))
		}
		ret.err = errors.New("bad \xff byte")
		if _, text := Call(nil, nil, nil); !utf8.ValidString(text) {
			t.Errorf("invalid UTF-8 kept: %q", text)
		}
		// An empty or invalid identifier without an error is a plugin bug: trap.
		for _, id := range []string{"", "\xff", "a\x00b", strings.Repeat("a", MaxResultBytes)} {
			ret.id, ret.err = id, nil
			mustPanic(t, fmt.Sprintf("identifier %.8q", id), func() { Call(nil, nil, nil) })
		}
	})
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// TestNativeHashes pins the native host functions to published digests.
func TestNativeHashes(t *testing.T) {
	k := Keccak256(nil)
	s2 := SHA256([]byte("abc"))
	s5 := SHA512([]byte("abc"))
	r := RIPEMD160([]byte("abc"))
	for _, c := range []struct{ name, got, want string }{
		// Ethereum's empty-input Keccak-256 (the empty code hash).
		{"keccak256('')", hexOf(k[:]), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		// FIPS 180-2 appendix examples.
		{"sha256(abc)", hexOf(s2[:]), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha512(abc)", hexOf(s5[:]), "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		// The RIPEMD-160 authors' test vectors.
		{"ripemd160(abc)", hexOf(r[:]), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}

func TestNativeSecp256k1(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	hash := SHA256([]byte("msg"))
	sig, err := crypto.Sign(hash[:], key) // r || s || v, v 0/1, low S
	if err != nil {
		t.Fatal(err)
	}
	uncompressed := crypto.FromECDSAPub(&key.PublicKey)
	pub, err := Secp256k1Recover(hash[:], sig)
	if err != nil || hexOf(pub) != hexOf(uncompressed) {
		t.Fatalf("recover = %x, %v", pub, err)
	}
	bad := append([]byte(nil), sig...)
	bad[64] = 27
	if _, err := Secp256k1Recover(hash[:], bad); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("recover with v=27: %v", err)
	}
	if _, err := Secp256k1Recover(hash[:31], sig); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("recover with a short hash: %v", err)
	}
	if !Secp256k1Verify(hash[:], sig[:64], uncompressed) || !Secp256k1Verify(hash[:], sig[:64], crypto.CompressPubkey(&key.PublicKey)) {
		t.Error("verify rejects a valid signature")
	}
	other := SHA256([]byte("other"))
	if Secp256k1Verify(other[:], sig[:64], uncompressed) || Secp256k1Verify(hash[:], sig[:64], uncompressed[:64]) {
		t.Error("verify accepts a wrong hash or key length")
	}
}

func TestNativeEd25519(t *testing.T) {
	// RFC 8032 section 7.1 TEST 2.
	pub, _ := hex.DecodeString("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
	sig, _ := hex.DecodeString("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
	if !Ed25519Verify(pub, []byte{0x72}, sig) {
		t.Error("RFC 8032 TEST 2 rejected")
	}
	if Ed25519Verify(pub, []byte{0x73}, sig) || Ed25519Verify(pub[:31], []byte{0x72}, sig) || Ed25519Verify(pub, []byte{0x72}, sig[:63]) {
		t.Error("bad input accepted")
	}
}
