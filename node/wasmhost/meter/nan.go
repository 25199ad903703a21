package meter

// NaN canonicalization. The WebAssembly spec leaves the sign and payload
// of a NaN produced by float arithmetic nondeterministic, and engines
// differ: wazero's interpreter returns Go's math.NaN() from min and max
// where its amd64 compiler returns the operand's payload. A guest that
// reinterprets such a NaN as an integer would then get different verdicts
// on different nodes. So after every instruction that may produce a NaN
// the rewriter inserts code that replaces any NaN with the canonical one
// (sign 0, quiet bit only):
//
//	local.tee $t; fN.const canonical; local.get $t; local.get $t; fN.eq; select
//
// (x == x is false only for NaN). Instructions that move bits exactly
// (loads, stores, constants, local and global access, select,
// reinterpretations, abs, neg, copysign) and conversions from integers
// (never NaN) are left alone, so every NaN a guest can observe is the
// canonical one or one it built bit by bit. The inserted code is free of
// fuel.

// Canonical NaNs.
const (
	CanonicalNaN32 = 0x7fc00000
	CanonicalNaN64 = 0x7ff8000000000000
)

// nanType reports whether op is a float instruction whose result the
// rewriter canonicalizes, and its result type (0x7d f32, 0x7c f64).
func nanType(op byte) byte {
	switch {
	case op >= 0x8d && op <= 0x97, // f32 ceil floor trunc nearest sqrt add sub mul div min max
		op == 0xb6: // f32.demote_f64
		return 0x7d
	case op >= 0x9b && op <= 0xa5, // f64 ceil floor trunc nearest sqrt add sub mul div min max
		op == 0xbb: // f64.promote_f32
		return 0x7c
	}
	return 0
}

// appendCanonNaN appends the canonicalization of the value of type vt on
// top of the stack, using scratch local tmp of that type.
func appendCanonNaN(dst []byte, vt byte, tmp uint32) []byte {
	dst = append(dst, opLocalTee)
	dst = appendU32(dst, tmp)
	if vt == 0x7d {
		dst = append(dst, 0x43, 0x00, 0x00, 0xc0, 0x7f) // f32.const 0x7fc00000
	} else {
		dst = append(dst, 0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f) // f64.const 0x7ff8000000000000
	}
	dst = append(dst, opLocalGet)
	dst = appendU32(dst, tmp)
	dst = append(dst, opLocalGet)
	dst = appendU32(dst, tmp)
	if vt == 0x7d {
		dst = append(dst, 0x5b) // f32.eq
	} else {
		dst = append(dst, 0x61) // f64.eq
	}
	return append(dst, 0x1b) // select: x if x == x, else the canonical NaN
}
