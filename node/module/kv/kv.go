// Package kv is the smallest useful module: each account keeps its own
// key/value entries. It exercises inserts, updates and deletes through
// signed transactions and gives the node something to do before the idOS
// data model lands.
package kv

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/wire"
)

// Limits on entries, enforced by the actions.
const (
	MaxKeyBytes   = 128
	MaxValueBytes = 4096
)

const schema = `CREATE TABLE kv (
	owner TEXT NOT NULL,
	key   TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (owner, key)
) STRICT, WITHOUT ROWID`

// The wire forms of kv's payloads and answers live in node/wire, which
// clients import without linking the module.
type (
	PutPayload    = wire.KVPutPayload
	DeletePayload = wire.KVDeletePayload
	GetRequest    = wire.KVGetRequest
	Entry         = wire.KVEntry
)

// Module returns the kv module.
func Module() module.Module {
	return module.Module{
		Name:   "kv",
		Schema: []string{schema},
		Actions: map[string]module.Action{
			"kv.put":    put,
			"kv.delete": del,
		},
		Queries: map[string]module.Query{
			"kv.get": get,
		},
		Scopes: map[string]module.Scope{
			"kv.get": getScope,
		},
	}
}

// getScope is the one row kv.get reads.
func getScope(_ context.Context, _ *sql.Tx, _ *module.Sender, data []byte) (module.ReadScope, error) {
	var r GetRequest
	if err := module.Decode(data, &r); err != nil {
		return module.ReadScope{}, err
	}
	return module.ReadScope{Table: "kv", Key: []any{r.Owner, r.Key}}, nil
}

func checkText(field, s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%w: %s is %d bytes, at most %d", module.ErrInvalidPayload, field, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", module.ErrInvalidPayload, field)
	case bytes.IndexByte([]byte(s), 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", module.ErrInvalidPayload, field)
	}
	return nil
}

func put(env *module.Env, payload []byte) error {
	var p PutPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if p.Key == "" {
		return fmt.Errorf("%w: key is empty", module.ErrInvalidPayload)
	}
	if err := errors.Join(checkText("key", p.Key, MaxKeyBytes), checkText("value", p.Value, MaxValueBytes)); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO kv (owner, key, value) VALUES (?, ?, ?)
		 ON CONFLICT (owner, key) DO UPDATE SET value = excluded.value`,
		env.Sender.AccountID(), p.Key, p.Value)
	return err
}

func del(env *module.Env, payload []byte) error {
	var p DeletePayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	res, err := env.DB.ExecContext(env.Ctx, `DELETE FROM kv WHERE owner = ? AND key = ?`, env.Sender.AccountID(), p.Key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no entry %q", module.ErrNotFound, p.Key)
	}
	return nil
}

func get(ctx context.Context, snap *sql.Tx, data []byte) (any, error) {
	var r GetRequest
	if err := module.Decode(data, &r); err != nil {
		return nil, err
	}
	e := Entry{Owner: r.Owner, Key: r.Key}
	err := snap.QueryRowContext(ctx, `SELECT value FROM kv WHERE owner = ? AND key = ?`, r.Owner, r.Key).Scan(&e.Value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no entry %q for %s", module.ErrNotFound, r.Key, r.Owner)
	}
	return e, err
}
