// Package module defines how a feature adds state and actions to the node:
// a Module brings its schema, its transaction actions and its read queries.
// The ABCI application runs actions inside a savepoint of the block, so an
// action that returns an error leaves no trace in state.
package module

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/idos-network/idos-node/internal/jsontext"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/sqlstate"
)

// ErrInvalidPayload is returned by an action or query whose input is
// malformed. The app reports it to the sender as is.
var ErrInvalidPayload = errors.New("invalid payload")

// ErrNotFound is returned by a query that found nothing.
var ErrNotFound = errors.New("not found")

// Sender is the authenticated author of a transaction.
type Sender struct {
	Scheme     string // signature scheme, e.g. "ed25519", "eip191"
	Identifier string // the scheme's canonical identifier of the signer
}

// AccountID is the sender's identity in state: "scheme:identifier".
func (s Sender) AccountID() string { return s.Scheme + ":" + s.Identifier }

// Env is what an action may use. Block time comes from the block header, so
// every validator sees the same value; actions must not read the clock.
type Env struct {
	Ctx    context.Context
	DB     *sqlstate.DB
	Height int64
	Time   int64 // block time, Unix seconds
	Sender Sender
	TxHash [32]byte
	// Schemes verifies signatures other than the transaction's own (a
	// wallet's ownership proof, for instance).
	Schemes *auth.Registry
}

// Action executes one transaction action. Any error rolls the action back;
// the transaction's nonce is still consumed.
type Action func(env *Env, payload []byte) error

// Query answers a read against one consistent snapshot of committed state.
// The result is encoded as JSON.
type Query func(ctx context.Context, snap *sql.Tx, data []byte) (any, error)

// Decode parses a JSON payload or query strictly: unknown fields and
// trailing data are refused, and empty input means {}. Every module decodes
// with it, so one payload has one meaning everywhere.
func Decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The message reaches people (a refused transaction's log, the
		// gateway's 422): JSON field and kinds, not Go type names.
		return fmt.Errorf("%w: %s", ErrInvalidPayload, jsontext.Message(err))
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after JSON value", ErrInvalidPayload)
	}
	return nil
}

// ValidatorUpdate is a change of one validator's voting power; power 0
// removes it. Keys are ed25519 public keys (CometBFT's validator key type).
type ValidatorUpdate struct {
	PubKey []byte
	Power  int64
}

// Genesis is what InitGenesis gets from genesis.json.
type Genesis struct {
	// AppState is the canonical app_state (compact JSON, validated by the
	// app); a module reads its own section.
	AppState []byte
	// Validators is the genesis validator set, in genesis order.
	Validators []ValidatorUpdate
}

// PrivateQuery answers a read on behalf of an authenticated caller (the
// gateway verifies a signed challenge first). It decides itself what the
// caller may see; ErrForbidden and ErrNotFound are reported to the caller.
type PrivateQuery func(ctx context.Context, snap *sql.Tx, caller Sender, data []byte) (any, error)

// ReadScope is a set of rows: the row with primary key Key (Range false),
// or every row whose primary key starts with the values Key (Range true).
type ReadScope struct {
	Table string
	Key   []any // primary-key values in key order: all of them, or the leading ones of a range
	Range bool
}

// Scope returns the ReadScope of a query's answer. It runs after the query
// succeeded, on the same snapshot; caller is nil for a public query.
type Scope func(ctx context.Context, snap *sql.Tx, caller *Sender, data []byte) (ReadScope, error)

// ErrForbidden is returned by a private query the caller may not make.
var ErrForbidden = errors.New("forbidden")

// Module is a unit of state and behaviour.
type Module struct {
	// Name prefixes every action and query ("kv" for "kv.put").
	Name string
	// Schema holds the DDL run at genesis. Tables must be STRICT and
	// WITHOUT ROWID (see sqlstate).
	Schema []string
	// Actions by full name.
	Actions map[string]Action
	// Queries by full name: public reads, also served through ABCI Query.
	Queries map[string]Query
	// PrivateQueries by full name: reads for an authenticated caller,
	// served by the gateway only.
	PrivateQueries map[string]PrivateQuery
	// InitGenesis, if set, runs in InitChain after every module's schema
	// exists. Env has no sender.
	InitGenesis func(env *Env, g Genesis) error
	// Scopes by query name (public or private): the rows a query's answer
	// comes from, so the node can prove the answer against the app hash
	// (docs/spec/read-proofs.md). A query without a scope has no proof.
	Scopes map[string]Scope
	// PrivateTables are read only through private queries: the public
	// proof endpoints refuse their keys.
	PrivateTables []string
	// EndBlock, if set, runs after the block's transactions, in module
	// order. It may write state; the validator updates it returns go to
	// CometBFT (effective at height+2) and must be in a deterministic order.
	EndBlock func(env *Env) ([]ValidatorUpdate, error)
	// Genesis, if set, is the module's section of genesis app_state
	// (genesis.go).
	Genesis *GenesisSection
	// Plugins, if set, is where the app learns which signature plugins
	// chain state activates; at most one module sets it.
	Plugins *PluginSource
	// Errors are the module's sentinel errors with their result codes
	// (codes.go); an action error that wraps none of them gets the
	// application's generic "action failed" code.
	Errors []ErrorCode
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks that names are well formed and carry the module prefix.
func (m *Module) Validate() error {
	if !namePattern.MatchString(m.Name) {
		return fmt.Errorf("module name %q is not [a-z][a-z0-9_]*", m.Name)
	}
	check := func(kind, name string) error {
		p := m.Name + "."
		if len(name) <= len(p) || name[:len(p)] != p || !namePattern.MatchString(name[len(p):]) {
			return fmt.Errorf("module %s: %s name %q must be %s<name>", m.Name, kind, name, p)
		}
		return nil
	}
	for name := range m.Actions {
		if err := check("action", name); err != nil {
			return err
		}
	}
	for name := range m.Queries {
		if err := check("query", name); err != nil {
			return err
		}
	}
	for name := range m.PrivateQueries {
		if err := check("private query", name); err != nil {
			return err
		}
		if _, dup := m.Queries[name]; dup {
			return fmt.Errorf("module %s: %q is both a public and a private query", m.Name, name)
		}
	}
	for name := range m.Scopes {
		_, pub := m.Queries[name]
		_, priv := m.PrivateQueries[name]
		if !pub && !priv {
			return fmt.Errorf("module %s: scope for unknown query %q", m.Name, name)
		}
	}
	return nil
}
