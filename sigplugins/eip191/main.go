// Command eip191 is the eip191_wasm signature plugin: Ethereum personal_sign
// (EIP-191 version 0x45) with the same rules as the node's native eip191
// scheme (docs/spec/transactions.md): a 20-byte address signer, a 65-byte
// r‖s‖v signature with v 27/28 or 0/1, r and s in [1, n-1], low S, and the
// EIP-55 checksummed address as identifier.
package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o eip191.wasm .

// Scheme is the plugin's scheme name (the native scheme keeps "eip191").
const Scheme = "eip191_wasm"

var (
	// secp256k1N is the group order n; secp256k1HalfN is n/2 (floor).
	secp256k1N     = mustHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	secp256k1HalfN = mustHex("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")
)

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeSecp256k1,
		AddressFormat: "EIP-55 checksummed hex address (0x + 40 hex)",
	}, verify)
}

func main() {}

func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 20 {
		return "", fmt.Errorf("%w: eip191 signer must be a 20-byte address, got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	if len(sig) != 65 {
		return "", fmt.Errorf("%w: eip191 signature must be 65 bytes (r || s || v), got %d", sdk.ErrInvalidSignature, len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	if v != 0 && v != 1 {
		return "", fmt.Errorf("%w: eip191 signature v must be 27, 28, 0 or 1, got %d", sdk.ErrInvalidSignature, sig[64])
	}
	r, s := sig[:32], sig[32:64]
	// Homestead rules: 0 < r, s < n and s <= n/2 (no malleable high-S twin).
	if isZero(r) || bytes.Compare(r, secp256k1N) >= 0 || isZero(s) || bytes.Compare(s, secp256k1HalfN) > 0 {
		return "", fmt.Errorf("%w: eip191 signature r or s out of range (s must be in the lower half of the curve order)", sdk.ErrInvalidSignature)
	}
	rsv := make([]byte, 65)
	copy(rsv, sig[:64])
	rsv[64] = v
	digest := textHash(msg)
	pub, err := sdk.Secp256k1Recover(digest[:], rsv)
	if err != nil {
		return "", fmt.Errorf("%w: eip191 public key recovery failed", sdk.ErrInvalidSignature)
	}
	h := sdk.Keccak256(pub[1:])
	got := h[12:]
	if !bytes.Equal(got, signer) {
		return "", fmt.Errorf("%w: eip191 signature recovers to %s, not to signer %s (signed by another key, or over a different message)", sdk.ErrInvalidSignature, eip55(got), eip55(signer))
	}
	return eip55(signer), nil
}

// textHash is keccak256("\x19Ethereum Signed Message:\n" + decimal len(msg) + msg).
func textHash(msg []byte) [32]byte {
	b := append([]byte("\x19Ethereum Signed Message:\n"+strconv.Itoa(len(msg))), msg...)
	return sdk.Keccak256(b)
}

// eip55 is the EIP-55 mixed-case checksum encoding of a 20-byte address.
func eip55(addr []byte) string {
	lower := hex.EncodeToString(addr)
	h := sdk.Keccak256([]byte(lower))
	out := []byte("0x" + lower)
	for i := range len(lower) {
		c := lower[i]
		nibble := h[i/2] >> 4
		if i%2 == 1 {
			nibble = h[i/2] & 0x0f
		}
		if c >= 'a' && c <= 'f' && nibble >= 8 {
			out[2+i] = c - 'a' + 'A'
		}
	}
	return string(out)
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
