package drivers

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/observation"
)

// AttestPayload is the payload of drivers.attest: canonical observation
// encodings (base64 in JSON), each at most once.
type AttestPayload struct {
	Observations [][]byte `json:"observations"`
}

// ChainPayload is the payload of drivers.propose_chain.
type ChainPayload struct {
	Chain Chain `json:"chain"`
}

// ApproveChainPayload is the payload of drivers.approve_chain: the digest
// of the proposed config (Chain.Digest), so that a validator approves the
// exact config it read.
type ApproveChainPayload struct {
	Digest string `json:"digest"`
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// begin decodes an action's payload into v, checks that the sender is a
// validator and loads the parameters.
func begin(env *module.Env, payload []byte, v any) (string, params, error) {
	if err := module.Decode(payload, v); err != nil {
		return "", params{}, err
	}
	who, err := engine.Validator(env, ErrWrongScheme, ErrNotValidator)
	if err != nil {
		return "", params{}, err
	}
	p, err := loadParams(env)
	return who, p, err
}

// Digest is the subject of an observation's proposal: the lowercase hex
// SHA-256 of its canonical encoding.
func Digest(encoding []byte) string {
	s := sha256.Sum256(encoding)
	return hex.EncodeToString(s[:])
}

// attest records the sender's attestation of each observation. An
// observation already applied (or closed otherwise) and one the sender
// attested before are skipped, so a listener may resend after a crash; one
// that expired is opened again.
func attest(env *module.Env, payload []byte) error {
	var ap AttestPayload
	who, p, err := begin(env, payload, &ap)
	if err != nil {
		return err
	}
	if len(ap.Observations) == 0 || int64(len(ap.Observations)) > p.max {
		return fmt.Errorf("%w: %d observations, want 1 to %d", module.ErrInvalidPayload, len(ap.Observations), p.max)
	}
	seen := make(map[string]bool, len(ap.Observations))
	for i, enc := range ap.Observations {
		g, err := observation.Decode(enc)
		if err != nil {
			return fmt.Errorf("%w: observation %d: %w", ErrObservation, i, err)
		}
		if again, err := g.Encode(); err != nil || !bytes.Equal(again, enc) {
			return fmt.Errorf("%w: observation %d is not in canonical encoding", ErrObservation, i)
		}
		if _, ok, err := enabledChain(env, g.Chain, g.Contract); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: observation %d: %s contract %s", ErrUnknownChain, i, g.Chain, g.Contract)
		}
		d := Digest(enc)
		if seen[d] {
			return fmt.Errorf("%w: observation %d is listed twice", module.ErrInvalidPayload, i)
		}
		seen[d] = true
		if err := vote(env, p, d, enc, who); err != nil {
			return fmt.Errorf("observation %d: %w", i, err)
		}
	}
	return nil
}

func vote(env *module.Env, p params, digest string, enc []byte, who string) error {
	r, err := engine.Load(env, KindObservation, digest)
	if err != nil {
		return err
	}
	switch err := engine.CheckOpen(env, r); {
	case errors.Is(err, ErrDecided):
		return nil // applied (or closed stale, unmatched) already
	case err != nil: // never proposed, or expired: open it again
		if err := putPending(env, KindObservation, digest, enc); err != nil {
			return err
		}
		return engine.Propose(env, KindObservation, digest, who, p.expiry, p.threshold, applyObservation)
	}
	err = engine.Approve(env, KindObservation, digest, who)
	if errors.Is(err, ErrDuplicate) {
		return nil // attested before: counted once
	}
	if err != nil {
		return err
	}
	_, err = engine.Decide(env, KindObservation, digest, p.threshold, applyObservation)
	return err
}

// proposeChain proposes enabling (or reconfiguring) a chain; the proposal
// counts as the proposer's approval.
func proposeChain(env *module.Env, payload []byte) error {
	var cp ChainPayload
	who, p, err := begin(env, payload, &cp)
	if err != nil {
		return err
	}
	if err := cp.Chain.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrChainConfig, err)
	}
	d := cp.Chain.Digest()
	r, err := engine.Load(env, KindChain, d)
	if err != nil {
		return err
	}
	if engine.CheckOpen(env, r) == nil {
		return fmt.Errorf("%w: chain config %s is proposed already; approve it", ErrDuplicate, d)
	}
	if _, ok, err := enabledChain(env, cp.Chain.Chain, cp.Chain.Contract); err != nil {
		return err
	} else if ok {
		var have string
		if err := env.DB.QueryRowContext(env.Ctx, `SELECT digest FROM driver_chains WHERE chain = ? AND contract = ?`,
			cp.Chain.Chain, cp.Chain.Contract).Scan(&have); err != nil {
			return err
		}
		if have == d {
			return fmt.Errorf("%w: chain config %s is enabled already", ErrDuplicate, d)
		}
	}
	if err := takeDriverModule(env, who, cp.Chain.DriverSHA256); err != nil {
		return err
	}
	if err := putPending(env, KindChain, d, mustJSON(cp.Chain)); err != nil {
		return err
	}
	return engine.Propose(env, KindChain, d, who, p.expiry, p.threshold, applyChain)
}

func approveChain(env *module.Env, payload []byte) error {
	var ap ApproveChainPayload
	who, p, err := begin(env, payload, &ap)
	if err != nil {
		return err
	}
	return engine.Vote(env, KindChain, ap.Digest, who, p.threshold, applyChain)
}

// endBlock counts every pending proposal again and expires those whose
// window closed (approval.Engine.EndBlock).
func endBlock(env *module.Env) ([]module.ValidatorUpdate, error) {
	p, err := loadParams(env)
	if err != nil {
		return nil, err
	}
	return nil, engine.EndBlock(env, p.threshold, apply, expired)
}

// expired forgets an expired proposal's body and, for an observation, the
// proposal itself, so that reports nobody else confirmed (a liar's) leave
// nothing in state; attesting it again opens a new proposal.
func expired(env *module.Env, r approval.Request) error {
	if err := dropPending(env, r); err != nil {
		return err
	}
	if r.Kind == KindChain {
		return dropUnusedModules(env)
	}
	_, err := env.DB.ExecContext(env.Ctx, `DELETE FROM driver_requests WHERE kind = ? AND digest = ?`, r.Kind, r.Subject)
	return err
}

func apply(env *module.Env, r approval.Request) (string, error) {
	if r.Kind == KindChain {
		return applyChain(env, r)
	}
	return applyObservation(env, r)
}

func putPending(env *module.Env, kind, digest string, body []byte) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO driver_pending (kind, digest, body) VALUES (?, ?, ?) ON CONFLICT (kind, digest) DO NOTHING`, kind, digest, body)
	return err
}

func pendingBody(env *module.Env, kind, digest string) ([]byte, error) {
	var b []byte
	err := env.DB.QueryRowContext(env.Ctx, `SELECT body FROM driver_pending WHERE kind = ? AND digest = ?`, kind, digest).Scan(&b)
	return b, err
}

// dropPending forgets the body of a closed proposal.
func dropPending(env *module.Env, r approval.Request) error {
	_, err := env.DB.ExecContext(env.Ctx, `DELETE FROM driver_pending WHERE kind = ? AND digest = ?`, r.Kind, r.Subject)
	return err
}
