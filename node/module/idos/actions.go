package idos

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/wire"
)

// The wire forms of the module's payloads live in node/wire, which clients
// import without linking the module.
type (
	WalletInput             = wire.WalletInput
	AddUserPayload          = wire.AddUserPayload
	AddWalletPayload        = wire.AddWalletPayload
	RemoveWalletPayload     = wire.RemoveWalletPayload
	RemoveCredentialPayload = wire.RemoveCredentialPayload
	RevokeGrantPayload      = wire.RevokeGrantPayload
	RemoveAttributePayload  = wire.RemoveAttributePayload
	DelegatePayload         = wire.DelegatePayload
	AddCredentialPayload    = wire.AddCredentialPayload
	EditCredentialPayload   = wire.EditCredentialPayload
	ShareCredentialPayload  = wire.ShareCredentialPayload
	AddAttributePayload     = wire.AddAttributePayload
)

func exists(env *module.Env, query string, args ...any) (bool, error) {
	var one int
	err := env.DB.QueryRowContext(env.Ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// linkWallet checks a wallet's ownership proof and inserts it.
func linkWallet(env *module.Env, userID string, w WalletInput) error {
	if err := checkID("wallet_id", w.WalletID); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"wallet_type", w.WalletType}, {"address", w.Address}, {"public_key", w.PublicKey}} {
		if err := checkText(f.name, f.v, MaxFieldBytes, f.name != "public_key"); err != nil {
			return err
		}
	}
	if err := checkText("message", w.Message, MaxNotesBytes, true); err != nil {
		return err
	}
	scheme, err := env.Schemes.Lookup(w.WalletType)
	if err != nil {
		return invalid("wallet_type: %v", err)
	}
	signer, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(w.Address), "0x"))
	if err != nil {
		return invalid("address %q is not hex-encoded signer bytes", w.Address)
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(w.Signature, "0x"))
	if err != nil {
		return invalid("signature is not hex")
	}
	ident, err := scheme.Verify(signer, []byte(w.Message), sig)
	if err != nil {
		return fmt.Errorf("%w: wallet ownership proof: %w", ErrUnauthorized, err)
	}
	if want := wire.LinkMessage(userID, w.WalletType, ident); w.Message != want {
		return invalid("message must be exactly %q", want)
	}
	if taken, err := exists(env, `SELECT 1 FROM idos_wallets WHERE wallet_type = ? AND address = ?`, w.WalletType, ident); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("%w: wallet %s:%s is already linked to a user", ErrUnauthorized, w.WalletType, ident)
	}
	_, err = env.DB.ExecContext(env.Ctx,
		`INSERT INTO idos_wallets (id, user_id, wallet_type, address, public_key, message, signature, created)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		w.WalletID, userID, w.WalletType, ident, w.PublicKey, w.Message, hex.EncodeToString(sig), env.Time)
	return err
}

func addUser(env *module.Env, payload []byte) error {
	var p AddUserPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if err := checkID("user_id", p.UserID); err != nil {
		return err
	}
	if err := checkKey32("encryption_public_key", p.EncryptionPublicKey); err != nil {
		return err
	}
	ins, err := inserterFor(env, env.Sender.AccountID())
	if err != nil {
		return err
	}
	if ins == "" {
		return fmt.Errorf("%w: %s is not an inserter or a delegate of one", ErrUnauthorized, env.Sender.AccountID())
	}
	if _, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO idos_users (id, encryption_public_key, inserter, created) VALUES (?, ?, ?, ?)`,
		p.UserID, p.EncryptionPublicKey, ins, env.Time); err != nil {
		return fmt.Errorf("user %s: %w", p.UserID, err)
	}
	return linkWallet(env, p.UserID, p.Wallet)
}

func addWallet(env *module.Env, payload []byte) error {
	var p AddWalletPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if err := checkID("user_id", p.UserID); err != nil {
		return err
	}
	if err := mustActForUser(env, p.UserID); err != nil {
		return err
	}
	return linkWallet(env, p.UserID, p.Wallet)
}

func removeWallet(env *module.Env, payload []byte) error {
	var p RemoveWalletPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	user, err := mustBeUser(env)
	if err != nil {
		return err
	}
	var n int
	if err := env.DB.QueryRowContext(env.Ctx, `SELECT count(*) FROM idos_wallets WHERE user_id = ?`, user).Scan(&n); err != nil {
		return err
	}
	if ok, err := exists(env, `SELECT 1 FROM idos_wallets WHERE id = ? AND user_id = ?`, p.WalletID, user); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: no wallet %s of your user", module.ErrNotFound, p.WalletID)
	}
	if n <= 1 {
		return fmt.Errorf("%w: cannot remove the last wallet of a user", ErrUnauthorized)
	}
	_, err = env.DB.ExecContext(env.Ctx, `DELETE FROM idos_wallets WHERE id = ?`, p.WalletID)
	return err
}

func addCredential(env *module.Env, payload []byte) error {
	var p AddCredentialPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if err := errors.Join(checkID("credential_id", p.CredentialID), checkID("user_id", p.UserID),
		checkText("issuer_auth_public_key", p.IssuerAuthPublicKey, MaxFieldBytes, true),
		checkKey32("encryptor_public_key", p.EncryptorPublicKey), checkCiphertext("content", p.Content),
		checkText("public_notes", p.PublicNotes, MaxNotesBytes, false)); err != nil {
		return err
	}
	if err := mustActForUser(env, p.UserID); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO idos_credentials (id, user_id, issuer_auth_public_key, encryptor_public_key, content, public_notes, original_id, created, updated)
		 VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)`,
		p.CredentialID, p.UserID, p.IssuerAuthPublicKey, p.EncryptorPublicKey, p.Content, p.PublicNotes, env.Time, env.Time)
	if err != nil {
		return fmt.Errorf("credential %s: %w", p.CredentialID, err)
	}
	return nil
}

// ownCredential checks that id is an original credential of the sender's
// user.
func ownCredential(env *module.Env, id string) (user string, err error) {
	if user, err = mustBeUser(env); err != nil {
		return "", err
	}
	ok, err := exists(env, `SELECT 1 FROM idos_credentials WHERE id = ? AND user_id = ? AND original_id = ''`, id, user)
	if err == nil && !ok {
		err = fmt.Errorf("%w: no credential %s of your user", module.ErrNotFound, id)
	}
	return user, err
}

func editCredential(env *module.Env, payload []byte) error {
	var p EditCredentialPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if err := errors.Join(checkKey32("encryptor_public_key", p.EncryptorPublicKey), checkCiphertext("content", p.Content),
		checkText("public_notes", p.PublicNotes, MaxNotesBytes, false)); err != nil {
		return err
	}
	if _, err := ownCredential(env, p.CredentialID); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx,
		`UPDATE idos_credentials SET encryptor_public_key = ?, content = ?, public_notes = ?, updated = ? WHERE id = ?`,
		p.EncryptorPublicKey, p.Content, p.PublicNotes, env.Time, p.CredentialID)
	return err
}

// lockedGrant returns the id and lock time of a grant on the given data ids
// that is still locked at the block time, or "".
func lockedGrant(env *module.Env, where string, args ...any) (string, int64, error) {
	var id string
	var until int64
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT id, locked_until FROM idos_grants WHERE (`+where+`) AND locked_until > ? ORDER BY id LIMIT 1`,
		append(args, env.Time)...).Scan(&id, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	return id, until, err
}

// ErrLocked is returned when a grant's lock forbids a removal.
var ErrLocked = errors.New("locked by an access grant")

// lockTime words a grant's locked_until (Unix seconds, compared with block
// time) for the refusal's message, which people read: RFC 3339 in UTC, so it
// is the same text on every node. The stored value stays Unix seconds.
func lockTime(until int64) string {
	return time.Unix(until, 0).UTC().Format(time.RFC3339)
}

func removeCredential(env *module.Env, payload []byte) error {
	var p RemoveCredentialPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if _, err := ownCredential(env, p.CredentialID); err != nil {
		return err
	}
	const onCopies = `data_id = ? OR data_id IN (SELECT id FROM idos_credentials WHERE original_id = ?)`
	if g, until, err := lockedGrant(env, onCopies, p.CredentialID, p.CredentialID); err != nil {
		return err
	} else if g != "" {
		return fmt.Errorf("%w: grant %s keeps credential %s until %s", ErrLocked, g, p.CredentialID, lockTime(until))
	}
	for _, q := range []string{
		`DELETE FROM idos_grants_by_grantee WHERE (grantee, id) IN (SELECT grantee, id FROM idos_grants WHERE ` + onCopies + `)`,
		`DELETE FROM idos_grants WHERE ` + onCopies,
		`DELETE FROM idos_credentials WHERE original_id = ?`,
		`DELETE FROM idos_credentials WHERE id = ?`,
	} {
		args := []any{p.CredentialID}
		if strings.Count(q, "?") == 2 {
			args = append(args, p.CredentialID)
		}
		if _, err := env.DB.ExecContext(env.Ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func shareCredential(env *module.Env, payload []byte) error {
	var p ShareCredentialPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if err := errors.Join(checkID("credential_id", p.CredentialID), checkID("copy_id", p.CopyID), checkID("grant_id", p.GrantID),
		checkKey32("encryptor_public_key", p.EncryptorPublicKey), checkCiphertext("content", p.Content),
		checkText("content_hash", p.ContentHash, MaxFieldBytes, false), checkAccountID("grantee", p.Grantee)); err != nil {
		return err
	}
	if p.LockedUntil < 0 {
		return invalid("locked_until must be a Unix time or 0")
	}
	user, err := ownCredential(env, p.CredentialID)
	if err != nil {
		return err
	}
	var issuer string
	if err := env.DB.QueryRowContext(env.Ctx, `SELECT issuer_auth_public_key FROM idos_credentials WHERE id = ?`, p.CredentialID).Scan(&issuer); err != nil {
		return err
	}
	if _, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO idos_credentials (id, user_id, issuer_auth_public_key, encryptor_public_key, content, public_notes, original_id, created, updated)
		 VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)`,
		p.CopyID, user, issuer, p.EncryptorPublicKey, p.Content, p.CredentialID, env.Time, env.Time); err != nil {
		return fmt.Errorf("copy %s: %w", p.CopyID, err)
	}
	// The grant and its copy keyed by grantee (idos_grants_by_grantee),
	// the same row in both tables.
	for _, table := range []string{"idos_grants", "idos_grants_by_grantee"} {
		_, err = env.DB.ExecContext(env.Ctx,
			`INSERT INTO `+table+` (id, owner_user_id, grantee, data_id, locked_until, content_hash, origin, created)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.GrantID, user, p.Grantee, p.CopyID, p.LockedUntil, p.ContentHash, OriginInternal, env.Time)
		if err != nil {
			return fmt.Errorf("grant %s: %w", p.GrantID, err)
		}
	}
	return nil
}

func revokeGrant(env *module.Env, payload []byte) error {
	var p RevokeGrantPayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	user, err := mustBeUser(env)
	if err != nil {
		return err
	}
	var dataID string
	var until int64
	err = env.DB.QueryRowContext(env.Ctx, `SELECT data_id, locked_until FROM idos_grants WHERE id = ? AND owner_user_id = ?`,
		p.GrantID, user).Scan(&dataID, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: no grant %s given by your user", module.ErrNotFound, p.GrantID)
	}
	if err != nil {
		return err
	}
	if until > env.Time {
		return fmt.Errorf("%w: grant %s is locked until %s", ErrLocked, p.GrantID, lockTime(until))
	}
	for _, table := range []string{"idos_grants", "idos_grants_by_grantee"} {
		if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM `+table+` WHERE id = ?`, p.GrantID); err != nil {
			return err
		}
	}
	// The copy exists only for this grant; other grants on the same copy
	// (none are made by this module) would keep it.
	_, err = env.DB.ExecContext(env.Ctx,
		`DELETE FROM idos_credentials WHERE id = ? AND original_id != '' AND NOT EXISTS (SELECT 1 FROM idos_grants WHERE data_id = ?)`,
		dataID, dataID)
	return err
}

func addAttribute(env *module.Env, payload []byte) error {
	var p AddAttributePayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if err := errors.Join(checkID("attribute_id", p.AttributeID), checkText("name", p.Name, MaxFieldBytes, true),
		checkText("value", p.Value, MaxNotesBytes, false)); err != nil {
		return err
	}
	user, err := mustBeUser(env)
	if err != nil {
		return err
	}
	_, err = env.DB.ExecContext(env.Ctx, `INSERT INTO idos_attributes (id, user_id, name, value, created) VALUES (?, ?, ?, ?, ?)`,
		p.AttributeID, user, p.Name, p.Value, env.Time)
	if err != nil {
		return fmt.Errorf("attribute %s: %w", p.AttributeID, err)
	}
	return nil
}

func removeAttribute(env *module.Env, payload []byte) error {
	var p RemoveAttributePayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	user, err := mustBeUser(env)
	if err != nil {
		return err
	}
	res, err := env.DB.ExecContext(env.Ctx, `DELETE FROM idos_attributes WHERE id = ? AND user_id = ?`, p.AttributeID, user)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no attribute %s of your user", module.ErrNotFound, p.AttributeID)
	}
	return nil
}

func mustBeInserter(env *module.Env) (string, error) {
	me := env.Sender.AccountID()
	ok, err := isInserter(env, me)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s is not an inserter", ErrUnauthorized, me)
	}
	return me, err
}

func addDelegate(env *module.Env, payload []byte) error {
	var p DelegatePayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	if err := checkAccountID("delegate", p.Delegate); err != nil {
		return err
	}
	me, err := mustBeInserter(env)
	if err != nil {
		return err
	}
	_, err = env.DB.ExecContext(env.Ctx, `INSERT INTO idos_delegates (inserter, delegate, added) VALUES (?, ?, ?)`, me, p.Delegate, env.Time)
	if err != nil {
		return fmt.Errorf("delegate %s: %w", p.Delegate, err)
	}
	return nil
}

func removeDelegate(env *module.Env, payload []byte) error {
	var p DelegatePayload
	if err := module.Decode(payload, &p); err != nil {
		return err
	}
	me, err := mustBeInserter(env)
	if err != nil {
		return err
	}
	res, err := env.DB.ExecContext(env.Ctx, `DELETE FROM idos_delegates WHERE inserter = ? AND delegate = ?`, me, p.Delegate)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s is not your delegate", module.ErrNotFound, p.Delegate)
	}
	return nil
}
