// Command nep413 is the nep413 signature plugin: a NEAR wallet's signMessage
// (NEP-413, https://github.com/near/NEPs/blob/master/neps/nep-0413.md) over
// the idOS sign bytes.
//
// NEP-413 signs a structured payload, not bare text. The idOS mapping fixes
// every field from what the node passes to Verify, so a transaction has
// exactly one payload:
//
//   - message: the sign bytes (UTF-8 text, docs/spec/transactions.md);
//   - nonce: SHA-256(sign bytes), 32 bytes;
//   - recipient: "idos.network" (Recipient);
//   - callbackUrl: None if the signature field is the 64-byte Ed25519
//     signature alone, else Some(the UTF-8 bytes after it). Redirect wallets
//     sign the callback URL the app passed; browser wallets sign None.
//
// The signed bytes are SHA-256(borsh(u32 2^31+413) || borsh(payload)) and the
// signature is Ed25519 over those 32 bytes (host ed25519, ZIP-215 rules).
//
// The signer is the 32-byte Ed25519 public key (the bytes of NEAR's
// "ed25519:<base58>" key string). The identifier is the key's NEAR implicit
// account id, its 64-character lowercase hex. A named account (alice.near)
// cannot be checked without chain state, so a named-account user is known by
// the implicit id of the access key they signed with.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	"github.com/mr-tron/base58"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o nep413.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "nep413"

// Recipient is the NEP-413 recipient of every idOS signature.
const Recipient = "idos.network"

// Tag is NEP-413's borsh u32 prefix, 2^31 + 413: no NEAR transaction starts
// with it, so a signed message is never a valid transaction.
const Tag uint32 = 1<<31 + 413

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeEd25519,
		AddressFormat: "NEAR implicit account id (64 lowercase hex of the Ed25519 key)",
	}, verify)
}

func main() {}

func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 32 {
		return "", fmt.Errorf("%w: nep413 signer must be a 32-byte Ed25519 public key, got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	if len(sig) < 64 {
		return "", fmt.Errorf("%w: nep413 signature must be 64 bytes, optionally followed by the signed callbackUrl, got %d", sdk.ErrInvalidSignature, len(sig))
	}
	if !utf8.Valid(msg) {
		return "", fmt.Errorf("%w: nep413 signs a text message; the message is not UTF-8", sdk.ErrInvalidSignature)
	}
	var callback *string
	if tail := sig[64:]; len(tail) > 0 {
		if !utf8.Valid(tail) {
			return "", fmt.Errorf("%w: nep413 callbackUrl (the bytes after the 64-byte signature) is not UTF-8", sdk.ErrInvalidSignature)
		}
		s := string(tail)
		callback = &s
	}
	nonce := sdk.SHA256(msg)
	h := payloadHash(msg, nonce, Recipient, callback)
	if !sdk.Ed25519Verify(signer, h[:], sig[:64]) {
		return "", fmt.Errorf("%w: NEP-413 signature (recipient %q, nonce SHA-256 of the message) does not verify for ed25519:%s", sdk.ErrInvalidSignature, Recipient, base58.Encode(signer))
	}
	return hex.EncodeToString(signer), nil
}

// payloadHash is SHA-256(borsh(Tag) || borsh({message, nonce, recipient,
// callbackUrl})): borsh writes a u32 little-endian, a string as its u32
// byte length then the bytes, [u8; 32] as is, and Option as 0 (None) or 1
// followed by the value.
func payloadHash(message []byte, nonce [32]byte, recipient string, callbackURL *string) [32]byte {
	n := 4 + 4 + len(message) + 32 + 4 + len(recipient) + 1
	if callbackURL != nil {
		n += 4 + len(*callbackURL)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, Tag)
	b = appendString(b, message)
	b = append(b, nonce[:]...)
	b = appendString(b, []byte(recipient))
	if callbackURL == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendString(b, []byte(*callbackURL))
	}
	return sdk.SHA256(b)
}

func appendString(b, s []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
