//go:build wasip1

package sdk

import (
	"fmt"
	"unsafe"
)

// Host crypto imports (docs/spec/wasm-abi.md, module "idos"). Pointers are
// i32 offsets into this module's memory; outputs are written at out.

//go:wasmimport idos keccak256
func hostKeccak256(in unsafe.Pointer, inLen int32, out unsafe.Pointer)

//go:wasmimport idos sha256
func hostSHA256(in unsafe.Pointer, inLen int32, out unsafe.Pointer)

//go:wasmimport idos sha512
func hostSHA512(in unsafe.Pointer, inLen int32, out unsafe.Pointer)

//go:wasmimport idos ripemd160
func hostRIPEMD160(in unsafe.Pointer, inLen int32, out unsafe.Pointer)

//go:wasmimport idos secp256k1_recover
func hostSecp256k1Recover(hash, sig, out unsafe.Pointer) int32

//go:wasmimport idos secp256k1_verify
func hostSecp256k1Verify(hash, sig, pub unsafe.Pointer, pubLen int32) int32

//go:wasmimport idos ed25519_verify
func hostEd25519Verify(pub, msg unsafe.Pointer, msgLen int32, sig unsafe.Pointer) int32

//go:wasmimport idos log
func hostLog(level int32, msg unsafe.Pointer, msgLen int32)

func data(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// Keccak256 is Ethereum's Keccak-256 (not NIST SHA3-256), run by the host.
func Keccak256(b []byte) (out [32]byte) {
	hostKeccak256(data(b), int32(len(b)), unsafe.Pointer(&out))
	return out
}

// SHA256 is SHA-256, run by the host.
func SHA256(b []byte) (out [32]byte) {
	hostSHA256(data(b), int32(len(b)), unsafe.Pointer(&out))
	return out
}

// SHA512 is SHA-512, run by the host.
func SHA512(b []byte) (out [64]byte) {
	hostSHA512(data(b), int32(len(b)), unsafe.Pointer(&out))
	return out
}

// RIPEMD160 is RIPEMD-160, run by the host.
func RIPEMD160(b []byte) (out [20]byte) {
	hostRIPEMD160(data(b), int32(len(b)), unsafe.Pointer(&out))
	return out
}

// Secp256k1Recover recovers the 65-byte uncompressed public key (0x04‖X‖Y)
// from a 32-byte hash and a 65-byte r‖s‖v signature with v 0 or 1. It does
// not enforce low-S; plugins that need it check s themselves.
func Secp256k1Recover(hash, sig []byte) ([]byte, error) {
	if err := checkRecoverArgs(hash, sig); err != nil {
		return nil, err
	}
	out := make([]byte, 65)
	if hostSecp256k1Recover(data(hash), data(sig), data(out)) != 0 {
		return nil, fmt.Errorf("%w: secp256k1 public key recovery failed", ErrInvalidSignature)
	}
	return out, nil
}

// Secp256k1Verify reports whether the 64-byte r‖s signature (low-S required)
// by the 33- or 65-byte public key pub is valid for the 32-byte hash.
func Secp256k1Verify(hash, sig, pub []byte) bool {
	if !secp256k1VerifyArgsOK(hash, sig, pub) {
		return false
	}
	return hostSecp256k1Verify(data(hash), data(sig), data(pub), int32(len(pub))) == 0
}

// Ed25519Verify reports whether sig (64 bytes) by pub (32 bytes) over msg is
// valid under ZIP-215 rules, the node's native ed25519 rules.
func Ed25519Verify(pub, msg, sig []byte) bool {
	if len(pub) != 32 || len(sig) != 64 {
		return false
	}
	return hostEd25519Verify(data(pub), data(msg), int32(len(msg)), data(sig)) == 0
}

// Log sends debug text to the node's log; it never affects results.
func Log(level LogLevel, msg string) {
	b := []byte(msg)
	hostLog(int32(level), data(b), int32(len(b)))
}
