//go:build wasip1

package driver

import (
	"runtime"
	"unsafe"
)

// pinned keeps every idos_alloc buffer referenced until idos_free.
var pinned = map[uintptr][]byte{}

// out holds the last packed result; it stays valid until the next call.
var out []byte

//go:wasmexport idos_abi_version
func idosABIVersion() int32 { return ABIVersion }

//go:wasmexport idos_alloc
func idosAlloc(size int32) unsafe.Pointer {
	if size < 0 {
		return nil
	}
	buf := make([]byte, max(int(size), 1))
	p := unsafe.Pointer(unsafe.SliceData(buf))
	pinned[uintptr(p)] = buf
	return p
}

//go:wasmexport idos_free
func idosFree(ptr unsafe.Pointer, size int32) { delete(pinned, uintptr(ptr)) }

//go:wasmexport idos_driver_metadata
func idosDriverMetadata() int64 { return pack(metadataJSON()) }

//go:wasmexport idos_driver_poll
func idosDriverPoll(p unsafe.Pointer, n int32) int64 {
	var in []byte
	if n > 0 {
		in = append([]byte(nil), unsafe.Slice((*byte)(p), n)...)
	}
	return pack(pollJSON(in))
}

func pack(b []byte) int64 {
	out = b
	return int64(uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(uint32(len(b))))
}

//go:wasmimport idos_driver rpc_call
func hostRPCCall(req unsafe.Pointer, reqLen int32, flags int32, out unsafe.Pointer, outCap int32) int64

// buf receives every response; the host writes at most MaxResponse bytes.
// It is allocated in _initialize, not at the first call, so that a poll
// does not grow the instance's memory and the host can reset the instance
// to its post-_initialize state and reuse it for the next poll.
var buf = make([]byte, MaxResponse)

// headroom is freed during _initialize: its pages stay in the Go heap, where
// a poll's garbage then fits without growing the memory (up to about its
// size), which keeps the instance reusable.
var headroom = make([]byte, 2<<20)

func init() {
	headroom = nil
	runtime.GC()
}

const flagCrossCheck = 1

// rpcCall returns the response bytes and the status: rpc_call returns
// status<<32 | length, or a negative value when the host failed the call.
func rpcCall(req []byte, crossCheck bool) ([]byte, int) {
	var flags int32
	if crossCheck {
		flags = flagCrossCheck
	}
	r := hostRPCCall(unsafe.Pointer(unsafe.SliceData(req)), int32(len(req)), flags, unsafe.Pointer(unsafe.SliceData(buf)), int32(len(buf)))
	if r < 0 {
		return nil, int(r)
	}
	n := int(uint32(r))
	return append([]byte(nil), buf[:n]...), int(r >> 32)
}
