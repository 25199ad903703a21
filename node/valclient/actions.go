package valclient

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"
)

// Action names of the validators module.
const (
	ActionJoin    = "validators.join"
	ActionApprove = "validators.approve"
	ActionLeave   = "validators.leave"
	ActionRemove  = "validators.remove"
)

// ApprovePayload is the payload of validators.approve.
type ApprovePayload struct {
	Candidate string `json:"candidate"`
}

// RemovePayload is the payload of validators.remove.
type RemovePayload struct {
	Validator string `json:"validator"`
}

// emptyPayload marshals to {}: join and leave carry no fields, and the
// module decodes a JSON object rather than null.
type emptyPayload struct{}

// Join asks for key's validator to become a validator. The request is
// pending until approved by enough voting power or until it expires.
func (c *Client) Join(ctx context.Context, key ed25519.PrivateKey) (Result, error) {
	return c.Submit(ctx, key, ActionJoin, emptyPayload{})
}

// Approve approves the pending join request of candidate (a validator id).
// key must belong to a current validator.
func (c *Client) Approve(ctx context.Context, key ed25519.PrivateKey, candidate string) (Result, error) {
	id, err := ParseID(candidate)
	if err != nil {
		return Result{}, fmt.Errorf("candidate: %w", err)
	}
	return c.Submit(ctx, key, ActionApprove, ApprovePayload{Candidate: id})
}

// Leave removes key's validator from the set.
func (c *Client) Leave(ctx context.Context, key ed25519.PrivateKey) (Result, error) {
	return c.Submit(ctx, key, ActionLeave, emptyPayload{})
}

// Remove proposes, or approves an existing proposal, to remove validator.
func (c *Client) Remove(ctx context.Context, key ed25519.PrivateKey, validator string) (Result, error) {
	id, err := ParseID(validator)
	if err != nil {
		return Result{}, fmt.Errorf("validator: %w", err)
	}
	return c.Submit(ctx, key, ActionRemove, RemovePayload{Validator: id})
}

// ParseID checks a validator id (64 hex characters: an ed25519 public key)
// and returns it in the canonical lowercase form the module compares.
func ParseID(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return "", fmt.Errorf("%q is not a validator public key: want %d hex characters", s, 2*ed25519.PublicKeySize)
	}
	return strings.ToLower(s), nil
}
