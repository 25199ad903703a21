package auth

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
)

// SchemeEd25519 is the name of the Ed25519 scheme: the signer is a 32-byte
// public key and the identifier its lowercase hex encoding.
const SchemeEd25519 = "ed25519"

type ed25519Scheme struct{}

func (ed25519Scheme) Name() string { return SchemeEd25519 }

func (ed25519Scheme) Verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != cmted25519.PubKeySize {
		return "", fmt.Errorf("%w: ed25519 public key must be %d bytes, got %d", ErrInvalidSigner, cmted25519.PubKeySize, len(signer))
	}
	if len(sig) != cmted25519.SignatureSize {
		return "", fmt.Errorf("%w: ed25519 signature must be %d bytes, got %d", ErrInvalidSignature, cmted25519.SignatureSize, len(sig))
	}
	// CometBFT verifies with ZIP-215 rules, which (unlike the standard
	// library) pin down exactly which edge-case signatures are valid. Using
	// the same verifier as CometBFT's own consensus means every node, on every
	// platform and version, agrees on validity.
	if !cmted25519.PubKey(signer).VerifySignature(msg, sig) {
		return "", fmt.Errorf("%w: ed25519 signature does not verify for public key %x", ErrInvalidSignature, signer)
	}
	return hex.EncodeToString(signer), nil
}

type ed25519Signer struct {
	priv ed25519.PrivateKey
	pub  []byte
}

// NewEd25519Signer returns a Signer for the ed25519 scheme. A key of the wrong
// length yields a signer whose Sign fails.
func NewEd25519Signer(priv ed25519.PrivateKey) Signer {
	s := ed25519Signer{}
	if len(priv) == ed25519.PrivateKeySize {
		s.priv = priv
		s.pub = priv.Public().(ed25519.PublicKey)
	}
	return s
}

func (s ed25519Signer) Scheme() string { return SchemeEd25519 }

func (s ed25519Signer) SignerID() []byte { return append([]byte(nil), s.pub...) }

func (s ed25519Signer) Sign(msg []byte) ([]byte, error) {
	if s.priv == nil {
		return nil, errors.New("ed25519 signer: private key must be 64 bytes")
	}
	return ed25519.Sign(s.priv, msg), nil
}
