package auth

import (
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The personal_sign example from the web3.js documentation
// (web3.eth.accounts.sign("Some data", privateKey)).
const (
	web3Key     = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	web3Msg     = "Some data"
	web3Hash    = "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655"
	web3Sig     = "b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c"
	web3Address = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
)

// secp256k1N is the order of the secp256k1 group.
var secp256k1N, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)

func web3Signer() []byte { return common.HexToAddress(web3Address).Bytes() }

// TestEIP191Web3Vector checks the public web3.js vector end to end: digest,
// key-to-address, verification, and byte-exact signing (RFC 6979 nonces).
func TestEIP191Web3Vector(t *testing.T) {
	msg, sig := []byte(web3Msg), mustHex(t, web3Sig)

	// The digest is the documented one (go-ethereum's accounts.TextHash is
	// not imported: its package tree needs modules this repo does not pin).
	if got := textHash(msg); !slices.Equal(got, mustHex(t, web3Hash)) {
		t.Fatalf("textHash = %x, want %s", got, web3Hash)
	}

	key, err := crypto.HexToECDSA(web3Key)
	if err != nil {
		t.Fatal(err)
	}
	signer := NewEIP191Signer(key)
	if signer.Scheme() != SchemeEIP191 {
		t.Errorf("Scheme() = %q", signer.Scheme())
	}
	if got := signer.SignerID(); !slices.Equal(got, web3Signer()) {
		t.Fatalf("SignerID = %x, want %s", got, web3Address)
	}
	got, err := signer.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, sig) {
		t.Errorf("Sign = %x, want %s", got, web3Sig)
	}

	// Identifier is the EIP-55 checksummed address.
	id, err := eip191Scheme{}.Verify(web3Signer(), msg, sig)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if id != web3Address {
		t.Errorf("identifier = %q, want %q", id, web3Address)
	}
}

func TestEIP191Verify(t *testing.T) {
	msg, sig := []byte(web3Msg), mustHex(t, web3Sig)
	addr := web3Signer()

	withV := func(v byte) []byte {
		c := slices.Clone(sig)
		c[64] = v
		return c
	}
	flip := func(b []byte, i int) []byte {
		c := slices.Clone(b)
		c[i] ^= 0x01
		return c
	}
	// setWord replaces r (i=0) or s (i=1) with x.
	setWord := func(i int, x *big.Int) []byte {
		c := slices.Clone(sig)
		x.FillBytes(c[32*i : 32*i+32])
		return c
	}
	s := new(big.Int).SetBytes(sig[32:64])
	// highS is the malleated twin of the vector: (r, n-s) with the recovery
	// id flipped. It is a mathematically valid signature by the same key
	// (checked below), so only the low-S rule rejects it.
	highS := setWord(1, new(big.Int).Sub(secp256k1N, s))
	highS[64] = 27 + 28 - sig[64]
	if pub, err := crypto.SigToPub(textHash(msg), append(highS[:64:64], highS[64]-27)); err != nil ||
		crypto.PubkeyToAddress(*pub) != common.BytesToAddress(addr) {
		t.Fatalf("test setup: high-S twin does not recover the signer (%v)", err)
	}
	otherAddr := common.HexToAddress("0x00000000000000000000000000000000000000aa").Bytes()

	tests := []struct {
		name             string
		signer, msg, sig []byte
		want             error // nil: valid
	}{
		// The vector as published: v = 28 (0x1c).
		{"web3 vector v=28", addr, msg, sig, nil},
		// The same signature with the raw recovery id (28 - 27 = 1) is accepted.
		{"raw recovery id v=1", addr, msg, withV(1), nil},
		// The other recovery id recovers a different key, so it does not verify.
		{"wrong recovery id v=27", addr, msg, withV(27), ErrInvalidSignature},
		{"wrong recovery id v=0", addr, msg, withV(0), ErrInvalidSignature},
		// v outside {0,1,27,28} is rejected outright (2 and 29 are the
		// values a naive "v-27 or v" would let through).
		{"v=2", addr, msg, withV(2), ErrInvalidSignature},
		{"v=29", addr, msg, withV(29), ErrInvalidSignature},
		{"v=26", addr, msg, withV(26), ErrInvalidSignature},
		{"v=37 (EIP-155 style)", addr, msg, withV(37), ErrInvalidSignature},
		// High-S malleated twin must be rejected.
		{"high-S twin", addr, msg, highS, ErrInvalidSignature},
		// r and s must be in [1, n-1].
		{"r zero", addr, msg, setWord(0, big.NewInt(0)), ErrInvalidSignature},
		{"s zero", addr, msg, setWord(1, big.NewInt(0)), ErrInvalidSignature},
		{"r = n", addr, msg, setWord(0, secp256k1N), ErrInvalidSignature},
		// Bit flips: recovery yields a different address (or fails).
		{"flipped bit in r", addr, msg, flip(sig, 0), ErrInvalidSignature},
		{"flipped bit in s", addr, msg, flip(sig, 40), ErrInvalidSignature},
		{"flipped bit in msg", addr, flip(msg, 0), sig, ErrInvalidSignature},
		// A valid signature claimed by another address.
		{"wrong signer", otherAddr, msg, sig, ErrInvalidSignature},
		// Lengths.
		{"signer 19 bytes", addr[:19], msg, sig, ErrInvalidSigner},
		{"signer 21 bytes", append(slices.Clone(addr), 0), msg, sig, ErrInvalidSigner},
		{"signer 32 bytes (hash, not address)", make([]byte, 32), msg, sig, ErrInvalidSigner},
		{"sig 64 bytes (no v)", addr, msg, sig[:64], ErrInvalidSignature},
		{"sig 66 bytes", addr, msg, append(slices.Clone(sig), 0), ErrInvalidSignature},
		{"sig empty", addr, msg, nil, ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := eip191Scheme{}.Verify(tt.signer, tt.msg, tt.sig)
			if tt.want == nil {
				if err != nil || id != web3Address {
					t.Fatalf("Verify = %q, %v; want %q", id, err, web3Address)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if id != "" {
				t.Errorf("identifier %q returned with an error", id)
			}
		})
	}
}

// TestEIP191RoundTrip signs messages of several lengths, covering the
// decimal length prefix crossing digit boundaries.
func TestEIP191RoundTrip(t *testing.T) {
	key, err := crypto.HexToECDSA(web3Key)
	if err != nil {
		t.Fatal(err)
	}
	signer := NewEIP191Signer(key)
	for _, n := range []int{0, 1, 9, 10, 99, 100, 1000} {
		msg := make([]byte, n)
		sig, err := signer.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if v := sig[64]; v != 27 && v != 28 {
			t.Errorf("len %d: v = %d, want 27 or 28", n, v)
		}
		if _, err := (eip191Scheme{}).Verify(signer.SignerID(), msg, sig); err != nil {
			t.Errorf("len %d: %v", n, err)
		}
	}
}

func TestEIP191SignerNilKey(t *testing.T) {
	if _, err := NewEIP191Signer(nil).Sign([]byte("x")); err == nil {
		t.Fatal("Sign with a nil key succeeded")
	}
}
