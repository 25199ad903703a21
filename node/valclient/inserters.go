package valclient

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module/idos"
)

// Actions and queries of inserters by approval (docs/spec/data-model.md).
const (
	ActionProposeInserter = "idos.propose_inserter"
	ActionApproveInserter = "idos.approve_inserter"
	ActionRemoveInserter  = "idos.remove_inserter"

	QueryInserters         = "/idos.inserters"
	QueryInserterProposals = "/idos.inserter_proposals"
)

// ParseAccountID checks an account id (scheme:identifier) and returns it as
// the node compares it with a sender: an eip191 address in its EIP-55
// checksummed form, so that a lowercase address names the same inserter,
// and an ed25519 public key in lowercase hex. Other schemes (plugins) are
// returned as written.
func ParseAccountID(s string) (string, error) {
	scheme, ident, ok := strings.Cut(s, ":")
	if !ok || scheme == "" || ident == "" {
		return "", fmt.Errorf("%q is not an account id: want scheme:identifier, e.g. eip191:0x… or ed25519:<64 hex>", s)
	}
	switch scheme {
	case auth.SchemeEIP191:
		if !common.IsHexAddress(ident) || !strings.HasPrefix(ident, "0x") {
			return "", fmt.Errorf("%q: an eip191 identifier is a 0x-prefixed 20-byte hex address", s)
		}
		ident = common.HexToAddress(ident).Hex()
	case auth.SchemeEd25519:
		if _, err := ParseID(ident); err != nil {
			return "", fmt.Errorf("%q: an ed25519 identifier is the public key in hex, %d characters", s, 2*ed25519.PublicKeySize)
		}
		ident = strings.ToLower(ident)
	}
	return scheme + ":" + ident, nil
}

func (c *Client) inserterTx(ctx context.Context, key ed25519.PrivateKey, action, account string) (Result, error) {
	id, err := ParseAccountID(account)
	if err != nil {
		return Result{}, fmt.Errorf("inserter: %w", err)
	}
	return c.Submit(ctx, key, action, idos.InserterPayload{Inserter: id})
}

// ProposeInserter proposes adding account as an inserter; the proposal
// counts as key's approval. key must belong to a current validator.
func (c *Client) ProposeInserter(ctx context.Context, key ed25519.PrivateKey, account string) (Result, error) {
	return c.inserterTx(ctx, key, ActionProposeInserter, account)
}

// ApproveInserter approves the open proposal to add account.
func (c *Client) ApproveInserter(ctx context.Context, key ed25519.PrivateKey, account string) (Result, error) {
	return c.inserterTx(ctx, key, ActionApproveInserter, account)
}

// RemoveInserter proposes removing the inserter account, or approves the
// open proposal to remove it.
func (c *Client) RemoveInserter(ctx context.Context, key ed25519.PrivateKey, account string) (Result, error) {
	return c.inserterTx(ctx, key, ActionRemoveInserter, account)
}

// Inserters reads the inserters and the rules of their proposals, and the
// height of the answer.
func (c *Client) Inserters(ctx context.Context) (idos.InsertersResult, int64, error) {
	var r idos.InsertersResult
	h, err := c.query(ctx, QueryInserters, []byte(`{}`), &r)
	return r, h, err
}

// InserterProposals reads the open inserter proposals (every one with all)
// with their approved power.
func (c *Client) InserterProposals(ctx context.Context, all bool) ([]idos.InserterProposal, int64, error) {
	var r idos.InserterProposalsResult
	data := []byte(`{}`)
	if all {
		data = []byte(`{"all":true}`)
	}
	h, err := c.query(ctx, QueryInserterProposals, data, &r)
	return r.Proposals, h, err
}
