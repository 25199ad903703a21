package auth

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// SchemeEIP191 is the name of the Ethereum personal_sign scheme (EIP-191
// version 0x45): the signer is a 20-byte address and the identifier its
// EIP-55 checksummed hex form.
const SchemeEIP191 = "eip191"

const (
	eip191SigLen = crypto.SignatureLength // r || s || v
	// Wallets emit v as 27/28 (Ethereum's legacy convention); some libraries
	// emit the raw recovery id 0/1. Both are accepted, nothing else.
	eip191VOffset = 27
)

type eip191Scheme struct{}

func (eip191Scheme) Name() string { return SchemeEIP191 }

func (eip191Scheme) Verify(signer, msg, sig []byte) (string, error) {
	if len(signer) != common.AddressLength {
		return "", fmt.Errorf("%w: eip191 signer must be a %d-byte address, got %d bytes", ErrInvalidSigner, common.AddressLength, len(signer))
	}
	if len(sig) != eip191SigLen {
		return "", fmt.Errorf("%w: eip191 signature must be %d bytes (r || s || v), got %d", ErrInvalidSignature, eip191SigLen, len(sig))
	}
	v := sig[64]
	if v >= eip191VOffset {
		v -= eip191VOffset
	}
	if v != 0 && v != 1 {
		return "", fmt.Errorf("%w: eip191 signature v must be 27, 28, 0 or 1, got %d", ErrInvalidSignature, sig[64])
	}
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:64])
	// Homestead rules: 0 < r, s < n and s <= n/2. Rejecting high-S removes
	// ECDSA malleability: otherwise (r, n-s) with flipped v is a second valid
	// signature for the same message and key.
	if !crypto.ValidateSignatureValues(v, r, s, true) {
		return "", fmt.Errorf("%w: eip191 signature r or s out of range (s must be in the lower half of the curve order)", ErrInvalidSignature)
	}
	rsv := make([]byte, eip191SigLen)
	copy(rsv, sig[:64])
	rsv[64] = v
	pub, err := crypto.SigToPub(textHash(msg), rsv)
	if err != nil {
		return "", fmt.Errorf("%w: eip191 public key recovery failed: %v", ErrInvalidSignature, err)
	}
	got := crypto.PubkeyToAddress(*pub)
	want := common.BytesToAddress(signer)
	if !bytes.Equal(got[:], want[:]) {
		return "", fmt.Errorf("%w: eip191 signature recovers to %s, not to signer %s (signed by another key, or over a different message)", ErrInvalidSignature, got.Hex(), want.Hex())
	}
	return want.Hex(), nil
}

// textHash is the EIP-191 version 0x45 (personal_sign) digest:
// keccak256("\x19Ethereum Signed Message:\n" + decimal len(msg) + msg).
// It equals go-ethereum's accounts.TextHash, computed here so that consensus
// code does not import the accounts (wallet) package tree.
func textHash(msg []byte) []byte {
	prefix := "\x19Ethereum Signed Message:\n" + strconv.Itoa(len(msg))
	return crypto.Keccak256([]byte(prefix), msg)
}

type eip191Signer struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

// NewEIP191Signer returns a Signer for the eip191 scheme that signs like a
// wallet's personal_sign: v is 27 or 28. A nil key yields a signer whose Sign
// fails.
func NewEIP191Signer(key *ecdsa.PrivateKey) Signer {
	s := eip191Signer{key: key}
	if key != nil {
		s.addr = crypto.PubkeyToAddress(key.PublicKey)
	}
	return s
}

func (s eip191Signer) Scheme() string { return SchemeEIP191 }

func (s eip191Signer) SignerID() []byte { return s.addr.Bytes() }

func (s eip191Signer) Sign(msg []byte) ([]byte, error) {
	if s.key == nil {
		return nil, errors.New("eip191 signer: private key is nil")
	}
	sig, err := crypto.Sign(textHash(msg), s.key)
	if err != nil {
		return nil, fmt.Errorf("eip191 signer: %w", err)
	}
	sig[64] += eip191VOffset
	return sig, nil
}
