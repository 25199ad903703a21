package validators

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
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

// RequestsQuery is the data of validators.requests.
type RequestsQuery struct {
	// All includes decided and expired requests; the default is pending
	// ones only.
	All bool `json:"all"`
}

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

func requests(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	var q RequestsQuery
	if err := module.Decode(data, &q); err != nil {
		return nil, err
	}
	var total int64
	if err := snap.QueryRowContext(ctx, `SELECT coalesce(sum(power), 0) FROM validators`).Scan(&total); err != nil {
		return nil, err
	}
	rows, err := snap.QueryContext(ctx,
		`SELECT kind, target, proposer, created, expires, status, decided FROM validator_requests
		 WHERE ? OR status = 'pending' ORDER BY kind, target`, q.All)
	if err != nil {
		return nil, err
	}
	res := RequestsResult{Requests: []Request{}}
	for rows.Next() {
		r := Request{Approvals: []string{}, TotalPower: total}
		if err := rows.Scan(&r.Kind, &r.Target, &r.Proposer, &r.Created, &r.Expires, &r.Status, &r.Decided); err != nil {
			rows.Close()
			return nil, err
		}
		res.Requests = append(res.Requests, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range res.Requests {
		r := &res.Requests[i]
		arows, err := snap.QueryContext(ctx,
			`SELECT a.approver, coalesce(v.power, 0) FROM validator_approvals a LEFT JOIN validators v ON v.pubkey = a.approver
			 WHERE a.kind = ? AND a.target = ? ORDER BY a.approver`, r.Kind, r.Target)
		if err != nil {
			return nil, err
		}
		for arows.Next() {
			var who string
			var pw int64
			if err := arows.Scan(&who, &pw); err != nil {
				arows.Close()
				return nil, err
			}
			r.Approvals = append(r.Approvals, who)
			r.ApprovedPower += pw
		}
		arows.Close()
		if err := arows.Err(); err != nil {
			return nil, err
		}
	}
	return res, nil
}
