//go:build envimport

package main

//go:wasmimport env foo
func foo() uint32

// idos_extra references env.foo so the linker keeps the import.
//
//go:wasmexport idos_extra
func idosExtra() uint32 { return foo() }
