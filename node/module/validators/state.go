package validators

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
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
	var p int64
	err := env.DB.QueryRowContext(env.Ctx, `SELECT power FROM validators WHERE pubkey = ?`, key).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return p, err
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

type request struct {
	kind, target, proposer, status string
	created, expires, decided      int64
	exists                         bool
}

func loadRequest(env *module.Env, kind, target string) (request, error) {
	r := request{kind: kind, target: target}
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT proposer, created, expires, status, decided FROM validator_requests WHERE kind = ? AND target = ?`,
		kind, target).Scan(&r.proposer, &r.created, &r.expires, &r.status, &r.decided)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	r.exists = err == nil
	return r, err
}

// openRequest starts a request, replacing a decided one of the same kind and
// target.
func openRequest(env *module.Env, kind, target, proposer string, p Params) error {
	if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM validator_approvals WHERE kind = ? AND target = ?`, kind, target); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO validator_requests (kind, target, proposer, created, expires, status, decided)
		 VALUES (?, ?, ?, ?, ?, 'pending', 0)
		 ON CONFLICT (kind, target) DO UPDATE SET proposer = excluded.proposer, created = excluded.created,
		   expires = excluded.expires, status = 'pending', decided = 0`,
		kind, target, proposer, env.Height, env.Height+p.JoinExpiryBlocks)
	return err
}

// closeRequest records a decision and drops the request's approvals.
func closeRequest(env *module.Env, kind, target, status string) error {
	if _, err := env.DB.ExecContext(env.Ctx,
		`UPDATE validator_requests SET status = ?, decided = ? WHERE kind = ? AND target = ?`,
		status, env.Height, kind, target); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx, `DELETE FROM validator_approvals WHERE kind = ? AND target = ?`, kind, target)
	return err
}

// checkOpen returns an error unless r is pending and not yet expired.
func checkOpen(env *module.Env, r request) error {
	switch {
	case !r.exists:
		return fmt.Errorf("%w: no %s request for %s", ErrNoRequest, r.kind, r.target)
	case r.status == StatusExpired || (r.status == StatusPending && env.Height >= r.expires):
		return fmt.Errorf("%w: the %s request for %s expired at height %d", ErrExpired, r.kind, r.target, r.expires)
	case r.status != StatusPending:
		return fmt.Errorf("%w: the %s request for %s was %s at height %d", ErrDecided, r.kind, r.target, r.status, r.decided)
	}
	return nil
}

func addApproval(env *module.Env, kind, target, approver string) error {
	var n int64
	if err := env.DB.QueryRowContext(env.Ctx,
		`SELECT count(*) FROM validator_approvals WHERE kind = ? AND target = ? AND approver = ?`,
		kind, target, approver).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %s already approved the %s request for %s", ErrDuplicate, approver, kind, target)
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO validator_approvals (kind, target, approver, height) VALUES (?, ?, ?, ?)`,
		kind, target, approver, env.Height)
	return err
}

// approvedPower sums the power of the approvers who are validators now: an
// approval from a validator that has since left no longer counts.
func approvedPower(env *module.Env, kind, target string) (int64, error) {
	var p int64
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT coalesce(sum(v.power), 0) FROM validator_approvals a JOIN validators v ON v.pubkey = a.approver
		 WHERE a.kind = ? AND a.target = ?`, kind, target).Scan(&p)
	return p, err
}

// queueUpdate records a power change for EndBlock.
func queueUpdate(env *module.Env, key string, prev, next int64) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO validator_updates (pubkey, prev_power, power) VALUES (?, ?, ?)
		 ON CONFLICT (pubkey) DO UPDATE SET power = excluded.power`, key, prev, next)
	return err
}

// decideIfReached applies a pending request once its approvals reach the
// threshold. It reports whether the request was decided.
func decideIfReached(env *module.Env, kind, target string, p Params) (bool, error) {
	approved, err := approvedPower(env, kind, target)
	if err != nil {
		return false, err
	}
	count, total, err := setSize(env)
	if err != nil || !p.ApprovalThreshold.reached(approved, total) {
		return false, err
	}
	switch kind {
	case KindJoin:
		if _, err := env.DB.ExecContext(env.Ctx, `INSERT INTO validators (pubkey, power, since) VALUES (?, ?, ?)`,
			target, p.NewValidatorPower, env.Height); err != nil {
			return false, err
		}
		if err := queueUpdate(env, target, 0, p.NewValidatorPower); err != nil {
			return false, err
		}
	case KindRemove:
		pw, err := power(env, target)
		if err != nil {
			return false, err
		}
		if pw == 0 {
			return false, closeRequest(env, kind, target, StatusWithdrawn)
		}
		if count <= 1 {
			return false, ErrLastValidator
		}
		if err := removeValidator(env, target, pw); err != nil {
			return false, err
		}
	}
	return true, closeRequest(env, kind, target, StatusApproved)
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
	r, err := loadRequest(env, KindRemove, key)
	if err != nil || !r.exists || r.status != StatusPending {
		return err
	}
	return closeRequest(env, KindRemove, key, StatusWithdrawn)
}
