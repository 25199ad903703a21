package validators

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
)

// These helpers read and write the module's tables inside the block
// transaction; every query with several rows has a total ORDER BY.

func loadParams(env *module.Env) (Params, error) {
	var p Params
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT join_expiry_blocks, threshold_num, threshold_den, new_power FROM validator_params WHERE id = 1`).
		Scan(&p.JoinExpiryBlocks, &p.ApprovalThreshold.Numerator, &p.ApprovalThreshold.Denominator, &p.NewValidatorPower)
	if err != nil {
		return p, fmt.Errorf("validators: params: %w", err)
	}
	return p, nil
}

// power returns a validator's power, or 0 if key is not a validator.
func power(env *module.Env, key string) (int64, error) {
	return VotingPower{}.Of(env.Ctx, env.DB, key)
}

func mustBeValidator(env *module.Env, key string) (int64, error) {
	p, err := power(env, key)
	if err == nil && p == 0 {
		err = fmt.Errorf("%w: %s", ErrNotValidator, key)
	}
	return p, err
}

func setSize(env *module.Env) (count, total int64, err error) {
	err = env.DB.QueryRowContext(env.Ctx, `SELECT count(*), coalesce(sum(power), 0) FROM validators`).Scan(&count, &total)
	return count, total, err
}

// queueUpdate records a power change for EndBlock.
func queueUpdate(env *module.Env, key string, prev, next int64) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO validator_updates (pubkey, prev_power, power) VALUES (?, ?, ?)
		 ON CONFLICT (pubkey) DO UPDATE SET power = excluded.power`, key, prev, next)
	return err
}

// VotingPower is the validator set's voting power as the approval engine
// counts it; other modules approve with it (the plugins module, the
// chain-grant drivers) instead of reading the validators table.
type VotingPower struct{}

var _ approval.Power = VotingPower{}

// Of returns key's power, or 0 if key is not a validator.
func (VotingPower) Of(ctx context.Context, q approval.Querier, key string) (int64, error) {
	var p int64
	err := q.QueryRowContext(ctx, `SELECT power FROM validators WHERE pubkey = ?`, key).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return p, err
}

// Total returns the total power of the set.
func (VotingPower) Total(ctx context.Context, q approval.Querier) (int64, error) {
	var t int64
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(power), 0) FROM validators`).Scan(&t)
	return t, err
}

// apply returns the effect of a request that reached the threshold p:
// a join admits the candidate; a removal removes the target, or is
// withdrawn if the target has left already.
func apply(p Params) approval.Effect {
	return func(env *module.Env, r approval.Request) (string, error) {
		switch r.Kind {
		case KindJoin:
			if _, err := env.DB.ExecContext(env.Ctx, `INSERT INTO validators (pubkey, power, since) VALUES (?, ?, ?)`,
				r.Subject, p.NewValidatorPower, env.Height); err != nil {
				return "", err
			}
			if err := queueUpdate(env, r.Subject, 0, p.NewValidatorPower); err != nil {
				return "", err
			}
		case KindRemove:
			pw, err := power(env, r.Subject)
			if err != nil {
				return "", err
			}
			if pw == 0 {
				return StatusWithdrawn, nil
			}
			count, _, err := setSize(env)
			if err != nil {
				return "", err
			}
			if count <= 1 {
				return "", ErrLastValidator
			}
			if err := removeValidator(env, r.Subject, pw); err != nil {
				return "", err
			}
		}
		return StatusApproved, nil
	}
}

// removeValidator takes key out of the set and withdraws a pending removal
// request against it.
func removeValidator(env *module.Env, key string, pw int64) error {
	if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM validators WHERE pubkey = ?`, key); err != nil {
		return err
	}
	if err := queueUpdate(env, key, pw, 0); err != nil {
		return err
	}
	r, err := engine.Load(env, KindRemove, key)
	if err != nil || !r.Exists || r.Status != StatusPending {
		return err
	}
	return engine.Close(env, KindRemove, key, StatusWithdrawn)
}
