// Command stellar is the stellar signature plugin: a raw Ed25519 signature
// by a Stellar account key over the idOS sign bytes themselves (no prefix,
// no hash), what stellar-base's Keypair.sign(data) and the SDKs' sign
// produce.
//
// A wallet's signMessage follows SEP-53 instead (a prefixed SHA-256); that
// is the separate scheme stellar_sep53 (sigplugins/stellar_sep53), not a
// second mode of this one: the scheme field says what was signed, so a
// transaction has exactly one interpretation and one Ed25519 check. Raw
// signing cannot be confused with a Stellar transaction signature, which
// covers a 32-byte hash, while the sign bytes are longer and start with
// "idOS transaction v1".
//
// The signer is the 32-byte Ed25519 public key and the identifier its
// G-address (SEP-23 strkey: version byte 6<<3, CRC16-XModem little-endian,
// base32 without padding). Verification uses the host's ed25519 (ZIP-215
// rules, as the node's native ed25519 scheme).
package main

import (
	"fmt"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/strkey"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o stellar.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "stellar"

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeEd25519,
		AddressFormat: "Stellar account id (G..., SEP-23 strkey of the Ed25519 key); raw signature over the message",
	}, verify)
}

func main() {}

func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 32 {
		return "", fmt.Errorf("%w: stellar signer must be a 32-byte Ed25519 public key, got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	if len(sig) != 64 {
		return "", fmt.Errorf("%w: stellar signature must be 64 bytes, got %d", sdk.ErrInvalidSignature, len(sig))
	}
	if !sdk.Ed25519Verify(signer, msg, sig) {
		return "", fmt.Errorf("%w: raw Ed25519 signature over the message does not verify for %s (a SEP-53 signMessage signature belongs to scheme stellar_sep53)", sdk.ErrInvalidSignature, strkey.AccountID(signer))
	}
	return strkey.AccountID(signer), nil
}
