package validators

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
)

// Validator is one member of the set, as the list query shows it.
type Validator struct {
	PubKey string `json:"pubkey"`
	Power  int64  `json:"power"`
	Since  int64  `json:"since"`
}

// ListResult is the answer of validators.list.
type ListResult struct {
	Validators []Validator `json:"validators"`
	TotalPower int64       `json:"total_power"`
	Params     Params      `json:"params"`
}

// Request is a join or removal request, as validators.requests shows it.
type Request struct {
	Kind          string   `json:"kind"`
	Target        string   `json:"target"`
	Proposer      string   `json:"proposer"`
	Created       int64    `json:"created"`
	Expires       int64    `json:"expires"`
	Status        string   `json:"status"`
	Decided       int64    `json:"decided"`
	Approvals     []string `json:"approvals"`
	ApprovedPower int64    `json:"approved_power"`
	TotalPower    int64    `json:"total_power"`
}

// RequestsQuery is the data of validators.requests: {"all": true} includes
// decided and expired requests; the default is pending ones only.
type RequestsQuery = approval.ListQuery

// RequestsResult is the answer of validators.requests.
type RequestsResult struct {
	Requests []Request `json:"requests"`
}

func list(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	res := ListResult{Validators: []Validator{}}
	if err := snap.QueryRowContext(ctx,
		`SELECT join_expiry_blocks, threshold_num, threshold_den, new_power FROM validator_params WHERE id = 1`).
		Scan(&res.Params.JoinExpiryBlocks, &res.Params.ApprovalThreshold.Numerator,
			&res.Params.ApprovalThreshold.Denominator, &res.Params.NewValidatorPower); err != nil {
		return nil, fmt.Errorf("validators: params: %w", err)
	}
	rows, err := snap.QueryContext(ctx, `SELECT pubkey, power, since FROM validators ORDER BY pubkey`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v Validator
		if err := rows.Scan(&v.PubKey, &v.Power, &v.Since); err != nil {
			return nil, err
		}
		res.TotalPower += v.Power
		res.Validators = append(res.Validators, v)
	}
	return res, rows.Err()
}

// RequestRow is a listed proposal as a Request: the row of
// validators.requests, and of the other approval users whose subject is a
// key or an account (idos.inserter_proposals).
func RequestRow(l approval.Listed, total int64) Request {
	return Request{Kind: l.Kind, Target: l.Subject, Proposer: l.Proposer, Created: l.Created, Expires: l.Expires,
		Status: l.Status, Decided: l.Decided, Approvals: l.Approvals, ApprovedPower: l.ApprovedPower, TotalPower: total}
}

func requests(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	rs, err := approval.Query(ctx, snap, data, engine, RequestRow)
	if err != nil {
		return nil, err
	}
	return RequestsResult{Requests: rs}, nil
}
