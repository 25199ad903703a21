//go:build wasip1

package sdk

import "unsafe"

// pinned keeps every idos_alloc buffer referenced until idos_free, so the
// garbage collector neither frees nor reuses memory the host writes into
// (Go's collector does not move objects).
var pinned = map[uintptr][]byte{}

// result holds the last packed result; it stays valid until the next call.
var result []byte

//go:wasmexport idos_abi_version
func idosABIVersion() int32 { return ABIVersion }

//go:wasmexport idos_alloc
func idosAlloc(size int32) unsafe.Pointer {
	if size < 0 {
		return nil
	}
	// A zero-size request still gets a distinct, non-null buffer (0 means
	// out of memory in the ABI).
	buf := make([]byte, max(int(size), 1))
	p := unsafe.Pointer(unsafe.SliceData(buf))
	pinned[uintptr(p)] = buf
	return p
}

//go:wasmexport idos_free
func idosFree(ptr unsafe.Pointer, size int32) {
	// Unknown pointers are ignored: freeing is only a hint to the guest.
	// No runtime.Gosched here: the collector keeps up through allocation
	// (sigplugins' TestManyCallsOneInstance: 7 MiB after ~70 MiB of
	// garbage, with or without a yield).
	delete(pinned, uintptr(ptr))
}

//go:wasmexport idos_metadata
func idosMetadata() int64 { return pack(MetadataJSON()) }

//go:wasmexport idos_verify
func idosVerify(signerPtr unsafe.Pointer, signerLen int32, msgPtr unsafe.Pointer, msgLen int32, sigPtr unsafe.Pointer, sigLen int32) int64 {
	return pack(verifyResult(guestBytes(signerPtr, signerLen), guestBytes(msgPtr, msgLen), guestBytes(sigPtr, sigLen)))
}

// guestBytes copies a host-written range, so the verifier may keep its
// arguments after the host frees the buffers.
func guestBytes(p unsafe.Pointer, n int32) []byte {
	if n == 0 {
		return []byte{}
	}
	if n < 0 || p == nil {
		panic("sdk: invalid pointer or length from host")
	}
	return append([]byte(nil), unsafe.Slice((*byte)(p), n)...)
}

// pack keeps b alive as the current result and returns (ptr << 32) | len.
func pack(b []byte) int64 {
	result = b
	p := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	return int64(p<<32 | uint64(uint32(len(b))))
}
