package idos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/wire"
)

// The answers' types live in idosschema (no imports), which the light
// client shares.
type (
	User       = idosschema.User
	Wallet     = idosschema.Wallet
	Credential = idosschema.Credential
	Grant      = idosschema.Grant
)

// The other answers and requests of the module's queries, in their wire
// form (node/wire).
type (
	Attribute            = wire.Attribute
	GetCredentialRequest = wire.GetCredentialRequest
)

// callerUser returns the caller's user or ErrNotFound.
func callerUser(ctx context.Context, snap *sql.Tx, caller module.Sender) (string, error) {
	var id string
	err := snap.QueryRowContext(ctx, `SELECT user_id FROM idos_wallets WHERE wallet_type = ? AND address = ?`,
		caller.Scheme, caller.Identifier).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: %s is not a wallet of any user", module.ErrNotFound, caller.AccountID())
	}
	return id, err
}

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, snap *sql.Tx, scan func(*sql.Rows, *T) error, query string, args ...any) ([]T, error) {
	rows, err := snap.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

var credentialColumns = strings.Join(idosschema.Credentials.Columns, ", ")

func scanCredential(r *sql.Rows, c *Credential) error {
	return r.Scan(&c.ID, &c.UserID, &c.IssuerAuthPublicKey, &c.EncryptorPublicKey, &c.Content, &c.PublicNotes, &c.OriginalID, &c.Created, &c.Updated)
}

var grantColumns = strings.Join(idosschema.Grants.Columns, ", ")

func scanGrant(r *sql.Rows, g *Grant) error {
	return r.Scan(&g.ID, &g.OwnerUserID, &g.Grantee, &g.DataID, &g.LockedUntil, &g.ContentHash, &g.Origin, &g.Created)
}

func getUser(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	id, err := callerUser(ctx, snap, caller)
	if err != nil {
		return nil, err
	}
	u := User{ID: id}
	err = snap.QueryRowContext(ctx, `SELECT encryption_public_key, inserter, created FROM idos_users WHERE id = ?`, id).
		Scan(&u.EncryptionPublicKey, &u.Inserter, &u.Created)
	return u, err
}

func getWallets(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	id, err := callerUser(ctx, snap, caller)
	if err != nil {
		return nil, err
	}
	return collect(ctx, snap, func(r *sql.Rows, w *Wallet) error {
		return r.Scan(&w.ID, &w.WalletType, &w.Address, &w.PublicKey, &w.Created)
	}, `SELECT id, wallet_type, address, public_key, created FROM idos_wallets WHERE user_id = ? ORDER BY id`, id)
}

func getCredentials(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	id, err := callerUser(ctx, snap, caller)
	if err != nil {
		return nil, err
	}
	return collect(ctx, snap, scanCredential,
		`SELECT `+credentialColumns+` FROM idos_credentials WHERE user_id = ? ORDER BY id`, id)
}

// getCredential serves one credential to its owner, or to the grantee of a
// grant on it (the shared copy).
func getCredential(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
	var req GetCredentialRequest
	if err := module.Decode(data, &req); err != nil {
		return nil, err
	}
	cs, err := collect(ctx, snap, scanCredential, `SELECT `+credentialColumns+` FROM idos_credentials WHERE id = ?`, req.CredentialID)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: no credential %s", module.ErrNotFound, req.CredentialID)
	}
	c := cs[0]
	if own, err := callerUser(ctx, snap, caller); err == nil && own == c.UserID {
		return c, nil
	}
	var n int
	if err := snap.QueryRowContext(ctx, `SELECT count(*) FROM idos_grants WHERE data_id = ? AND grantee = ?`,
		c.ID, caller.AccountID()).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: %s holds no grant on credential %s", module.ErrForbidden, caller.AccountID(), c.ID)
	}
	return c, nil
}

func getAttributes(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	id, err := callerUser(ctx, snap, caller)
	if err != nil {
		return nil, err
	}
	return collect(ctx, snap, func(r *sql.Rows, a *Attribute) error {
		return r.Scan(&a.ID, &a.Name, &a.Value, &a.Created)
	}, `SELECT id, name, value, created FROM idos_attributes WHERE user_id = ? ORDER BY id`, id)
}

func getGrantsOwned(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	id, err := callerUser(ctx, snap, caller)
	if err != nil {
		return nil, err
	}
	return collect(ctx, snap, scanGrant, `SELECT `+grantColumns+` FROM idos_grants WHERE owner_user_id = ? ORDER BY id`, id)
}

func getGrantsReceived(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
	if err := module.Decode(data, &struct{}{}); err != nil {
		return nil, err
	}
	return collect(ctx, snap, scanGrant, `SELECT `+grantColumns+` FROM idos_grants_by_grantee WHERE grantee = ? ORDER BY id`, caller.AccountID())
}

// granteeScope is every grant whose grantee is the caller, a key prefix of
// idos_grants_by_grantee (the caller needs no user).
func granteeScope(_ context.Context, _ *sql.Tx, caller *module.Sender, _ []byte) (module.ReadScope, error) {
	return module.ReadScope{Table: idosschema.GrantsByGrantee.Name, Key: []any{caller.AccountID()}, Range: true}, nil
}

// userScope is the caller's user row (range false) or every row of an
// owner-keyed table under the caller's user (range true): the tables are
// keyed (user_id, id) so that this is a key prefix, proven complete by one
// range proof.
func userScope(table string, rng bool) module.Scope {
	return func(ctx context.Context, snap *sql.Tx, caller *module.Sender, _ []byte) (module.ReadScope, error) {
		id, err := callerUser(ctx, snap, *caller)
		if err != nil {
			return module.ReadScope{}, err
		}
		return module.ReadScope{Table: table, Key: []any{id}, Range: rng}, nil
	}
}

// credentialScope is the one credential row idos.get_credential read.
func credentialScope(ctx context.Context, snap *sql.Tx, _ *module.Sender, data []byte) (module.ReadScope, error) {
	var req GetCredentialRequest
	if err := module.Decode(data, &req); err != nil {
		return module.ReadScope{}, err
	}
	var user string
	if err := snap.QueryRowContext(ctx, `SELECT user_id FROM idos_credentials WHERE id = ?`, req.CredentialID).Scan(&user); err != nil {
		return module.ReadScope{}, err
	}
	return module.ReadScope{Table: "idos_credentials", Key: []any{user, req.CredentialID}}, nil
}
