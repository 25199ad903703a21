package client

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/nacl/box"
)

// Credential contents are end-to-end encrypted with NaCl box
// (X25519, XSalsa20-Poly1305): the encryptor's key pair and the recipient's
// public key. The stored form is base64(nonce(24) | box), the encryptor's
// public key travels beside it (encryptor_public_key), so the recipient can
// open it with its private key. Nodes only ever see this ciphertext.

// EncryptionKey is an X25519 key pair.
type EncryptionKey struct {
	Public, Private [32]byte
}

// NewEncryptionKey draws a key pair from r (crypto/rand if nil).
func NewEncryptionKey(r io.Reader) (*EncryptionKey, error) {
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := box.GenerateKey(r)
	if err != nil {
		return nil, err
	}
	return &EncryptionKey{Public: *pub, Private: *priv}, nil
}

// ErrNoEncryptionKey is returned by Seal and Open of a nil key: a wallet
// signing elsewhere (External) leaves no encryption key here.
var ErrNoEncryptionKey = errors.New("client: no encryption key (an external wallet signs, but idOS encryption keys are derived from keys held here)")

// PublicBase64 is the public key as the data model stores it ("" for nil).
func (k *EncryptionKey) PublicBase64() string {
	if k == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(k.Public[:])
}

// Seal encrypts plaintext from k to the recipient's public key.
func (k *EncryptionKey) Seal(plaintext []byte, recipient [32]byte) (string, error) {
	if k == nil {
		return "", ErrNoEncryptionKey
	}
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	out := box.Seal(nonce[:], plaintext, &nonce, &recipient, &k.Private)
	return base64.StdEncoding.EncodeToString(out), nil
}

// ErrDecrypt is returned when a ciphertext does not open with the key.
var ErrDecrypt = errors.New("client: cannot decrypt: wrong key or corrupted content")

// Open decrypts content sealed to k by the holder of encryptor.
func (k *EncryptionKey) Open(content string, encryptor [32]byte) ([]byte, error) {
	if k == nil {
		return nil, ErrNoEncryptionKey
	}
	b, err := base64.StdEncoding.DecodeString(content)
	if err != nil || len(b) < 24+box.Overhead {
		return nil, fmt.Errorf("%w: not a sealed box", ErrDecrypt)
	}
	var nonce [24]byte
	copy(nonce[:], b[:24])
	out, ok := box.Open(nil, b[24:], &nonce, &encryptor, &k.Private)
	if !ok {
		return nil, ErrDecrypt
	}
	return out, nil
}

// ParseKey32 decodes a base64 32-byte public key.
func ParseKey32(s string) ([32]byte, error) {
	var k [32]byte
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return k, fmt.Errorf("client: %q is not a base64 32-byte key", s)
	}
	copy(k[:], b)
	return k, nil
}
