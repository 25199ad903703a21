//go:build !wasip1

package sdk

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"log"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/ethereum/go-ethereum/crypto"
	//lint:ignore SA1019 RIPEMD-160 is what the ABI specifies (Bitcoin-style addresses).
	"golang.org/x/crypto/ripemd160"
)

// Native implementations of the host crypto, for go test on the developer's
// machine. They follow the ABI's semantics: the same libraries the node uses.

// Keccak256 is Ethereum's Keccak-256 (not NIST SHA3-256).
func Keccak256(b []byte) (out [32]byte) {
	copy(out[:], crypto.Keccak256(b))
	return out
}

// SHA256 is SHA-256.
func SHA256(b []byte) [32]byte { return sha256.Sum256(b) }

// SHA512 is SHA-512.
func SHA512(b []byte) [64]byte { return sha512.Sum512(b) }

// RIPEMD160 is RIPEMD-160.
func RIPEMD160(b []byte) (out [20]byte) {
	h := ripemd160.New()
	h.Write(b)
	copy(out[:], h.Sum(nil))
	return out
}

// Secp256k1Recover recovers the 65-byte uncompressed public key (0x04‖X‖Y)
// from a 32-byte hash and a 65-byte r‖s‖v signature with v 0 or 1. It does
// not enforce low-S; plugins that need it check s themselves.
func Secp256k1Recover(hash, sig []byte) ([]byte, error) {
	if err := checkRecoverArgs(hash, sig); err != nil {
		return nil, err
	}
	pub, err := crypto.Ecrecover(hash, sig)
	if err != nil {
		return nil, fmt.Errorf("%w: secp256k1 public key recovery failed", ErrInvalidSignature)
	}
	return pub, nil
}

// Secp256k1Verify reports whether the 64-byte r‖s signature (low-S required)
// by the 33- or 65-byte public key pub is valid for the 32-byte hash.
func Secp256k1Verify(hash, sig, pub []byte) bool {
	if !secp256k1VerifyArgsOK(hash, sig, pub) {
		return false
	}
	return crypto.VerifySignature(pub, hash, sig)
}

// Ed25519Verify reports whether sig (64 bytes) by pub (32 bytes) over msg is
// valid under ZIP-215 rules, the node's native ed25519 rules.
func Ed25519Verify(pub, msg, sig []byte) bool {
	if len(pub) != 32 || len(sig) != 64 {
		return false
	}
	return cmted25519.PubKey(pub).VerifySignature(msg, sig)
}

// Log prints to the standard logger in native builds.
func Log(level LogLevel, msg string) { log.Printf("plugin log[%d]: %s", level, msg) }
