// Command bip137 is the bip137 signature plugin: Bitcoin signed messages
// ("Sign Message" in Bitcoin Core, Electrum, Sparrow, Trezor, Ledger, …)
// with the BIP-137 header byte, for mainnet single-key addresses
// (docs/spec/schemes.md#bip137).
//
// The signer is the address as ASCII text, the signature the 65 bytes the
// wallet's base64 output decodes to: a header byte then r‖s. The digest is
//
//	SHA-256(SHA-256(0x18 ‖ "Bitcoin Signed Message:\n" ‖ varint(len(msg)) ‖ msg))
//
// with Bitcoin's CompactSize varint. The header is 27 + recovery id + 4·kind,
// kind 0 P2PKH uncompressed key, 1 P2PKH compressed key, 2 P2SH-P2WPKH,
// 3 P2WPKH. Supported addresses and the headers each accepts:
//
//	P2PKH        1…        27–30 (uncompressed key) or 31–34 (compressed key)
//	P2SH-P2WPKH  3…        35–38, or 31–34 (Electrum-style)
//	P2WPKH       bc1q… (20-byte program)  39–42, or 31–34 (Electrum-style)
//
// A P2SH address is taken to wrap P2WPKH (the only single-key P2SH a message
// signature can prove). Refused as invalid signers, each with its reason:
// testnet and regtest addresses, P2WSH, Taproot and later witness versions
// (they need BIP-322), other base58 versions, bad checksums, mixed-case
// bech32. The identifier is the address, bech32 in lowercase.
//
// Stricter than Bitcoin Core's verifymessage: s must be in the lower half of
// the curve order (every wallet signs low-S; it removes the malleable twin),
// and recovery ids 2 and 3 (r ≥ n, probability about 2^-128) are refused.
package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/bech32"
	"github.com/idos-network/idos-node/sigplugins/internal/secp"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o bip137.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "bip137"

// MessagePrefix is Bitcoin's message magic, its length byte included.
const MessagePrefix = "\x18Bitcoin Signed Message:\n"

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeSecp256k1,
		AddressFormat: "Bitcoin mainnet address: P2PKH (1…), P2SH-P2WPKH (3…) or P2WPKH (bc1q…, lowercase)",
	}, verify)
}

func main() {}

// AddrType is a supported address type.
type AddrType int

const (
	P2PKH AddrType = iota
	P2SHP2WPKH
	P2WPKH
)

func (t AddrType) String() string {
	return [...]string{"P2PKH", "P2SH-P2WPKH", "P2WPKH"}[t]
}

// Address is a parsed signer address.
type Address struct {
	Type AddrType
	Hash [20]byte // the key hash (P2PKH, P2WPKH) or the script hash (P2SH)
}

// String is the canonical text: base58check, or lowercase bech32.
func (a Address) String() string {
	switch a.Type {
	case P2WPKH:
		d, err := bech32.ConvertBits(a.Hash[:], 8, 5, true)
		if err != nil {
			panic(err) // 8-bit input always converts
		}
		return bech32.Encode("bc", append([]byte{0}, d...), bech32.Bech32)
	case P2SHP2WPKH:
		return base58Check(0x05, a.Hash[:])
	default:
		return base58Check(0x00, a.Hash[:])
	}
}

// header kinds (header = 27 + recovery id + 4·kind).
const (
	kindUncompressed = 0
	kindCompressed   = 1
	kindP2SHP2WPKH   = 2
	kindP2WPKH       = 3
)

// verify checks, in order:
//
//	a) signer parses as a supported address (else ErrInvalidSigner, with the reason);
//	b) sig is 65 bytes, its header in 27–42 and allowed for the address type,
//	   its recovery id 0 or 1, r and s in [1, n-1] and s <= n/2 (else ErrInvalidSignature);
//	c) the key recovered from the message digest, hashed as the header says,
//	   gives the address's hash (else ErrInvalidSignature).
func verify(signer, msg, sig []byte) (string, error) {
	addr, err := ParseAddress(string(signer))
	if err != nil {
		return "", err
	}
	if len(sig) != 65 {
		return "", fmt.Errorf("%w: bip137 signature must be 65 bytes (header || r || s, the wallet's base64 decoded), got %d", sdk.ErrInvalidSignature, len(sig))
	}
	h := sig[0]
	if h < 27 || h > 42 {
		return "", fmt.Errorf("%w: bip137 header byte must be 27-42, got %d", sdk.ErrInvalidSignature, h)
	}
	kind, rec := (h-27)>>2, (h-27)&3
	if !headerAllowed(addr.Type, kind) {
		return "", fmt.Errorf("%w: bip137 header byte %d is for %s, but the address is %s", sdk.ErrInvalidSignature, h, kindName(kind), addr.Type)
	}
	if rec > 1 {
		return "", fmt.Errorf("%w: bip137 recovery id %d (header %d) is not supported, only 0 and 1", sdk.ErrInvalidSignature, rec, h)
	}
	if !secp.CanonicalRS(sig[1:]) {
		return "", fmt.Errorf("%w: bip137 signature r or s out of range (s must be in the lower half of the curve order)", sdk.ErrInvalidSignature)
	}
	rsv := make([]byte, 65)
	copy(rsv, sig[1:])
	rsv[64] = rec
	digest := MessageHash(msg)
	pub, err := sdk.Secp256k1Recover(digest[:], rsv)
	if err != nil {
		return "", fmt.Errorf("%w: bip137 public key recovery failed", sdk.ErrInvalidSignature)
	}
	if kind != kindUncompressed {
		pub = secp.Compress(pub)
	}
	got := Address{Type: addr.Type, Hash: hash160(pub)}
	if addr.Type == P2SHP2WPKH {
		got.Hash = hash160(append([]byte{0x00, 0x14}, got.Hash[:]...))
	}
	if got.Hash != addr.Hash {
		return "", fmt.Errorf("%w: bip137 signature is by %s, not by %s (signed by another key, over another message, or with another header byte)", sdk.ErrInvalidSignature, got, addr)
	}
	return addr.String(), nil
}

func headerAllowed(t AddrType, kind byte) bool {
	switch t {
	case P2PKH:
		return kind == kindUncompressed || kind == kindCompressed
	case P2SHP2WPKH:
		return kind == kindP2SHP2WPKH || kind == kindCompressed
	default:
		return kind == kindP2WPKH || kind == kindCompressed
	}
}

func kindName(kind byte) string {
	return [...]string{"P2PKH with an uncompressed key", "P2PKH with a compressed key", "P2SH-P2WPKH", "P2WPKH"}[kind]
}

// ParseAddress parses a supported mainnet address. Every error wraps
// sdk.ErrInvalidSigner.
func ParseAddress(s string) (Address, error) {
	bad := func(format string, args ...any) (Address, error) {
		return Address{}, fmt.Errorf("%w: bip137 signer %q: "+format, append([]any{sdk.ErrInvalidSigner, s}, args...)...)
	}
	if s == "" || len(s) > 90 {
		return bad("want a Bitcoin address of 1 to 90 characters")
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "bc1") || strings.HasPrefix(lower, "tb1") || strings.HasPrefix(lower, "bcrt1") {
		hrp, data, variant, err := bech32.Decode(s)
		if err != nil {
			return bad("%v", err)
		}
		if hrp != "bc" {
			return bad("only mainnet (bc1) addresses are supported, not %q", hrp)
		}
		if len(data) == 0 || data[0] > 16 {
			return bad("no valid witness version")
		}
		if data[0] != 0 {
			return bad("witness version %d (Taproot and later) needs BIP-322 message signing, which is not supported", data[0])
		}
		if variant != bech32.Bech32 {
			return bad("a witness version 0 address must use the bech32 checksum, not bech32m")
		}
		prog, err := bech32.ConvertBits(data[1:], 5, 8, false)
		if err != nil {
			return bad("%v", err)
		}
		switch len(prog) {
		case 20:
			a := Address{Type: P2WPKH}
			copy(a.Hash[:], prog)
			return a, nil
		case 32:
			return bad("P2WSH (a script, not a single key) is not supported")
		default:
			return bad("witness program of %d bytes", len(prog))
		}
	}
	raw, err := base58.Decode(s)
	if err != nil {
		return bad("not base58: %v", err)
	}
	if len(raw) != 25 {
		return bad("base58check address must decode to 25 bytes, got %d", len(raw))
	}
	if sum := checksum(raw[:21]); !bytes.Equal(sum[:], raw[21:]) {
		return bad("base58check checksum mismatch")
	}
	var a Address
	copy(a.Hash[:], raw[1:21])
	switch raw[0] {
	case 0x00:
		a.Type = P2PKH
	case 0x05:
		a.Type = P2SHP2WPKH
	case 0x6f, 0xc4:
		return bad("only mainnet addresses are supported (this is testnet or regtest)")
	default:
		return bad("unknown base58 version byte 0x%02x", raw[0])
	}
	return a, nil
}

// MessageHash is the double SHA-256 of the prefixed message.
func MessageHash(msg []byte) [32]byte {
	b := make([]byte, 0, len(MessagePrefix)+9+len(msg))
	b = append(b, MessagePrefix...)
	b = appendVarint(b, uint64(len(msg)))
	b = append(b, msg...)
	h := sdk.SHA256(b)
	return sdk.SHA256(h[:])
}

// appendVarint appends Bitcoin's CompactSize encoding of n.
func appendVarint(b []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(b, byte(n))
	case n <= 0xffff:
		return append(b, 0xfd, byte(n), byte(n>>8))
	case n <= 0xffffffff:
		return append(b, 0xfe, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	default:
		return append(b, 0xff, byte(n), byte(n>>8), byte(n>>16), byte(n>>24), byte(n>>32), byte(n>>40), byte(n>>48), byte(n>>56))
	}
}

func hash160(b []byte) [20]byte {
	h := sdk.SHA256(b)
	return sdk.RIPEMD160(h[:])
}

func checksum(payload []byte) [4]byte {
	h := sdk.SHA256(payload)
	h = sdk.SHA256(h[:])
	return [4]byte(h[:4])
}

func base58Check(version byte, hash []byte) string {
	b := append([]byte{version}, hash...)
	sum := checksum(b)
	return base58.Encode(append(b, sum[:]...))
}
