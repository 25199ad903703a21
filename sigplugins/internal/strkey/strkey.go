// Package strkey encodes Stellar strkeys (SEP-23,
// https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0023.md)
// for the stellar and stellar_sep53 plugins. It only encodes: the plugins
// take raw key bytes and derive the address, they never parse one.
package strkey

import "encoding/base32"

// VersionAccountID is the version byte of an Ed25519 public key (account
// id, "G..."): key type 6 << 3, algorithm 0 (Ed25519).
const VersionAccountID = 6 << 3

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// AccountID is the G-address of a 32-byte Ed25519 public key.
func AccountID(pub []byte) string { return Encode(VersionAccountID, pub) }

// Encode is base32 (RFC 4648, no padding) of version || payload || CRC16
// (XModem) of the previous bytes, little-endian.
func Encode(version byte, payload []byte) string {
	b := make([]byte, 0, 1+len(payload)+2)
	b = append(b, version)
	b = append(b, payload...)
	c := CRC16XModem(b)
	b = append(b, byte(c), byte(c>>8))
	return b32.EncodeToString(b)
}

// CRC16XModem is CRC-16 with polynomial 0x1021, initial value 0, no
// reflection and no final XOR.
func CRC16XModem(b []byte) uint16 {
	var crc uint16
	for _, x := range b {
		crc ^= uint16(x) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
