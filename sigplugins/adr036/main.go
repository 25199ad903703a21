// Command adr036 is the adr036 signature plugin: Cosmos ADR-036 arbitrary
// message signing (Keplr's signArbitrary, Leap, Cosmostation, CosmJS' amino
// signers) with a secp256k1 key and the Cosmos Hub address prefix "cosmos"
// (docs/spec/schemes.md#adr036).
//
// The wallet signs SHA-256 of the amino JSON sign document (keys sorted, no
// spaces; the serialization CosmJS' serializeSignDoc and the Cosmos SDK's
// legacy amino JSON produce):
//
//	{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"",
//	 "msgs":[{"type":"sign/MsgSignData","value":{"data":"<base64(msg)>","signer":"<address>"}}],
//	 "sequence":"0"}
//
// where msg is the node's sign bytes, base64 is standard with padding, and
// address is bech32("cosmos", RIPEMD-160(SHA-256(pubkey))), also the
// identifier. The signer is the 33-byte compressed public key (the wallet
// returns it next to the signature); the signature is the 64-byte r‖s with
// low S (the Cosmos SDK and Keplr refuse high S too).
//
// The prefix is fixed per plugin, not an input: it is inside the signed
// document (a signature for osmo1… does not verify as cosmos1…) and part of
// the identifier, and the ABI passes no configuration to a plugin. A chain
// with another prefix is another plugin: copy this directory and change
// Scheme and HRP.
package main

import (
	"encoding/base64"
	"fmt"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/bech32"
	"github.com/idos-network/idos-node/sigplugins/internal/secp"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o adr036.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "adr036"

// HRP is the bech32 human-readable part of the signer address.
const HRP = "cosmos"

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeSecp256k1,
		AddressFormat: "bech32 account address, prefix cosmos (cosmos1…)",
	}, verify)
}

func main() {}

// verify checks, in order:
//
//	a) signer is a 33-byte compressed key, prefix 02 or 03 (else ErrInvalidSigner);
//	b) msg is not empty: ADR-036 data must not be (else ErrInvalidSignature);
//	c) sig is 64 bytes r‖s with r, s in [1, n-1] and s <= n/2 (else ErrInvalidSignature);
//	d) sig verifies for signer over SHA-256 of SignDoc(Address(signer), msg)
//	   (else ErrInvalidSignature: another key, message, prefix or document).
func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 33 || (signer[0] != 2 && signer[0] != 3) {
		return "", fmt.Errorf("%w: adr036 signer must be a 33-byte compressed secp256k1 public key (02 or 03 prefix), got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	if len(msg) == 0 {
		return "", fmt.Errorf("%w: adr036 data must not be empty", sdk.ErrInvalidSignature)
	}
	if len(sig) != 64 {
		return "", fmt.Errorf("%w: adr036 signature must be 64 bytes (r || s), got %d", sdk.ErrInvalidSignature, len(sig))
	}
	if !secp.CanonicalRS(sig) {
		return "", fmt.Errorf("%w: adr036 signature r or s out of range (s must be in the lower half of the curve order)", sdk.ErrInvalidSignature)
	}
	addr := Address(signer)
	digest := sdk.SHA256(SignDoc(addr, msg))
	if !sdk.Secp256k1Verify(digest[:], sig, signer) {
		return "", fmt.Errorf("%w: adr036 signature does not verify for %s over the ADR-036 document (signed by another key, over another message, or for another chain prefix or document)", sdk.ErrInvalidSignature, addr)
	}
	return addr, nil
}

// Address is the bech32 account address of a compressed public key:
// bech32(HRP, RIPEMD-160(SHA-256(pub))).
func Address(pub []byte) string {
	sh := sdk.SHA256(pub)
	h := sdk.RIPEMD160(sh[:])
	data, err := bech32.ConvertBits(h[:], 8, 5, true)
	if err != nil {
		panic(err) // 8-bit input always converts
	}
	return bech32.Encode(HRP, data, bech32.Bech32)
}

// SignDoc is the canonical amino JSON of the ADR-036 StdSignDoc for signer
// (a bech32 address) and data. Neither base64 nor bech32 has a character
// JSON or CosmJS would escape, so plain concatenation is the serialization.
func SignDoc(signer string, data []byte) []byte {
	return []byte(`{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"",` +
		`"msgs":[{"type":"sign/MsgSignData","value":{"data":"` + base64.StdEncoding.EncodeToString(data) +
		`","signer":"` + signer + `"}}],"sequence":"0"}`)
}
