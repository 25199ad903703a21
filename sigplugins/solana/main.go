// Command solana is the solana signature plugin: a Solana wallet's
// signMessage, i.e. a raw Ed25519 signature (RFC 8032, no prefix, no hash)
// over the message bytes. The signer is the 32-byte public key and the
// identifier its base58 (Bitcoin alphabet) encoding, the Solana address.
//
// Verification uses the host's ed25519 (ZIP-215 rules, as the node's native
// ed25519 scheme): every signature a standard RFC 8032 signer produces
// verifies.
package main

import (
	"github.com/mr-tron/base58"

	"encoding/hex"
	"fmt"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o solana.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "solana"

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeEd25519,
		AddressFormat: "base58 Ed25519 public key (Solana address)",
	}, verify)
}

func main() {}

func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 32 {
		return "", fmt.Errorf("%w: solana signer must be a 32-byte Ed25519 public key, got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	if len(sig) != 64 {
		return "", fmt.Errorf("%w: solana signature must be 64 bytes, got %d", sdk.ErrInvalidSignature, len(sig))
	}
	if !sdk.Ed25519Verify(signer, msg, sig) {
		return "", fmt.Errorf("%w: ed25519 signature does not verify for %s (public key %s)", sdk.ErrInvalidSignature, base58.Encode(signer), hex.EncodeToString(signer))
	}
	return base58.Encode(signer), nil
}
