package plugins

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/schemename"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/sigplugins"
)

// These helpers read and write the module's tables inside the block
// transaction; every query with several rows has a total ORDER BY.

func bundledModule(name string) ([]byte, bool) {
	b, ok := sigplugins.Lookup(name)
	if !ok {
		return nil, false
	}
	return b.Wasm(), true
}

func loadParams(env *module.Env) (Params, error) {
	var p Params
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT proposal_expiry_blocks, threshold_num, threshold_den, activation_delay_blocks, max_module_bytes
		 FROM plugin_params WHERE id = 1`).
		Scan(&p.ProposalExpiryBlocks, &p.ApprovalThreshold.Numerator, &p.ApprovalThreshold.Denominator,
			&p.ActivationDelayBlocks, &p.MaxModuleBytes)
	if err != nil {
		return p, fmt.Errorf("plugins: params: %w", err)
	}
	return p, nil
}

// validatorSender returns the sender's validator key; the sender must sign
// with ed25519 and be in the validators table.
func validatorSender(env *module.Env) (string, error) {
	if env.Sender.Scheme != auth.SchemeEd25519 {
		return "", fmt.Errorf("%w; this transaction uses scheme %q", ErrWrongScheme, env.Sender.Scheme)
	}
	key := env.Sender.Identifier
	var n int64
	if err := env.DB.QueryRowContext(env.Ctx, `SELECT count(*) FROM validators WHERE pubkey = ?`, key).Scan(&n); err != nil {
		return "", err
	}
	if n == 0 {
		return "", fmt.Errorf("%w: %s", ErrNotValidator, key)
	}
	return key, nil
}

type plugin struct {
	scheme, status          string
	activeFrom, removedFrom int64
	exists                  bool
}

func loadPlugin(env *module.Env, scheme string) (plugin, error) {
	pl := plugin{scheme: scheme}
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT status, active_from, removed_from FROM plugins WHERE scheme = ?`, scheme).
		Scan(&pl.status, &pl.activeFrom, &pl.removedFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return pl, nil
	}
	pl.exists = err == nil
	return pl, err
}

// nameFree refuses a scheme name that is built in, or held by a plugin
// that is proposed, active or scheduled, or whose removal has not taken
// effect yet. An expired proposal or a removed plugin frees its name.
func nameFree(env *module.Env, scheme string) error {
	if !schemename.Valid(scheme) {
		return fmt.Errorf("%w: scheme %q must match %s", module.ErrInvalidPayload, scheme, schemename.Rule)
	}
	if builtin(scheme) {
		return fmt.Errorf("%w: %q is a built-in scheme", ErrNameTaken, scheme)
	}
	pl, err := loadPlugin(env, scheme)
	if err != nil || !pl.exists {
		return err
	}
	switch {
	case pl.status == StatusPending:
		return fmt.Errorf("%w: a proposal for %q is open", ErrNameTaken, scheme)
	case pl.status == StatusActive:
		return fmt.Errorf("%w: %q is an active plugin (from height %d)", ErrNameTaken, scheme, pl.activeFrom)
	case pl.status == StatusRemoved && env.Height < pl.removedFrom:
		return fmt.Errorf("%w: %q stays active until height %d", ErrNameTaken, scheme, pl.removedFrom)
	}
	return nil
}

// assembleUpload returns the sender's uploaded chunks of the module with
// the given hash, concatenated in order.
func assembleUpload(env *module.Env, who string, hash []byte) ([]byte, error) {
	rows, err := env.DB.QueryContext(env.Ctx,
		`SELECT module_hash, data FROM plugin_uploads WHERE uploader = ? ORDER BY seq`, who)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []byte
	for rows.Next() {
		var h, data []byte
		if err := rows.Scan(&h, &data); err != nil {
			return nil, err
		}
		if string(h) != string(hash) {
			return nil, fmt.Errorf("%w: your upload in progress is of another module", ErrUpload)
		}
		out = append(out, data...)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: upload the module (plugins.upload) before proposing it", ErrUpload)
	}
	return out, nil
}

func putPlugin(env *module.Env, scheme string, hash, code, wasm []byte, meta wasmhost.Metadata, status, proposer string, delay, activeFrom int64) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO plugins (scheme, module_hash, code_hash, module, key_type, address_format, status, proposer, proposed,
		   activation_delay, active_from, removed_from)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		 ON CONFLICT (scheme) DO UPDATE SET module_hash = excluded.module_hash, code_hash = excluded.code_hash, module = excluded.module,
		   key_type = excluded.key_type, address_format = excluded.address_format, status = excluded.status,
		   proposer = excluded.proposer, proposed = excluded.proposed, activation_delay = excluded.activation_delay,
		   active_from = excluded.active_from, removed_from = 0`,
		scheme, hash, code, wasm, meta.KeyType, meta.AddressFormat, status, proposer, env.Height, delay, activeFrom)
	return err
}

type request struct {
	kind, scheme, proposer, status string
	created, expires, decided      int64
	exists                         bool
}

func loadRequest(env *module.Env, kind, scheme string) (request, error) {
	r := request{kind: kind, scheme: scheme}
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT proposer, created, expires, status, decided FROM plugin_requests WHERE kind = ? AND scheme = ?`,
		kind, scheme).Scan(&r.proposer, &r.created, &r.expires, &r.status, &r.decided)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	r.exists = err == nil
	return r, err
}

func pendingRequests(env *module.Env) ([]request, error) {
	rows, err := env.DB.QueryContext(env.Ctx,
		`SELECT kind, scheme, expires FROM plugin_requests WHERE status = 'pending' ORDER BY kind, scheme`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []request
	for rows.Next() {
		var r request
		if err := rows.Scan(&r.kind, &r.scheme, &r.expires); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// openRequest starts a proposal, replacing a decided or expired one of the
// same kind and scheme.
func openRequest(env *module.Env, kind, scheme, proposer string, p Params) error {
	if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM plugin_approvals WHERE kind = ? AND scheme = ?`, kind, scheme); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO plugin_requests (kind, scheme, proposer, created, expires, status, decided)
		 VALUES (?, ?, ?, ?, ?, 'pending', 0)
		 ON CONFLICT (kind, scheme) DO UPDATE SET proposer = excluded.proposer, created = excluded.created,
		   expires = excluded.expires, status = 'pending', decided = 0`,
		kind, scheme, proposer, env.Height, env.Height+p.ProposalExpiryBlocks)
	return err
}

// closeRequest records a decision and drops the proposal's approvals.
func closeRequest(env *module.Env, kind, scheme, status string) error {
	if _, err := env.DB.ExecContext(env.Ctx,
		`UPDATE plugin_requests SET status = ?, decided = ? WHERE kind = ? AND scheme = ?`,
		status, env.Height, kind, scheme); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx, `DELETE FROM plugin_approvals WHERE kind = ? AND scheme = ?`, kind, scheme)
	return err
}

// checkOpen returns an error unless r is pending and not yet expired.
func checkOpen(env *module.Env, r request) error {
	switch {
	case !r.exists:
		return fmt.Errorf("%w: no %s proposal for %q", ErrNoProposal, r.kind, r.scheme)
	case r.status == RequestExpired || (r.status == RequestPending && env.Height >= r.expires):
		return fmt.Errorf("%w: the %s proposal for %q expired at height %d", ErrExpired, r.kind, r.scheme, r.expires)
	case r.status != RequestPending:
		return fmt.Errorf("%w: the %s proposal for %q was %s at height %d", ErrDecided, r.kind, r.scheme, r.status, r.decided)
	}
	return nil
}

func addApproval(env *module.Env, kind, scheme, approver string) error {
	var n int64
	if err := env.DB.QueryRowContext(env.Ctx,
		`SELECT count(*) FROM plugin_approvals WHERE kind = ? AND scheme = ? AND approver = ?`,
		kind, scheme, approver).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %s already approved the %s proposal for %q", ErrDuplicate, approver, kind, scheme)
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO plugin_approvals (kind, scheme, approver, height) VALUES (?, ?, ?, ?)`,
		kind, scheme, approver, env.Height)
	return err
}

// decideIfReached applies a pending proposal once the power of its
// approvers who are validators now reaches the threshold of the current
// total power. It reports whether the proposal was decided.
func decideIfReached(env *module.Env, kind, scheme string, p Params) (bool, error) {
	var approved, total int64
	if err := env.DB.QueryRowContext(env.Ctx,
		`SELECT coalesce(sum(v.power), 0) FROM plugin_approvals a JOIN validators v ON v.pubkey = a.approver
		 WHERE a.kind = ? AND a.scheme = ?`, kind, scheme).Scan(&approved); err != nil {
		return false, err
	}
	if err := env.DB.QueryRowContext(env.Ctx, `SELECT coalesce(sum(power), 0) FROM validators`).Scan(&total); err != nil {
		return false, err
	}
	if total == 0 || !p.ApprovalThreshold.reached(approved, total) {
		return false, nil
	}
	switch kind {
	case KindAdd:
		if _, err := env.DB.ExecContext(env.Ctx,
			`UPDATE plugins SET status = ?, active_from = ? + activation_delay WHERE scheme = ?`,
			StatusActive, env.Height, scheme); err != nil {
			return false, err
		}
	case KindRemove:
		if _, err := env.DB.ExecContext(env.Ctx,
			`UPDATE plugins SET status = ?, removed_from = ? WHERE scheme = ?`,
			StatusRemoved, env.Height+p.ActivationDelayBlocks, scheme); err != nil {
			return false, err
		}
	}
	return true, closeRequest(env, kind, scheme, RequestApproved)
}
