// Package client builds and signs transactions on the user's side and
// submits them to a node. It holds keys; the node never sees them.
package client

import (
	"encoding/json"
	"fmt"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/tx"
)

// Account signs transactions for one key on one chain and tracks its nonce.
// It is not safe for concurrent use.
type Account struct {
	Signer  auth.Signer
	ChainID string
	// Nonce is the nonce of the next transaction; set it from the node's
	// "/account" query when resuming.
	Nonce uint64
}

// NewAccount returns an account starting at nonce 0.
func NewAccount(s auth.Signer, chainID string) *Account {
	return &Account{Signer: s, ChainID: chainID}
}

// Build signs a transaction carrying action and payload (marshalled to JSON
// unless it already is a []byte) with the account's next nonce, and advances
// the nonce.
func (a *Account) Build(action string, payload any) ([]byte, error) {
	raw, ok := payload.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(payload); err != nil {
			return nil, fmt.Errorf("client: payload: %w", err)
		}
	}
	t := &tx.Tx{ChainID: a.ChainID, Nonce: a.Nonce, Action: action, Payload: raw}
	if err := tx.Sign(t, a.Signer); err != nil {
		return nil, err
	}
	b, err := t.Encode()
	if err != nil {
		return nil, err
	}
	a.Nonce++
	return b, nil
}
