//go:build badsig

package main

// idosVerify has the wrong signature: registration must refuse it.
//
//go:wasmexport idos_verify
func idosVerify(signerPtr uint32) uint64 { return 0 }
