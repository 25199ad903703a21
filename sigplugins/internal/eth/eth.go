// Package eth holds the Ethereum rules the secp256k1 address plugins share
// (eip191, eip712): recovering the signing address from an r‖s‖v signature
// and the EIP-55 checksummed form of an address.
package eth

import (
	"encoding/hex"
	"fmt"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/secp"
)

// RecoverAddress returns the 20-byte address whose key signed digest. It
// checks, naming scheme in its errors (all wrap sdk.ErrInvalidSignature):
//
//	a) sig is 65 bytes r‖s‖v;
//	b) v is 27, 28, 0 or 1;
//	c) r and s are in [1, n-1] and s <= n/2 (secp.CanonicalRS);
//	d) a public key recovers from digest and sig.
func RecoverAddress(scheme string, digest [32]byte, sig []byte) ([]byte, error) {
	if len(sig) != 65 {
		return nil, fmt.Errorf("%w: %s signature must be 65 bytes (r || s || v), got %d", sdk.ErrInvalidSignature, scheme, len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	if v != 0 && v != 1 {
		return nil, fmt.Errorf("%w: %s signature v must be 27, 28, 0 or 1, got %d", sdk.ErrInvalidSignature, scheme, sig[64])
	}
	if !secp.CanonicalRS(sig[:64]) {
		return nil, fmt.Errorf("%w: %s signature r or s out of range (s must be in the lower half of the curve order)", sdk.ErrInvalidSignature, scheme)
	}
	rsv := make([]byte, 65)
	copy(rsv, sig[:64])
	rsv[64] = v
	pub, err := sdk.Secp256k1Recover(digest[:], rsv)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key recovery failed", sdk.ErrInvalidSignature, scheme)
	}
	h := sdk.Keccak256(pub[1:])
	return h[12:], nil
}

// Checksum is the EIP-55 mixed-case checksum encoding of a 20-byte address
// ("0x" and 40 hex digits).
func Checksum(addr []byte) string {
	lower := hex.EncodeToString(addr)
	h := sdk.Keccak256([]byte(lower))
	out := []byte("0x" + lower)
	for i := range len(lower) {
		c := lower[i]
		nibble := h[i/2] >> 4
		if i%2 == 1 {
			nibble = h[i/2] & 0x0f
		}
		if c >= 'a' && c <= 'f' && nibble >= 8 {
			out[2+i] = c - 'a' + 'A'
		}
	}
	return string(out)
}
