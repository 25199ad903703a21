// Command guest is the test plugin for node/wasmhost. One source builds every
// test module: -ldflags "-X main.mode=..." picks registration-time behaviour
// (ABI version, metadata) and build tags change the module's shape (missing
// or mistyped exports, a forbidden import). With mode "hostile" the message
// passed to idos_verify selects a misbehaviour, so one module covers every
// call-time attack.
package main

import (
	"encoding/hex"
	"unsafe"
)

// mode is set at link time.
var mode = "valid"

func main() {}

// allocs keeps buffers handed to the host reachable until idos_free, so the
// garbage collector does not reuse memory the host is about to write.
var allocs = map[uintptr][]byte{}

// result holds the last result so its memory stays valid until the next call.
var result []byte

//go:wasmexport idos_alloc
func idosAlloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	b := make([]byte, size)
	p := uintptr(unsafe.Pointer(&b[0]))
	allocs[p] = b
	return uint32(p)
}

//go:wasmexport idos_free
func idosFree(ptr, size uint32) {
	delete(allocs, uintptr(ptr))
}

//go:wasmexport idos_abi_version
func idosABIVersion() int32 {
	if mode == "abi2" {
		return 2
	}
	return 1
}

//go:wasmexport idos_metadata
func idosMetadata() uint64 {
	switch mode {
	case "badjson":
		return pack([]byte(`{"abi":1,"kind":"signature",`))
	case "badscheme":
		return pack([]byte(`{"abi":1,"kind":"signature","scheme":"Ed-25519","key_type":"ed25519","address_format":"hex"}`))
	case "badkeytype":
		return pack([]byte(`{"abi":1,"kind":"signature","scheme":"test_ed25519","key_type":"rsa","address_format":"hex"}`))
	case "unknownfield":
		return pack([]byte(`{"abi":1,"kind":"signature","scheme":"test_ed25519","key_type":"ed25519","address_format":"hex","extra":true}`))
	case "dupkey":
		return pack([]byte(`{"abi":1,"kind":"signature","scheme":"test_ed25519","scheme":"other","key_type":"ed25519","address_format":"hex"}`))
	}
	return pack([]byte(`{"abi":1,"kind":"signature","scheme":"test_ed25519","key_type":"ed25519","address_format":"lowercase hex of the 32-byte public key"}`))
}

func pack(b []byte) uint64 {
	result = b
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))<<32 | uint64(len(b))
}

func bytesAt(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

//go:wasmimport idos ed25519_verify
func hostEd25519Verify(pub, msg unsafe.Pointer, msgLen uint32, sig unsafe.Pointer) uint32

//go:wasmimport idos sha256
func hostSHA256(in unsafe.Pointer, inLen uint32, out unsafe.Pointer)

//go:wasmimport idos log
func hostLog(level uint32, ptr unsafe.Pointer, n uint32)

func status(code byte, text string) uint64 {
	return pack(append([]byte{code}, text...))
}

// verifyEd25519 is the honest plugin: raw Ed25519 through the host import,
// identifier = lowercase hex of the key, as the native ed25519 scheme.
func verifyEd25519(signer, msg, sig []byte) uint64 {
	if len(signer) != 32 {
		return status(2, "ed25519 public key must be 32 bytes")
	}
	if len(sig) != 64 {
		return status(1, "ed25519 signature must be 64 bytes")
	}
	var mp unsafe.Pointer
	if len(msg) > 0 {
		mp = unsafe.Pointer(&msg[0])
	}
	if hostEd25519Verify(unsafe.Pointer(&signer[0]), mp, uint32(len(msg)), unsafe.Pointer(&sig[0])) != 0 {
		return status(1, "ed25519 signature does not verify")
	}
	return status(0, hex.EncodeToString(signer))
}
