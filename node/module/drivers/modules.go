package drivers

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

// modulesTable holds the driver modules the chain ships, by the hex
// SHA-256 of their bytes (the chain configs' driver_sha256). kind is
// plugins.KindDriver: signature modules stay in the plugins table, whose
// plugins.list says kind "signature" (docs/spec/drivers.md, "Driver
// modules").
const modulesTable = `CREATE TABLE wasm_modules (
		sha256   TEXT PRIMARY KEY,
		kind     TEXT NOT NULL CHECK (kind IN ('signature', 'driver')),
		module   BLOB NOT NULL,
		uploader TEXT NOT NULL,
		height   INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`

// takeDriverModule makes the driver module named by a chain proposal
// available in state. The sender's finished upload of that module
// (plugins.upload) is taken: decompressed under max_module_bytes and
// statically checked by meter.Instrument, both linear in its size; the
// module is never compiled or run in a block (drivers run outside
// consensus, where the listener checks their metadata). Without an
// upload, the module must be in wasm_modules already or be the driver of
// an enabled chain (a genesis chain's module comes with the node).
func takeDriverModule(env *module.Env, who, sum string) error {
	hash, err := hex.DecodeString(sum) // Chain.Validate checked the form
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChainConfig, err)
	}
	wasm, ok, err := plugins.TakeUpload(env, who, hash)
	if err != nil {
		return err
	}
	if ok {
		if _, err := meter.Instrument(wasm); err != nil {
			return fmt.Errorf("%w: driver %s: %w", plugins.ErrBadModule, sum, err)
		}
		_, err = env.DB.ExecContext(env.Ctx,
			`INSERT INTO wasm_modules (sha256, kind, module, uploader, height) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			sum, plugins.KindDriver, wasm, who, env.Height)
		return err
	}
	var n int64
	if err := env.DB.QueryRowContext(env.Ctx,
		`SELECT (SELECT count(*) FROM wasm_modules WHERE sha256 = ? AND kind = ?) + (SELECT count(*) FROM driver_chains WHERE driver_sha256 = ?)`,
		sum, plugins.KindDriver, sum).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: driver module %s is not in state; upload it (plugins.upload) before proposing", plugins.ErrUpload, sum)
	}
	return nil
}

// dropUnusedModules forgets the driver modules that no chain config
// (enabled, or the body of a pending proposal) names; it runs when a chain
// proposal closes.
func dropUnusedModules(env *module.Env) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`DELETE FROM wasm_modules WHERE kind = ?
		   AND sha256 NOT IN (SELECT driver_sha256 FROM driver_chains)
		   AND sha256 NOT IN (SELECT json_extract(body, '$.driver_sha256') FROM driver_pending
		                      WHERE kind = ? AND json_extract(body, '$.driver_sha256') IS NOT NULL)`,
		plugins.KindDriver, KindChain)
	return err
}

// ModuleQuery is the data of drivers.module.
type ModuleQuery struct {
	SHA256 string `json:"sha256"`
	// WithModule asks for the bytes too (a node loading the driver);
	// without it the answer says only whether and since when state holds
	// the module.
	WithModule bool `json:"with_module,omitempty"`
}

// StoredModule is the answer of drivers.module: a driver module in state,
// or Found false.
type StoredModule struct {
	SHA256   string `json:"sha256"`
	Found    bool   `json:"found"`
	Kind     string `json:"kind"`
	Uploader string `json:"uploader"`
	Height   int64  `json:"height"`
	Size     int64  `json:"size"`
	Module   []byte `json:"module,omitempty"`
}

// moduleQuery returns the module with the given hash: how a node loads a
// chain's driver. An absent module is an answer (Found false), not an
// error, so that a node tells it from a failed query.
func moduleQuery(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	var q ModuleQuery
	if err := module.Decode(data, &q); err != nil {
		return nil, err
	}
	m := StoredModule{SHA256: q.SHA256}
	err := snap.QueryRowContext(ctx,
		`SELECT kind, uploader, height, length(module), CASE WHEN ? THEN module ELSE x'' END FROM wasm_modules WHERE sha256 = ?`,
		q.WithModule, q.SHA256).Scan(&m.Kind, &m.Uploader, &m.Height, &m.Size, &m.Module)
	if isNoRows(err) {
		return m, nil
	}
	m.Found = err == nil
	return m, err
}
