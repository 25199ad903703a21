// Package secp holds the secp256k1 scalar-range rules the ECDSA signature
// plugins share (eip191 and eip712 through internal/eth, bip137, xrpl;
// adr036 relies on the host's verify, which enforces the same rule).
package secp

import "bytes"

var (
	// n is the secp256k1 group order; halfN is n/2 (floor).
	n     = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41}
	halfN = []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0}
)

// CanonicalRS reports whether the 64-byte big-endian r‖s has r and s in
// [1, n-1] and s <= n/2: the Homestead / BIP-62 low-S rule that removes the
// malleable twin (r, n-s). It panics if rs is not 64 bytes.
func CanonicalRS(rs []byte) bool {
	if len(rs) != 64 {
		panic("secp: CanonicalRS needs 64 bytes")
	}
	r, s := rs[:32], rs[32:]
	return !isZero(r) && BelowN(r) && !isZero(s) && LowS(s)
}

// BelowN reports whether the 32-byte big-endian x is below the group order n.
func BelowN(x []byte) bool { return bytes.Compare(x, n) < 0 }

// LowS reports whether the 32-byte big-endian s is at most n/2.
func LowS(s []byte) bool { return bytes.Compare(s, halfN) <= 0 }

// Compress returns the 33-byte compressed form of a 65-byte uncompressed
// public key 0x04‖X‖Y (as the host's secp256k1_recover writes it).
func Compress(pub []byte) []byte {
	if len(pub) != 65 || pub[0] != 4 {
		panic("secp: Compress needs a 65-byte uncompressed key")
	}
	out := make([]byte, 33)
	out[0] = 2 | pub[64]&1
	copy(out[1:], pub[1:33])
	return out
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
