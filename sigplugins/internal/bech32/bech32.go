// Package bech32 is Bech32 (BIP-173) and Bech32m (BIP-350) for the signature
// plugins (adr036, bip137).
//
// Why hand-written: a plugin is a self-contained Wasm guest that should stay
// small and import only the standard library (sdk-wasm/README.md). The usual
// Go implementations live in large modules (btcutil, cosmos-sdk) that the node
// does not otherwise depend on; the algorithm is sixty lines and is pinned
// here by the BIPs' own test vectors (bech32_test.go).
package bech32

import (
	"errors"
	"fmt"
	"strings"
)

// Variant is the checksum constant: Bech32 (BIP-173) or Bech32m (BIP-350).
type Variant int

const (
	Bech32  Variant = 1
	Bech32m Variant = 2
)

const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// ErrInvalid is wrapped by every Decode and ConvertBits error.
var ErrInvalid = errors.New("invalid bech32")

func (v Variant) constant() uint32 {
	if v == Bech32m {
		return 0x2bc830a3
	}
	return 1
}

func polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func hrpExpand(hrp string) []byte {
	out := make([]byte, 0, 2*len(hrp)+1)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

// Encode returns the lowercase Bech32 or Bech32m string of hrp (lowercase
// ASCII 33..126, no validation beyond that) and 5-bit groups data.
func Encode(hrp string, data []byte, v Variant) string {
	values := append(hrpExpand(hrp), data...)
	pm := polymod(append(values, 0, 0, 0, 0, 0, 0)) ^ v.constant()
	var b strings.Builder
	b.Grow(len(hrp) + 1 + len(data) + 6)
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, d := range data {
		b.WriteByte(charset[d])
	}
	for i := range 6 {
		b.WriteByte(charset[(pm>>(5*(5-i)))&31])
	}
	return b.String()
}

// Decode parses s (at most 90 characters, one case, BIP-173 rules) and
// returns its lowercase human-readable part, its 5-bit data groups without the
// checksum, and the checksum's variant.
func Decode(s string) (hrp string, data []byte, v Variant, err error) {
	if len(s) > 90 {
		return "", nil, 0, fmt.Errorf("%w: %d characters (at most 90)", ErrInvalid, len(s))
	}
	lower, upper := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			return "", nil, 0, fmt.Errorf("%w: character %q at %d", ErrInvalid, c, i)
		}
		lower = lower || c >= 'a' && c <= 'z'
		upper = upper || c >= 'A' && c <= 'Z'
	}
	if lower && upper {
		return "", nil, 0, fmt.Errorf("%w: mixed case", ErrInvalid)
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || sep+7 > len(s) {
		return "", nil, 0, fmt.Errorf("%w: no separator, empty human-readable part or checksum too short", ErrInvalid)
	}
	hrp = s[:sep]
	data = make([]byte, 0, len(s)-sep-1)
	for i := sep + 1; i < len(s); i++ {
		d := strings.IndexByte(charset, s[i])
		if d < 0 {
			return "", nil, 0, fmt.Errorf("%w: character %q is not in the bech32 alphabet", ErrInvalid, s[i])
		}
		data = append(data, byte(d))
	}
	switch polymod(append(hrpExpand(hrp), data...)) {
	case Bech32.constant():
		v = Bech32
	case Bech32m.constant():
		v = Bech32m
	default:
		return "", nil, 0, fmt.Errorf("%w: checksum mismatch", ErrInvalid)
	}
	return hrp, data[:len(data)-6], v, nil
}

// ConvertBits regroups data from groups of from bits to groups of to bits
// (8→5 with pad to encode, 5→8 without pad to decode). Without pad, leftover
// bits must be fewer than from and zero (BIP-173).
func ConvertBits(data []byte, from, to uint, pad bool) ([]byte, error) {
	var acc, bits uint
	maxv := uint(1)<<to - 1
	out := make([]byte, 0, len(data)*int(from)/int(to)+1)
	for _, d := range data {
		if uint(d)>>from != 0 {
			return nil, fmt.Errorf("%w: value %d does not fit in %d bits", ErrInvalid, d, from)
		}
		acc = acc<<from | uint(d)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(to-bits)&maxv))
		}
	} else if bits >= from || acc<<(to-bits)&maxv != 0 {
		return nil, fmt.Errorf("%w: non-zero or excess padding", ErrInvalid)
	}
	return out, nil
}
