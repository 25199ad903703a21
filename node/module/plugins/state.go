package plugins

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
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
		`SELECT proposal_expiry_blocks, threshold_num, threshold_den, activation_delay_blocks, max_module_bytes, check_delay_blocks
		 FROM plugin_params WHERE id = 1`).
		Scan(&p.ProposalExpiryBlocks, &p.ApprovalThreshold.Numerator, &p.ApprovalThreshold.Denominator,
			&p.ActivationDelayBlocks, &p.MaxModuleBytes, &p.CheckDelayBlocks)
	if err != nil {
		return p, fmt.Errorf("plugins: params: %w", err)
	}
	return p, nil
}

// validatorSender returns the sender's validator key; the sender must sign
// with ed25519 and have voting power now.
func validatorSender(env *module.Env) (string, error) {
	return engine.Validator(env, ErrWrongScheme, ErrNotValidator)
}

type plugin struct {
	scheme, status, proposer             string
	activeFrom, removedFrom, checkHeight int64
	exists                               bool
}

func loadPlugin(env *module.Env, scheme string) (plugin, error) {
	pl := plugin{scheme: scheme}
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT status, proposer, active_from, removed_from, check_height FROM plugins WHERE scheme = ?`, scheme).
		Scan(&pl.status, &pl.proposer, &pl.activeFrom, &pl.removedFrom, &pl.checkHeight)
	if errors.Is(err, sql.ErrNoRows) {
		return pl, nil
	}
	pl.exists = err == nil
	return pl, err
}

// nameFree refuses a scheme name that is built in, or held by a plugin
// that is proposed (being checked or open), active or scheduled, or whose
// removal has not taken effect yet. An expired or refused proposal or a
// removed plugin frees its name.
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
	case pl.status == StatusChecking:
		return fmt.Errorf("%w: a proposal for %q is being checked until height %d", ErrNameTaken, scheme, pl.checkHeight)
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

// putPlugin writes the scheme's row. checkHeight is the height of the
// module's check verdict for a proposal (0 for a genesis plugin).
func putPlugin(env *module.Env, scheme string, hash, code, wasm []byte, meta wasmhost.Metadata, status, proposer string, delay, activeFrom, checkHeight int64) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO plugins (scheme, module_hash, code_hash, module, key_type, address_format, status, proposer, proposed,
		   activation_delay, active_from, removed_from, check_height, refusal)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '')
		 ON CONFLICT (scheme) DO UPDATE SET module_hash = excluded.module_hash, code_hash = excluded.code_hash, module = excluded.module,
		   key_type = excluded.key_type, address_format = excluded.address_format, status = excluded.status,
		   proposer = excluded.proposer, proposed = excluded.proposed, activation_delay = excluded.activation_delay,
		   active_from = excluded.active_from, removed_from = 0, check_height = excluded.check_height, refusal = ''`,
		scheme, hash, code, wasm, meta.KeyType, meta.AddressFormat, status, proposer, env.Height, delay, activeFrom, checkHeight)
	return err
}

// apply returns the effect of a proposal that reached the threshold: an
// addition activates the plugin at decision height + its activation delay,
// a removal stops it at decision height + activation_delay_blocks, and so
// do new Wasm limits take effect (applyParams).
func (c *checker) apply(p Params) approval.Effect {
	return func(env *module.Env, r approval.Request) (string, error) {
		switch r.Kind {
		case KindParams:
			return c.applyParams(env, p, r)
		case KindAdd:
			if _, err := env.DB.ExecContext(env.Ctx,
				`UPDATE plugins SET status = ?, active_from = ? + activation_delay WHERE scheme = ?`,
				StatusActive, env.Height, r.Subject); err != nil {
				return "", err
			}
		case KindRemove:
			if _, err := env.DB.ExecContext(env.Ctx,
				`UPDATE plugins SET status = ?, removed_from = ? WHERE scheme = ?`,
				StatusRemoved, env.Height+p.ActivationDelayBlocks, r.Subject); err != nil {
				return "", err
			}
		}
		return RequestApproved, nil
	}
}

// expired marks the plugin of an expired addition proposal expired, which
// frees its name.
func expired(env *module.Env, r approval.Request) error {
	if r.Kind != KindAdd {
		return nil
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`UPDATE plugins SET status = ? WHERE scheme = ? AND status = ?`, StatusExpired, r.Subject, StatusPending)
	return err
}

// KindSignature and KindDriver are the kinds of Wasm module the chain
// holds: signature plugins (this module's plugins table) and chain-grant
// drivers (node/module/drivers, table wasm_modules). Both reach the chain
// through plugins.upload.
const (
	KindSignature = "signature"
	KindDriver    = "driver"
)

// TakeUpload returns the module of who's finished upload of the module
// whose SHA-256 is hash, decompressed (Decompress, under max_module_bytes),
// and drops the upload. ok is false when who has no upload of that module.
// It is how another module (node/module/drivers) takes a module uploaded
// with plugins.upload, so that every module reaches the chain one way.
func TakeUpload(env *module.Env, who string, hash []byte) (wasm []byte, ok bool, err error) {
	var n int64
	if err := env.DB.QueryRowContext(env.Ctx,
		`SELECT count(*) FROM plugin_uploads WHERE uploader = ? AND module_hash = ?`, who, hash).Scan(&n); err != nil || n == 0 {
		return nil, false, err
	}
	p, err := loadParams(env)
	if err != nil {
		return nil, true, err
	}
	compressed, err := assembleUpload(env, who, hash)
	if err != nil {
		return nil, true, err
	}
	if wasm, err = Decompress(compressed, p.MaxModuleBytes, hash); err != nil {
		return nil, true, err
	}
	_, err = env.DB.ExecContext(env.Ctx, `DELETE FROM plugin_uploads WHERE uploader = ?`, who)
	return wasm, true, err
}
