//go:build !noverify && !badsig

package main

import "unsafe"

//go:wasmexport idos_verify
func idosVerify(signerPtr, signerLen, msgPtr, msgLen, sigPtr, sigLen uint32) uint64 {
	signer, msg, sig := bytesAt(signerPtr, signerLen), bytesAt(msgPtr, msgLen), bytesAt(sigPtr, sigLen)
	if mode == "hostile" {
		if r, ok := misbehave(string(msg)); ok {
			return r
		}
	}
	return verifyEd25519(signer, msg, sig)
}

var sink [][]byte

//go:noinline
func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	return recurse(n+1) + int(pad[0])
}

// misbehave implements the hostile behaviours the tests trigger by message.
func misbehave(cmd string) (uint64, bool) {
	switch cmd {
	case "panic":
		panic("guest panic")
	case "nil":
		var p *int
		return uint64(*p), true
	case "bomb":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "huge":
		return status(0, string(make([]byte, 5000))), true
	case "recurse":
		return uint64(recurse(0)), true
	case "loop":
		for {
		}
	case "oob":
		return uint64(0xFFFF0000)<<32 | 16, true
	case "empty":
		return 0, true
	case "badstatus":
		return status(7, "what"), true
	case "badutf8":
		return status(0, "\xff\xfe"), true
	case "hostoob":
		hostSHA256(unsafe.Pointer(uintptr(0xFFFFFF00)), 4096, unsafe.Pointer(uintptr(16)))
		return status(0, "unreachable"), true
	case "log":
		s := "hello from the guest"
		hostLog(0, unsafe.Pointer(unsafe.StringData(s)), uint32(len(s)))
		return status(0, "logged"), true
	case "state":
		// Returns how many times this instance has been called: always 1
		// when the host uses a fresh instance per call.
		calls++
		return status(0, string(rune('0'+calls))), true
	}
	return 0, false
}

var calls int
