// Command eip191 is the eip191_wasm signature plugin: Ethereum personal_sign
// (EIP-191 version 0x45) with the same rules as the node's native eip191
// scheme (docs/spec/transactions.md): a 20-byte address signer, a 65-byte
// r‖s‖v signature with v 27/28 or 0/1, r and s in [1, n-1], low S, and the
// EIP-55 checksummed address as identifier.
package main

import (
	"bytes"
	"fmt"
	"strconv"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/eth"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o eip191.wasm .

// Scheme is the plugin's scheme name (the native scheme keeps "eip191").
const Scheme = "eip191_wasm"

func init() {
	sdk.RegisterSignature(sdk.Metadata{
		Scheme:        Scheme,
		KeyType:       sdk.KeyTypeSecp256k1,
		AddressFormat: "EIP-55 checksummed hex address (0x + 40 hex)",
	}, verify)
}

func main() {}

func verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != 20 {
		return "", fmt.Errorf("%w: eip191 signer must be a 20-byte address, got %d bytes", sdk.ErrInvalidSigner, len(signer))
	}
	got, err := eth.RecoverAddress("eip191", textHash(msg), sig)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(got, signer) {
		return "", fmt.Errorf("%w: eip191 signature recovers to %s, not to signer %s (signed by another key, or over a different message)", sdk.ErrInvalidSignature, eth.Checksum(got), eth.Checksum(signer))
	}
	return eth.Checksum(signer), nil
}

// textHash is keccak256("\x19Ethereum Signed Message:\n" + decimal len(msg) + msg).
func textHash(msg []byte) [32]byte {
	b := append([]byte("\x19Ethereum Signed Message:\n"+strconv.Itoa(len(msg))), msg...)
	return sdk.Keccak256(b)
}
