// Command xrpl is the xrpl signature plugin: an XRP Ledger key signing the
// idOS sign bytes the way ripple-keypairs (xrpl.js) and rippled sign data.
//
// The signer is the 33-byte XRPL public key; its first byte selects the
// algorithm, so every transaction has one interpretation:
//
//   - 0x02 or 0x03: a compressed secp256k1 key. The signature is DER-encoded
//     ECDSA over SHA-512Half(message) (the first 32 bytes of SHA-512). Only
//     fully canonical signatures are accepted, rippled's rule: strict
//     minimal DER (30 len 02 lenR R 02 lenS S, no padding, no trailing
//     bytes), 1 <= r, s < n, and low S (s <= n/2). The high-S twin of a valid
//     signature is rejected.
//   - 0xED: an Ed25519 key (the 32 bytes after the prefix). The signature is
//     the 64-byte Ed25519 signature over the message itself (host ed25519,
//     ZIP-215 rules; rippled applies RFC 8032 strictly, which only differs on
//     non-canonical encodings no standard signer produces).
//
// Any other first byte or length is an invalid signer.
//
// The identifier is the classic address: base58 (XRPL alphabet) of
// 0x00 || RIPEMD160(SHA256(33-byte key)) || first 4 bytes of
// SHA256(SHA256(those 21 bytes)).
package main

import (
	"errors"
	"fmt"

	"github.com/mr-tron/base58"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/secp"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o xrpl.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "xrpl"

const (
	prefixEd25519 = 0xED
	// accountVersion is the version byte of a classic address (type prefix
	// 0x00, which encodes as the leading 'r').
	accountVersion = 0x00
)

// xrplAlphabet is the XRP Ledger's base58 alphabet.
var xrplAlphabet = base58.NewAlphabet("rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz")

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme: Scheme,
		// The metadata names one key type; 0xED-prefixed Ed25519 keys are
		// accepted as well (see the package comment).
		KeyType:       sdk.KeyTypeSecp256k1,
		AddressFormat: "XRPL classic address (r..., base58 of RIPEMD160(SHA256(33-byte key))); secp256k1 or 0xED-prefixed Ed25519 key",
	}, verify)
}

func main() {}

func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 33 {
		return "", fmt.Errorf("%w: xrpl signer must be a 33-byte public key (0x02/0x03 secp256k1 or 0xED Ed25519), got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	switch signer[0] {
	case 0x02, 0x03:
		rs, err := parseDER(sig)
		if err != nil {
			return "", fmt.Errorf("%w: xrpl secp256k1 signature: %v", sdk.ErrInvalidSignature, err)
		}
		h := sha512Half(msg)
		if !sdk.Secp256k1Verify(h[:], rs, signer) {
			return "", fmt.Errorf("%w: xrpl secp256k1 signature does not verify for %s (key %X)", sdk.ErrInvalidSignature, address(signer), signer)
		}
	case prefixEd25519:
		if len(sig) != 64 {
			return "", fmt.Errorf("%w: xrpl Ed25519 signature must be 64 bytes, got %d", sdk.ErrInvalidSignature, len(sig))
		}
		if !sdk.Ed25519Verify(signer[1:], msg, sig) {
			return "", fmt.Errorf("%w: xrpl Ed25519 signature does not verify for %s (key %X)", sdk.ErrInvalidSignature, address(signer), signer)
		}
	default:
		return "", fmt.Errorf("%w: xrpl public key prefix 0x%02X is neither 0x02/0x03 (secp256k1) nor 0xED (Ed25519)", sdk.ErrInvalidSigner, signer[0])
	}
	return address(signer), nil
}

// sha512Half is the first 32 bytes of SHA-512, the XRP Ledger's hash.
func sha512Half(b []byte) [32]byte {
	h := sdk.SHA512(b)
	return [32]byte(h[:32])
}

// address is the classic address of a 33-byte public key.
func address(pub []byte) string {
	sha := sdk.SHA256(pub)
	id := sdk.RIPEMD160(sha[:])
	return encodeAccountID(id[:])
}

// encodeAccountID is base58check with version 0x00 and the XRPL alphabet.
func encodeAccountID(id []byte) string {
	b := make([]byte, 0, 1+len(id)+4)
	b = append(b, accountVersion)
	b = append(b, id...)
	first := sdk.SHA256(b)
	check := sdk.SHA256(first[:])
	b = append(b, check[:4]...)
	return base58.FastBase58EncodingAlphabet(b, xrplAlphabet)
}

// parseDER parses a fully canonical DER ECDSA signature (rippled's
// ecdsaCanonicality returning fullyCanonical) into 64 bytes r || s:
//
//	a) 8 to 72 bytes: 0x30, the length of the rest, then two INTEGERs;
//	b) each INTEGER is 0x02, a length of 1 to 33, and a minimal two's
//	   complement positive value (no leading 0x00 unless the next byte has
//	   its high bit set; never negative, never zero);
//	c) nothing follows the second INTEGER;
//	d) r < n and s <= n/2 (low S).
func parseDER(sig []byte) ([]byte, error) {
	if len(sig) < 8 || len(sig) > 72 {
		return nil, fmt.Errorf("DER signature must be 8 to 72 bytes, got %d", len(sig))
	}
	if sig[0] != 0x30 || int(sig[1]) != len(sig)-2 {
		return nil, errors.New("not a DER SEQUENCE of the signature's length")
	}
	rest := sig[2:]
	r, rest, err := derInteger(rest)
	if err != nil {
		return nil, fmt.Errorf("r: %v", err)
	}
	s, rest, err := derInteger(rest)
	if err != nil {
		return nil, fmt.Errorf("s: %v", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the DER SEQUENCE's integers", len(rest))
	}
	if !secp.BelowN(r) {
		return nil, errors.New("r is not below the curve order")
	}
	if !secp.LowS(s) {
		return nil, errors.New("s is in the upper half of the curve order (not fully canonical; use the low-S form)")
	}
	return append(r, s...), nil
}

// derInteger reads one positive, minimally encoded DER INTEGER and returns
// it as 32 big-endian bytes.
func derInteger(b []byte) (v, rest []byte, err error) {
	if len(b) < 3 || b[0] != 0x02 {
		return nil, nil, errors.New("not a DER INTEGER")
	}
	n := int(b[1])
	b = b[2:]
	if n < 1 || n > 33 || n > len(b) {
		return nil, nil, fmt.Errorf("bad DER INTEGER length %d", n)
	}
	x := b[:n]
	if x[0]&0x80 != 0 {
		return nil, nil, errors.New("negative DER INTEGER")
	}
	if x[0] == 0 {
		if n == 1 {
			return nil, nil, errors.New("zero")
		}
		if x[1]&0x80 == 0 {
			return nil, nil, errors.New("DER INTEGER with a superfluous leading zero")
		}
		x = x[1:]
	}
	if len(x) > 32 {
		return nil, nil, errors.New("DER INTEGER longer than 32 bytes")
	}
	v = make([]byte, 32)
	copy(v[32-len(x):], x)
	return v, b[n:], nil
}
