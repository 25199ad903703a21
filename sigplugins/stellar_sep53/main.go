// Command stellar_sep53 is the stellar_sep53 signature plugin: a Stellar
// wallet's signMessage as SEP-53 defines it
// (https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0053.md):
// an Ed25519 signature over SHA-256("Stellar Signed Message:\n" || message),
// the message being the idOS sign bytes.
//
// A raw Ed25519 signature over the message is the separate scheme stellar
// (sigplugins/stellar), not a second mode of this one, so a transaction has
// exactly one interpretation (see that plugin's comment).
//
// The signer is the 32-byte Ed25519 public key and the identifier its
// G-address (SEP-23 strkey). The identifier is the same as under stellar:
// one key is one account name in both schemes, but the two accounts
// (stellar:G... and stellar_sep53:G...) have separate nonces, as every
// scheme's do. Verification uses the host's ed25519 (ZIP-215 rules).
package main

import (
	"fmt"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/strkey"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o stellar_sep53.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "stellar_sep53"

// Prefix is SEP-53's fixed message prefix.
const Prefix = "Stellar Signed Message:\n"

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeEd25519,
		AddressFormat: "Stellar account id (G..., SEP-23 strkey of the Ed25519 key); SEP-53 signMessage",
	}, verify)
}

func main() {}

func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 32 {
		return "", fmt.Errorf("%w: stellar_sep53 signer must be a 32-byte Ed25519 public key, got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	if len(sig) != 64 {
		return "", fmt.Errorf("%w: stellar_sep53 signature must be 64 bytes, got %d", sdk.ErrInvalidSignature, len(sig))
	}
	h := messageHash(msg)
	if !sdk.Ed25519Verify(signer, h[:], sig) {
		return "", fmt.Errorf("%w: SEP-53 signature does not verify for %s (a raw signature over the message belongs to scheme stellar)", sdk.ErrInvalidSignature, strkey.AccountID(signer))
	}
	return strkey.AccountID(signer), nil
}

// messageHash is SHA-256(Prefix || msg), the 32 bytes SEP-53 signs.
func messageHash(msg []byte) [32]byte {
	b := make([]byte, 0, len(Prefix)+len(msg))
	b = append(b, Prefix...)
	b = append(b, msg...)
	return sdk.SHA256(b)
}
