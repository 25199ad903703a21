// Package idosverify proves the idOS data model's private reads
// (docs/spec/data-model.md) against headers the light client verified: who
// the caller is, its user, wallets, credentials, grants given and received,
// and one credential read by its owner or by a grantee. Every value it
// returns is decoded from a proven row, never from a node's JSON answer;
// every key it checks a proof against is built here from values already
// proven, never taken from the gateway.
//
// It links no node code: the tables' columns come from
// node/module/idos/idosschema, which the module's tests check against
// SQLite.
package idosverify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/readproof"
)

// Error classes, for errors.Is.
var (
	// ErrWalletNotProven: the complete, verified set of wallets of the user
	// the gateway named does not contain the caller's wallet, so nothing
	// binds that user to the caller.
	ErrWalletNotProven = errors.New("idosverify: the caller's wallet is not among the user's verified wallets")
	// ErrNotGranted: the credential read is neither in the caller's user's
	// proven credentials nor the copy of a proven grant to the caller.
	ErrNotGranted = errors.New("idosverify: credential neither owned by the caller nor shared with it, by proven state")
	// ErrContentHash: a shared copy decrypts to a plaintext whose SHA-256
	// is not the content hash of its proven grant.
	ErrContentHash = errors.New("idosverify: shared copy does not match its grant's content hash")
	// ErrSchema: a proven row does not have the columns this client knows
	// for its table (the client's schema is not the chain's).
	ErrSchema = errors.New("idosverify: row does not match the client's schema")
)

// Query fetches a private read with its proof bundle from an untrusted
// gateway, signed as the caller (the gateway's /v1/private/{name}?prove=true).
type Query func(ctx context.Context, name string, data any) (*readproof.Bundle, error)

// Verifier proves the private reads of one caller.
type Verifier struct {
	// Reader verifies bundles against verified headers.
	Reader *lightclient.Reader
	// Query fetches bundles, authenticated as the caller.
	Query Query
	// QueryPage, if set, fetches a page of a range read (the gateway's
	// /v1/private/{name}?prove=true&page=true): range reads then go by
	// pages (lightclient.Reader.RangePages), so a range of any size is
	// proven. Nil: each range in one answer, at most 10,000 rows.
	QueryPage func(ctx context.Context, name string, data any, after []byte, height int64) (*readproof.Bundle, error)
	// Scheme and Identifier are the caller's account (its wallet).
	Scheme, Identifier string
}

// AccountID is the caller's account id, scheme:identifier.
func (v *Verifier) AccountID() string { return v.Scheme + ":" + v.Identifier }

// The answers: the module's own types (node/module/idos aliases them).
type (
	User       = idosschema.User
	Wallet     = idosschema.Wallet
	Credential = idosschema.Credential
	Grant      = idosschema.Grant
)

// Caller is the caller's user, bound to the caller by a proof.
type Caller struct {
	UserID string `json:"user_id"`
	// WalletsHeight is the height of the state in which the complete set
	// of the user's wallets contains the caller's wallet.
	WalletsHeight int64    `json:"wallets_height"`
	Wallets       []Wallet `json:"-"`
}

// Caller proves which user the caller is: idos.get_wallets with its proof,
// a range bundle under Key("idos_wallets", [uid]) where uid is read from
// the bundle (any value would do: it is checked next), verified complete;
// among the verified rows must be the caller's own wallet (scheme,
// identifier), else ErrWalletNotProven. Wallets are unique by
// (wallet_type, address) in the state, so this binds uid to the caller.
func (v *Verifier) Caller(ctx context.Context) (*Caller, error) {
	var b *readproof.Bundle
	var err error
	if v.QueryPage != nil {
		b, err = v.QueryPage(ctx, "idos.get_wallets", nil, nil, 0)
	} else {
		b, err = v.Query(ctx, "idos.get_wallets", nil)
	}
	if err != nil {
		return nil, fmt.Errorf("idos.get_wallets: %w", err)
	}
	uid, err := claimedUser(b)
	if err != nil {
		return nil, err
	}
	read, err := v.rangeOf(ctx, "idos.get_wallets", nil, idosschema.Wallets, []any{uid}, b)
	if err != nil {
		return nil, fmt.Errorf("wallets of user %s: %w", uid, err)
	}
	out := &Caller{UserID: uid, WalletsHeight: read.height, Wallets: make([]Wallet, len(read.rows))}
	bound := false
	for i, w := range read.rows {
		if w.text("wallet_type") == v.Scheme && w.text("address") == v.Identifier && w.text("user_id") == uid {
			bound = true
		}
		out.Wallets[i] = Wallet{ID: w.text("id"), WalletType: w.text("wallet_type"), Address: w.text("address"),
			PublicKey: w.text("public_key"), Created: w.integer("created")}
	}
	if !bound {
		return nil, fmt.Errorf("%w: %s among %d verified wallets of user %s at height %d",
			ErrWalletNotProven, v.AccountID(), len(read.rows), uid, read.height)
	}
	return out, nil
}

// ProvenUser is the caller's user row, proven.
type ProvenUser struct {
	Caller
	Height int64 `json:"height"`
	User   User  `json:"-"`
}

// User proves the caller (Caller) and then its user's row: idos.get_user's
// bundle must be the row Key("idos_users", [uid]).
func (v *Verifier) User(ctx context.Context) (*ProvenUser, error) {
	c, err := v.Caller(ctx)
	if err != nil {
		return nil, err
	}
	b, err := v.Query(ctx, "idos.get_user", nil)
	if err != nil {
		return nil, fmt.Errorf("idos.get_user: %w", err)
	}
	read, err := v.verifyRow(ctx, idosschema.Users, []any{c.UserID}, b)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", c.UserID, err)
	}
	r := read.rows[0]
	return &ProvenUser{Caller: *c, Height: read.height, User: User{ID: r.text("id"),
		EncryptionPublicKey: r.text("encryption_public_key"), Inserter: r.text("inserter"), Created: r.integer("created")}}, nil
}

// ProvenCredentials is the complete set of the caller's user's credentials.
type ProvenCredentials struct {
	Caller
	Height      int64        `json:"height"`
	Credentials []Credential `json:"-"`
}

// Credentials proves the caller (Caller), then idos.get_credentials's
// bundle as the complete range Key("idos_credentials", [uid]).
func (v *Verifier) Credentials(ctx context.Context) (*ProvenCredentials, error) {
	c, err := v.Caller(ctx)
	if err != nil {
		return nil, err
	}
	read, err := v.rangeOf(ctx, "idos.get_credentials", nil, idosschema.Credentials, []any{c.UserID}, nil)
	if err != nil {
		return nil, fmt.Errorf("credentials of user %s: %w", c.UserID, err)
	}
	out := &ProvenCredentials{Caller: *c, Height: read.height, Credentials: make([]Credential, len(read.rows))}
	for i, r := range read.rows {
		out.Credentials[i] = credentialOf(r)
	}
	return out, nil
}

// ProvenGrants is a complete set of grants.
type ProvenGrants struct {
	Height int64   `json:"height"`
	Grants []Grant `json:"grants"`
}

// GrantsOwned proves the caller (Caller), then idos.get_grants_owned's
// bundle as the complete range Key("idos_grants", [uid]).
func (v *Verifier) GrantsOwned(ctx context.Context) (*ProvenGrants, error) {
	c, err := v.Caller(ctx)
	if err != nil {
		return nil, err
	}
	return v.grants(ctx, "idos.get_grants_owned", idosschema.Grants, c.UserID)
}

// GrantsReceived proves idos.get_grants_received's bundle as the complete
// range Key("idos_grants_by_grantee", [caller's account id]). The caller
// needs no user: grants are made to accounts.
func (v *Verifier) GrantsReceived(ctx context.Context) (*ProvenGrants, error) {
	return v.grants(ctx, "idos.get_grants_received", idosschema.GrantsByGrantee, v.AccountID())
}

func (v *Verifier) grants(ctx context.Context, name string, t idosschema.Table, owner string) (*ProvenGrants, error) {
	read, err := v.rangeOf(ctx, name, nil, t, []any{owner}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", t.Name, owner, err)
	}
	out := &ProvenGrants{Height: read.height, Grants: make([]Grant, len(read.rows))}
	for i, r := range read.rows {
		out.Grants[i] = Grant{ID: r.text("id"), OwnerUserID: r.text("owner_user_id"), Grantee: r.text("grantee"),
			DataID: r.text("data_id"), LockedUntil: r.integer("locked_until"), ContentHash: r.text("content_hash"),
			Origin: r.text("origin"), Created: r.integer("created")}
	}
	return out, nil
}

// ProvenCredential is one credential, proven, and how the caller may read
// it: as the owner (Caller set) or under a grant (Grant set).
type ProvenCredential struct {
	Height     int64      `json:"height"`
	Credential Credential `json:"-"`
	Caller     *Caller    `json:"caller,omitempty"`
	Grant      *Grant     `json:"grant,omitempty"`
}

// CheckPlaintext checks a decrypted shared copy against its grant: the
// grant's content hash is the hex SHA-256 of the plaintext the owner
// shared (node/userclient.ShareCredential), else ErrContentHash. An
// owner's own credential has no grant and passes.
func (p *ProvenCredential) CheckPlaintext(plaintext []byte) error {
	if p.Grant == nil {
		return nil
	}
	sum := sha256.Sum256(plaintext)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, p.Grant.ContentHash) {
		return fmt.Errorf("%w: copy %s of grant %s decrypts to SHA-256 %s, the grant says %s",
			ErrContentHash, p.Credential.ID, p.Grant.ID, got, p.Grant.ContentHash)
	}
	return nil
}

// Credential proves the credential id read by idos.get_credential:
//
//  1. the complete range of grants received (GrantsReceived); if one of
//     them has the credential as its copy (data_id), the row must be
//     Key("idos_credentials", [grant's owner, id]), a shared copy;
//  2. otherwise the caller's user (Caller), and the row must be
//     Key("idos_credentials", [uid, id]);
//  3. a gateway that answers anything else (another row, a row it made
//     up, a row under no proven grant) fails verification; a credential
//     the proven state shows neither owned nor shared is ErrNotGranted.
func (v *Verifier) Credential(ctx context.Context, id string) (*ProvenCredential, error) {
	b, err := v.Query(ctx, "idos.get_credential", struct {
		CredentialID string `json:"credential_id"`
	}{id})
	if err != nil {
		return nil, fmt.Errorf("idos.get_credential: %w", err)
	}
	got, err := v.GrantsReceived(ctx)
	if err != nil {
		return nil, err
	}
	for i := range got.Grants {
		g := got.Grants[i]
		if g.DataID != id {
			continue
		}
		read, err := v.verifyRow(ctx, idosschema.Credentials, []any{g.OwnerUserID, id}, b)
		if err != nil {
			return nil, fmt.Errorf("copy %s of grant %s: %w", id, g.ID, err)
		}
		c := credentialOf(read.rows[0])
		if c.OriginalID == "" {
			return nil, fmt.Errorf("%w: grant %s names %s, which is an original, not a shared copy", ErrNotGranted, g.ID, id)
		}
		return &ProvenCredential{Height: read.height, Credential: c, Grant: &g}, nil
	}
	caller, err := v.Caller(ctx)
	if err != nil {
		// Not shared with the caller (proven), and the caller's user is
		// not proven either.
		return nil, fmt.Errorf("%w: %s holds no grant on %s (complete at height %d), and its user is not proven: %w",
			ErrNotGranted, v.AccountID(), id, got.Height, err)
	}
	read, err := v.verifyRow(ctx, idosschema.Credentials, []any{caller.UserID, id}, b)
	if err != nil {
		return nil, fmt.Errorf("credential %s of user %s: %w", id, caller.UserID, err)
	}
	return &ProvenCredential{Height: read.height, Credential: credentialOf(read.rows[0]), Caller: caller}, nil
}

func credentialOf(r row) Credential {
	return Credential{ID: r.text("id"), UserID: r.text("user_id"), IssuerAuthPublicKey: r.text("issuer_auth_public_key"),
		EncryptorPublicKey: r.text("encryptor_public_key"), Content: r.text("content"),
		PublicNotes: r.text("public_notes"), OriginalID: r.text("original_id"),
		Created: r.integer("created"), Updated: r.integer("updated")}
}

// claimedUser is the user id a wallets bundle claims: the user_id of its
// first row. Unverified; Caller checks it.
func claimedUser(b *readproof.Bundle) (string, error) {
	if b == nil || len(b.Rows) == 0 {
		return "", fmt.Errorf("%w: the gateway's proof of the caller's wallets has no rows", readproof.ErrWrongAnswer)
	}
	vals, err := commitment.DecodeRow(b.Rows[0].Row)
	if err != nil {
		return "", fmt.Errorf("%w: wallet row: %w", readproof.ErrBadRows, err)
	}
	i := idosschema.Wallets.Index("user_id")
	uid, ok := "", false
	if i < len(vals) {
		uid, ok = vals[i].(string)
	}
	if !ok || uid == "" {
		return "", fmt.Errorf("%w: wallet row without a user id", readproof.ErrBadRows)
	}
	return uid, nil
}

// row is a verified row with its table's column names.
type row struct {
	t    idosschema.Table
	vals []any
}

func (r row) text(col string) string {
	s, _ := r.vals[r.t.Index(col)].(string)
	return s
}

func (r row) integer(col string) int64 {
	n, _ := r.vals[r.t.Index(col)].(int64)
	return n
}

type read struct {
	height int64
	rows   []row
}

// rangeOf proves the complete range of t under the leading key values pk,
// which the read name covers: one bundle (Query), or pages (QueryPage).
// first is the read's first answer if already fetched.
func (v *Verifier) rangeOf(ctx context.Context, name string, data any, t idosschema.Table, pk []any, first *readproof.Bundle) (*read, error) {
	if v.QueryPage == nil {
		if first == nil {
			var err error
			if first, err = v.Query(ctx, name, data); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return v.verify(ctx, t, readproof.KindRange, pk, first)
	}
	prefix, err := commitment.Key(t.Name, pk)
	if err != nil {
		return nil, err
	}
	r, err := v.Reader.RangePages(ctx, prefix, func(ctx context.Context, after []byte, height int64) (*readproof.Bundle, error) {
		if after == nil && first != nil {
			b := first
			first = nil // a restart asks again
			return b, nil
		}
		b, err := v.QueryPage(ctx, name, data, after, height)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return named(t, r)
}

// verifyRow verifies b as the one row of t with the key pk (present).
func (v *Verifier) verifyRow(ctx context.Context, t idosschema.Table, pk []any, b *readproof.Bundle) (*read, error) {
	return v.verify(ctx, t, readproof.KindRow, pk, b)
}

func (v *Verifier) verify(ctx context.Context, t idosschema.Table, kind readproof.Kind, pk []any, b *readproof.Bundle) (*read, error) {
	key, err := commitment.Key(t.Name, pk)
	if err != nil {
		return nil, err
	}
	r, err := v.Reader.Verify(ctx, kind, key, b)
	if err != nil {
		return nil, err
	}
	return named(t, r)
}

// named gives a verified read's rows the columns of t (ErrSchema if their
// count differs).
func named(t idosschema.Table, r *lightclient.Read) (*read, error) {
	out := &read{height: r.Height, rows: make([]row, len(r.Rows))}
	for i, vr := range r.Rows {
		if len(vr.Values) != len(t.Columns) {
			return nil, fmt.Errorf("%w: verified row %x of %s has %d columns, this client knows %d (%s)",
				ErrSchema, vr.Key, t.Name, len(vr.Values), len(t.Columns), strings.Join(t.Columns, ", "))
		}
		out.rows[i] = row{t: t, vals: vr.Values}
	}
	return out, nil
}
