// Command eip712 is the eip712 signature plugin: Ethereum typed-data
// signatures (EIP-712, eth_signTypedData_v4) over a fixed idOS type that
// carries the node's sign bytes as one string, so the wallet prompt shows
// the transaction text (docs/spec/schemes.md#eip712).
//
// Typed data (fixed; any change is a new scheme name):
//
//	domain:      EIP712Domain(string name,string version)
//	             {name: "idOS", version: "1"}   (no chainId, no verifyingContract)
//	primaryType: IdosTransaction(string text)
//	             {text: <sign bytes>}
//
// The signed digest is keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖
// hashStruct(message)), where domainSeparator = keccak256(typeHash(EIP712Domain)
// ‖ keccak256("idOS") ‖ keccak256("1")) and hashStruct(message) =
// keccak256(typeHash(IdosTransaction) ‖ keccak256(sign bytes)).
//
// Signer, signature and identifier follow the native eip191 rules: a 20-byte
// address, a 65-byte r‖s‖v signature with v 27/28 or 0/1, r and s in
// [1, n-1], low S, and the EIP-55 checksummed address as identifier.
package main

import (
	"bytes"
	"fmt"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/eth"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o eip712.wasm .

// Scheme is the plugin's scheme name.
const Scheme = "eip712"

// The fixed typed data. Wallets render the domain's name and version and the
// message's text field.
const (
	DomainType    = "EIP712Domain(string name,string version)"
	DomainName    = "idOS"
	DomainVersion = "1"
	PrimaryType   = "IdosTransaction"
	TxType        = "IdosTransaction(string text)"
)

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeSecp256k1,
		AddressFormat: "EIP-55 checksummed hex address (0x + 40 hex)",
	}, verify)
}

func main() {}

// verify checks, in order:
//
//	a) signer is 20 bytes (else ErrInvalidSigner);
//	b) sig is 65 bytes r‖s‖v, v in {27, 28, 0, 1}, r and s in [1, n-1] and
//	   s <= n/2 (else ErrInvalidSignature);
//	c) the key recovered from the typed-data digest of msg hashes to signer
//	   (else ErrInvalidSignature: another key, message, domain or type).
func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 20 {
		return "", fmt.Errorf("%w: eip712 signer must be a 20-byte address, got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	got, err := eth.RecoverAddress("eip712", TypedDataHash(msg), sig)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(got, signer) {
		return "", fmt.Errorf("%w: eip712 signature recovers to %s, not to signer %s (signed by another key, or over other typed data: the domain must be {name: %q, version: %q} and the type %s)",
			sdk.ErrInvalidSignature, eth.Checksum(got), eth.Checksum(signer), DomainName, DomainVersion, TxType)
	}
	return eth.Checksum(signer), nil
}

// TypedDataHash is the EIP-712 digest of the idOS typed data carrying msg.
func TypedDataHash(msg []byte) [32]byte {
	return Digest(DomainSeparator(), StructHash(msg))
}

// Digest is keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash).
func Digest(domainSeparator, structHash [32]byte) [32]byte {
	b := make([]byte, 0, 66)
	b = append(b, 0x19, 0x01)
	b = append(b, domainSeparator[:]...)
	b = append(b, structHash[:]...)
	return sdk.Keccak256(b)
}

// DomainSeparator is hashStruct(EIP712Domain{name: "idOS", version: "1"}).
func DomainSeparator() [32]byte {
	return hashWords(sdk.Keccak256([]byte(DomainType)), sdk.Keccak256([]byte(DomainName)), sdk.Keccak256([]byte(DomainVersion)))
}

// StructHash is hashStruct(IdosTransaction{text: msg}); a string member is
// encoded as the keccak256 of its bytes.
func StructHash(msg []byte) [32]byte {
	return hashWords(sdk.Keccak256([]byte(TxType)), sdk.Keccak256(msg))
}

func hashWords(words ...[32]byte) [32]byte {
	b := make([]byte, 0, 32*len(words))
	for _, w := range words {
		b = append(b, w[:]...)
	}
	return sdk.Keccak256(b)
}
