package drivers

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/observation"
)

// ChainRow is a chain config as drivers.chains lists it.
type ChainRow struct {
	Chain
	Status string `json:"status"`
	Digest string `json:"digest"`
	Height int64  `json:"height"`
}

func chainsQuery(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	rows, err := snap.QueryContext(ctx, `SELECT chain, contract, confirmations, driver_sha256, account_scheme, lock_unit, status, digest, height
		FROM driver_chains ORDER BY chain, contract`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ChainRow{}
	for rows.Next() {
		var c ChainRow
		if err := rows.Scan(&c.Chain.Chain, &c.Contract, &c.Confirmations, &c.DriverSHA256, &c.AccountScheme, &c.LockUnit,
			&c.Status, &c.Digest, &c.Height); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Pending is a proposal as drivers.pending lists it, with its attested
// power at current power.
type Pending struct {
	Kind          string             `json:"kind"`
	Digest        string             `json:"digest"`
	Status        string             `json:"status"`
	Created       int64              `json:"created"`
	Expires       int64              `json:"expires"`
	Decided       int64              `json:"decided"`
	Attesters     []string           `json:"attesters"`
	AttestedPower int64              `json:"attested_power"`
	TotalPower    int64              `json:"total_power"`
	Observation   *observation.Grant `json:"observation,omitempty"`
	Chain         *Chain             `json:"chain,omitempty"`
}

// pendingQuery lists the pending proposals (data {"all": true}: every
// proposal) in (kind, digest) order.
func pendingQuery(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	ps, err := approval.Query(ctx, snap, data, engine, func(l approval.Listed, total int64) Pending {
		return Pending{Kind: l.Kind, Digest: l.Subject, Status: l.Status, Created: l.Created, Expires: l.Expires, Decided: l.Decided,
			Attesters: l.Approvals, AttestedPower: l.ApprovedPower, TotalPower: total}
	})
	if err != nil {
		return nil, err
	}
	for i := range ps {
		var body []byte
		err := snap.QueryRowContext(ctx, `SELECT body FROM driver_pending WHERE kind = ? AND digest = ?`, ps[i].Kind, ps[i].Digest).Scan(&body)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ps[i].Kind == KindObservation {
			if g, err := observation.Decode(body); err == nil {
				ps[i].Observation = &g
			}
		} else {
			var c Chain
			if err := json.Unmarshal(body, &c); err == nil {
				ps[i].Chain = &c
			}
		}
	}
	return ps, nil
}

// GrantQuery is the data of drivers.grant: an idos grant id.
type GrantQuery struct {
	GrantID string `json:"grant_id"`
}

// GrantOrigin is the last applied observation of a grant from a chain.
type GrantOrigin struct {
	GrantID     string `json:"grant_id"`
	Chain       string `json:"chain"`
	Contract    string `json:"contract"`
	Owner       string `json:"owner"`
	Grantee     string `json:"grantee"`
	DataID      string `json:"data_id"`
	Kind        string `json:"kind"`
	BlockNumber int64  `json:"block_number"`
	BlockHash   string `json:"block_hash"`
	TxRef       string `json:"tx_ref"`
	Digest      string `json:"digest"`
	Applied     int64  `json:"applied"`
}

func grantQuery(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	var q GrantQuery
	if err := module.Decode(data, &q); err != nil {
		return nil, err
	}
	var o GrantOrigin
	err := snap.QueryRowContext(ctx, `SELECT grant_id, chain, contract, owner, grantee, data_id, kind, block_number, block_hash, tx_ref, digest, applied
		FROM driver_grants WHERE grant_id = ?`, q.GrantID).Scan(&o.GrantID, &o.Chain, &o.Contract, &o.Owner, &o.Grantee, &o.DataID,
		&o.Kind, &o.BlockNumber, &o.BlockHash, &o.TxRef, &o.Digest, &o.Applied)
	if isNoRows(err) {
		return nil, fmt.Errorf("%w: no grant %s from a chain", module.ErrNotFound, q.GrantID)
	}
	return o, err
}
