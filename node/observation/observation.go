// Package observation is the contract between chain-grant drivers and the
// node: what a driver reports it saw on an external chain, and the one
// canonical encoding whose hash validators attest to (docs/spec/drivers.md).
//
// It imports nothing of the node, so the driver host, the drivers module and
// tools can all use it. Two validators agree on an observation exactly when
// their encodings are byte-equal, so everything that must be agreed on is in
// the encoding and nothing else is.
package observation

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/rlp"
)

// Version is the encoding's version, the first item of every encoding.
const Version = 1

// Kind says what happened to a grant on its chain.
type Kind string

const (
	// Added: the grant exists on the chain at the observed block.
	Added Kind = "added"
	// Deleted: the grant was removed on the chain at the observed block.
	Deleted Kind = "deleted"
)

// Limits on every field, so that one observation stays small whatever a
// driver returns.
const (
	MaxFieldBytes = 256
	MaxDataID     = 128
)

// ErrInvalid wraps every refusal of a malformed observation.
var ErrInvalid = errors.New("observation: invalid")

// Grant is one observation of an access grant on an external chain, at a
// block the driver's finality rule says is final.
type Grant struct {
	Kind Kind `json:"kind"`
	// Chain is the chain's identifier as its driver is configured (for EVM
	// chains CAIP-2, e.g. "eip155:1"; for NEAR "near:mainnet").
	Chain string `json:"chain"`
	// Contract is the grant contract's address as the chain writes it.
	Contract string `json:"contract"`
	Owner    string `json:"owner"`
	Grantee  string `json:"grantee"`
	DataID   string `json:"data_id"`
	// LockedUntil is the contract's lock, an unsigned decimal integer in the
	// contract's own unit (seconds on EVM chains, nanoseconds on NEAR).
	LockedUntil string `json:"locked_until"`
	// BlockNumber and BlockHash identify the final block the grant was
	// observed in; TxRef the transaction (and log index) that made it.
	BlockNumber uint64 `json:"block_number"`
	BlockHash   string `json:"block_hash"`
	TxRef       string `json:"tx_ref"`
}

// Validate checks the fields' shapes, not their truth: agreement of 2/3 of
// the voting power is what makes an observation true.
func (g Grant) Validate() error {
	if g.Kind != Added && g.Kind != Deleted {
		return fmt.Errorf("%w: kind %q, want %q or %q", ErrInvalid, g.Kind, Added, Deleted)
	}
	for _, f := range []struct{ name, v string }{
		{"chain", g.Chain}, {"contract", g.Contract}, {"owner", g.Owner}, {"grantee", g.Grantee},
		{"block_hash", g.BlockHash}, {"tx_ref", g.TxRef},
	} {
		if f.v == "" || len(f.v) > MaxFieldBytes {
			return fmt.Errorf("%w: %s must have 1 to %d bytes", ErrInvalid, f.name, MaxFieldBytes)
		}
		if strings.ContainsAny(f.v, " \t\r\n") {
			return fmt.Errorf("%w: %s contains white space", ErrInvalid, f.name)
		}
	}
	if g.DataID == "" || len(g.DataID) > MaxDataID {
		return fmt.Errorf("%w: data_id must have 1 to %d bytes", ErrInvalid, MaxDataID)
	}
	n, ok := new(big.Int).SetString(g.LockedUntil, 10)
	if !ok || n.Sign() < 0 || n.BitLen() > 256 || n.String() != g.LockedUntil {
		return fmt.Errorf("%w: locked_until %q is not a canonical unsigned decimal below 2^256", ErrInvalid, g.LockedUntil)
	}
	return nil
}

// wire is the RLP form: a list in the order of the spec.
type wire struct {
	Version     uint
	Kind        string
	Chain       string
	Contract    string
	Owner       string
	Grantee     string
	DataID      string
	LockedUntil string
	BlockNumber uint64
	BlockHash   string
	TxRef       string
}

// Encode returns the canonical encoding of a valid observation.
func (g Grant) Encode() ([]byte, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return rlp.EncodeToBytes(&wire{Version, string(g.Kind), g.Chain, g.Contract, g.Owner, g.Grantee, g.DataID,
		g.LockedUntil, g.BlockNumber, g.BlockHash, g.TxRef})
}

// Decode parses a canonical encoding; it refuses anything Encode would not
// have produced.
func Decode(b []byte) (Grant, error) {
	var w wire
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return Grant{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if w.Version != Version {
		return Grant{}, fmt.Errorf("%w: version %d, want %d", ErrInvalid, w.Version, Version)
	}
	g := Grant{Kind(w.Kind), w.Chain, w.Contract, w.Owner, w.Grantee, w.DataID, w.LockedUntil, w.BlockNumber, w.BlockHash, w.TxRef}
	if err := g.Validate(); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// Hash is the SHA-256 of the canonical encoding: what validators attest to.
func (g Grant) Hash() ([sha256.Size]byte, error) {
	b, err := g.Encode()
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}
