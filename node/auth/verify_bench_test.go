package auth

import (
	"crypto/ed25519"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// BenchmarkVerify measures one signature verification per scheme, as the
// node runs it (CheckTx), over a transaction-sized message.
func BenchmarkVerify(b *testing.B) {
	msg := []byte("idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\nPayload SHA-256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	edKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	edSigner := NewEd25519Signer(edKey)
	ethKey, _ := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	ethSigner := NewEIP191Signer(ethKey)
	reg := DefaultRegistry()
	for _, s := range []Signer{edSigner, ethSigner} {
		sig, err := s.Sign(msg)
		if err != nil {
			b.Fatal(err)
		}
		scheme, _ := reg.Lookup(s.Scheme())
		b.Run(s.Scheme(), func(b *testing.B) {
			for b.Loop() {
				if _, err := scheme.Verify(s.SignerID(), msg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("ed25519-stdlib-reference", func(b *testing.B) {
		sig := ed25519.Sign(edKey, msg)
		pub := edKey.Public().(ed25519.PublicKey)
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("invalid")
			}
		}
	})
}
