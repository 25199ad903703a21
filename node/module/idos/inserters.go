package idos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/validators"
)

// Inserters by validator approval (docs/spec/data-model.md, "Inserters by
// approval"). idos_inserters stays the one list of inserters: genesis
// seeds it, and decided proposals on the shared approval engine add to it
// and remove from it. A validator proposes an account (its proposal is its
// approval), the others approve; removal is proposed or approved by the
// same action, as validators.remove is.

// Errors of refused inserter proposals, wrapped with detail; they share the
// approval codes of the validators, plugins and drivers modules.
var (
	ErrNotValidator = errors.New("not a validator")
	ErrWrongScheme  = errors.New("inserter proposals are signed with an ed25519 validator key")
	ErrNoProposal   = errors.New("no such proposal")
	ErrExpired      = errors.New("proposal expired")
	ErrDecided      = errors.New("proposal already decided")
	ErrDuplicate    = errors.New("duplicate")
)

// Proposal kinds of the inserter proposals.
const (
	KindAddInserter    = "add"
	KindRemoveInserter = "remove"
)

// StatusGone closes a proposal whose effect no longer applies: an account
// to remove that is no longer an inserter.
const StatusGone = "gone"

var inserterEngine = &approval.Engine{
	Tables: approval.Tables{Requests: "inserter_requests", Approvals: "inserter_approvals", Subject: "target"},
	Power:  validators.VotingPower{},
	Errors: approval.Errors{NotFound: ErrNoProposal, Expired: ErrExpired, Decided: ErrDecided, Duplicate: ErrDuplicate},
	Noun:   "proposal",
	Quote:  true,
}

// The inserter tables are named without the idos_ prefix, which marks the
// data-model tables the light client decodes (idosschema), as the other
// approval users' tables are (validator_requests, plugin_requests).
var inserterSchema = append([]string{
	`CREATE TABLE inserter_params (
		id            INTEGER PRIMARY KEY CHECK (id = 1),
		expiry_blocks INTEGER NOT NULL,
		threshold_num INTEGER NOT NULL,
		threshold_den INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
}, inserterEngine.Tables.Schema()...)

// InserterPayload is the payload of idos.propose_inserter,
// idos.approve_inserter and idos.remove_inserter: the account id
// (scheme:identifier) exactly as the node authenticates it.
type InserterPayload struct {
	Inserter string `json:"inserter"`
}

type inserterParams struct {
	expiry    int64
	threshold approval.Fraction
}

func loadInserterParams(env *module.Env) (inserterParams, error) {
	var p inserterParams
	err := env.DB.QueryRowContext(env.Ctx, `SELECT expiry_blocks, threshold_num, threshold_den FROM inserter_params WHERE id = 1`).
		Scan(&p.expiry, &p.threshold.Numerator, &p.threshold.Denominator)
	if err != nil {
		return p, fmt.Errorf("idos: inserter params: %w", err)
	}
	return p, nil
}

// beginInserter decodes an inserter action's payload, checks the account
// id and that the sender is a validator, and loads the parameters.
func beginInserter(env *module.Env, payload []byte) (who, target string, p inserterParams, err error) {
	var ip InserterPayload
	if err = module.Decode(payload, &ip); err != nil {
		return
	}
	if err = checkAccountID("inserter", ip.Inserter); err != nil {
		return
	}
	if who, err = inserterEngine.Validator(env, ErrWrongScheme, ErrNotValidator); err != nil {
		return
	}
	p, err = loadInserterParams(env)
	return who, ip.Inserter, p, err
}

func isInserter(env *module.Env, id string) (bool, error) {
	return exists(env, `SELECT 1 FROM idos_inserters WHERE id = ?`, id)
}

// proposeInserter opens a proposal to add an inserter; it counts as the
// proposer's approval.
func proposeInserter(env *module.Env, payload []byte) error {
	who, target, p, err := beginInserter(env, payload)
	if err != nil {
		return err
	}
	if ok, err := isInserter(env, target); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%w: %s is an inserter already", ErrDuplicate, target)
	}
	r, err := inserterEngine.Load(env, KindAddInserter, target)
	if err != nil {
		return err
	}
	if inserterEngine.CheckOpen(env, r) == nil {
		return fmt.Errorf("%w: adding %s is proposed already (proposal open until height %d); approve it", ErrDuplicate, target, r.Expires-1)
	}
	return inserterEngine.Propose(env, KindAddInserter, target, who, p.expiry, p.threshold, applyInserter)
}

// approveInserter approves the open proposal to add an inserter.
func approveInserter(env *module.Env, payload []byte) error {
	who, target, p, err := beginInserter(env, payload)
	if err != nil {
		return err
	}
	return inserterEngine.Vote(env, KindAddInserter, target, who, p.threshold, applyInserter)
}

// removeInserter approves the open proposal to remove an inserter, or
// opens one with this approval.
func removeInserter(env *module.Env, payload []byte) error {
	who, target, p, err := beginInserter(env, payload)
	if err != nil {
		return err
	}
	if ok, err := isInserter(env, target); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: %s is not an inserter", module.ErrNotFound, target)
	}
	return inserterEngine.VoteOrPropose(env, KindRemoveInserter, target, who, p.expiry, p.threshold, applyInserter)
}

// applyInserter is the effect of a decided proposal. Removing an inserter
// also removes its delegates, which would otherwise go on acting for it;
// the users it created stay, and their own wallets still act for them.
func applyInserter(env *module.Env, r approval.Request) (string, error) {
	switch r.Kind {
	case KindAddInserter:
		_, err := env.DB.ExecContext(env.Ctx,
			`INSERT INTO idos_inserters (id, added) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, r.Subject, env.Time)
		return approval.StatusApproved, err
	case KindRemoveInserter:
		res, err := env.DB.ExecContext(env.Ctx, `DELETE FROM idos_inserters WHERE id = ?`, r.Subject)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return StatusGone, nil
		}
		if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM idos_delegates WHERE inserter = ?`, r.Subject); err != nil {
			return "", err
		}
		return approval.StatusApproved, nil
	}
	return "", fmt.Errorf("idos: unknown inserter proposal kind %q", r.Kind)
}

// endBlock counts the pending inserter proposals again and expires those
// whose window closed (approval.Engine.EndBlock).
func endBlock(env *module.Env) ([]module.ValidatorUpdate, error) {
	p, err := loadInserterParams(env)
	if err != nil {
		return nil, err
	}
	return nil, inserterEngine.EndBlock(env, p.threshold, applyInserter, nil)
}

// Inserter is one inserter as idos.inserters lists it.
type Inserter struct {
	ID string `json:"id"`
	// Added is the block time it was added (0: at genesis).
	Added int64 `json:"added"`
}

// InsertersResult is the answer of idos.inserters.
type InsertersResult struct {
	Inserters []Inserter `json:"inserters"`
	// ExpiryBlocks and Threshold are the rules of inserter proposals.
	ExpiryBlocks int64    `json:"expiry_blocks"`
	Threshold    Fraction `json:"threshold"`
}

func insertersQuery(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	res := InsertersResult{Inserters: []Inserter{}}
	if err := snap.QueryRowContext(ctx, `SELECT expiry_blocks, threshold_num, threshold_den FROM inserter_params WHERE id = 1`).
		Scan(&res.ExpiryBlocks, &res.Threshold.Numerator, &res.Threshold.Denominator); err != nil {
		return nil, fmt.Errorf("idos: inserter params: %w", err)
	}
	rows, err := snap.QueryContext(ctx, `SELECT id, added FROM idos_inserters ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var i Inserter
		if err := rows.Scan(&i.ID, &i.Added); err != nil {
			return nil, err
		}
		res.Inserters = append(res.Inserters, i)
	}
	return res, rows.Err()
}

// InserterProposal is a proposal as idos.inserter_proposals lists it, with
// its approvals counted at current power; Target is the inserter's account
// id.
type InserterProposal = validators.Request

// InserterProposalsResult is the answer of idos.inserter_proposals (data
// approval.ListQuery: pending ones, or every one with {"all": true}).
type InserterProposalsResult struct {
	Proposals []InserterProposal `json:"proposals"`
}

func inserterProposalsQuery(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	ps, err := approval.Query(ctx, snap, data, inserterEngine, validators.RequestRow)
	if err != nil {
		return nil, err
	}
	return InserterProposalsResult{Proposals: ps}, nil
}

// Fraction is the approval engine's threshold, as idos.inserters shows it.
type Fraction = approval.Fraction

// StatusPending is an open proposal's status.
const StatusPending = approval.StatusPending
