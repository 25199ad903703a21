package validators

import (
	"encoding/hex"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
)

// JoinPayload is the payload of validators.join (empty: the sender joins).
type JoinPayload struct{}

// ApprovePayload is the payload of validators.approve.
type ApprovePayload struct {
	Candidate string `json:"candidate"`
}

// LeavePayload is the payload of validators.leave (empty: the sender leaves).
type LeavePayload struct{}

// RemovePayload is the payload of validators.remove.
type RemovePayload struct {
	Validator string `json:"validator"`
}

// join opens a join request for the sender.
func join(env *module.Env, payload []byte) error {
	if err := module.Decode(payload, &JoinPayload{}); err != nil {
		return err
	}
	key, err := senderKey(env)
	if err != nil {
		return err
	}
	if pw, err := power(env, key); err != nil {
		return err
	} else if pw > 0 {
		return fmt.Errorf("%w: %s is already a validator", ErrDuplicate, key)
	}
	r, err := engine.Load(env, KindJoin, key)
	if err != nil {
		return err
	}
	if r.Exists && r.Status == StatusPending && env.Height < r.Expires {
		return fmt.Errorf("%w: a join request for %s is already pending (open until height %d)", ErrDuplicate, key, r.Expires-1)
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	return engine.Open(env, KindJoin, key, key, p.JoinExpiryBlocks)
}

// approve adds the sender's approval to a pending join request, and admits
// the candidate once approvals reach the threshold.
func approve(env *module.Env, payload []byte) error {
	var a ApprovePayload
	if err := module.Decode(payload, &a); err != nil {
		return err
	}
	candidate, err := parseKey("candidate", a.Candidate)
	if err != nil {
		return err
	}
	approver, err := senderKey(env)
	if err != nil {
		return err
	}
	if _, err := mustBeValidator(env, approver); err != nil {
		return err
	}
	if candidate == approver {
		return fmt.Errorf("%w: %s cannot approve its own request", ErrSelfApproval, approver)
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	return engine.Vote(env, KindJoin, candidate, approver, p.ApprovalThreshold, apply(p))
}

// leave takes the sender out of the validator set.
func leave(env *module.Env, payload []byte) error {
	if err := module.Decode(payload, &LeavePayload{}); err != nil {
		return err
	}
	key, err := senderKey(env)
	if err != nil {
		return err
	}
	pw, err := mustBeValidator(env, key)
	if err != nil {
		return err
	}
	count, _, err := setSize(env)
	if err != nil {
		return err
	}
	if count <= 1 {
		return fmt.Errorf("%w: %s is the only validator", ErrLastValidator, key)
	}
	return removeValidator(env, key, pw)
}

// remove proposes, or approves, the removal of another validator.
func remove(env *module.Env, payload []byte) error {
	var rp RemovePayload
	if err := module.Decode(payload, &rp); err != nil {
		return err
	}
	target, err := parseKey("validator", rp.Validator)
	if err != nil {
		return err
	}
	approver, err := senderKey(env)
	if err != nil {
		return err
	}
	if _, err := mustBeValidator(env, approver); err != nil {
		return err
	}
	if target == approver {
		return fmt.Errorf("%w: %s cannot vote on its own removal; use validators.leave", ErrSelfApproval, approver)
	}
	if _, err := mustBeValidator(env, target); err != nil {
		return err
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	// None open (none, decided or expired): this vote opens a new request.
	return engine.VoteOrPropose(env, KindRemove, target, approver, p.JoinExpiryBlocks, p.ApprovalThreshold, apply(p))
}

// endBlock expires requests whose window closed, decides pending requests
// that reached the threshold because the set changed (a validator left),
// and hands the block's net power changes to CometBFT, ordered by key.
func endBlock(env *module.Env) ([]module.ValidatorUpdate, error) {
	p, err := loadParams(env)
	if err != nil {
		return nil, err
	}
	if err := engine.EndBlock(env, p.ApprovalThreshold, apply(p), nil); err != nil {
		return nil, err
	}
	return drainUpdates(env)
}

func drainUpdates(env *module.Env) ([]module.ValidatorUpdate, error) {
	rows, err := env.DB.QueryContext(env.Ctx,
		`SELECT pubkey, prev_power, power FROM validator_updates ORDER BY pubkey`)
	if err != nil {
		return nil, err
	}
	var updates []module.ValidatorUpdate
	for rows.Next() {
		var key string
		var prev, next int64
		if err := rows.Scan(&key, &prev, &next); err != nil {
			rows.Close()
			return nil, err
		}
		if prev == next {
			continue
		}
		pk, err := hex.DecodeString(key)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("validators: corrupt key %q", key)
		}
		updates = append(updates, module.ValidatorUpdate{PubKey: pk, Power: next})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, err = env.DB.ExecContext(env.Ctx, `DELETE FROM validator_updates`)
	return updates, err
}
