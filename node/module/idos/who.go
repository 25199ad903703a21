package idos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
)

// ErrUnauthorized is returned when the sender may not perform an action.
var ErrUnauthorized = errors.New("not allowed")

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// userOf returns the user whose wallet the account is, or "".
func userOf(env *module.Env, q querier, account module.Sender) (string, error) {
	var id string
	err := q.QueryRowContext(env.Ctx, `SELECT user_id FROM idos_wallets WHERE wallet_type = ? AND address = ?`,
		account.Scheme, account.Identifier).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// inserterFor returns the inserter the account acts for: itself if it is
// one, else the first inserter (by id) that named it a delegate, or "".
func inserterFor(env *module.Env, account string) (string, error) {
	var id string
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT id FROM idos_inserters WHERE id = ?
		 UNION ALL
		 SELECT inserter FROM idos_delegates WHERE delegate = ?
		 ORDER BY 1 LIMIT 1`, account, account).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// userInserter returns the inserter that created the user; ErrNotFound if
// the user does not exist.
func userInserter(env *module.Env, userID string) (string, error) {
	var ins string
	err := env.DB.QueryRowContext(env.Ctx, `SELECT inserter FROM idos_users WHERE id = ?`, userID).Scan(&ins)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: no user %s", module.ErrNotFound, userID)
	}
	return ins, err
}

// mustActForUser allows the user itself (any linked wallet) and the user's
// inserter or that inserter's delegates.
func mustActForUser(env *module.Env, userID string) error {
	ins, err := userInserter(env, userID)
	if err != nil {
		return err
	}
	own, err := userOf(env, env.DB, env.Sender)
	if err != nil || own == userID {
		return err
	}
	acting, err := inserterFor(env, env.Sender.AccountID())
	if err != nil || (acting != "" && acting == ins) {
		return err
	}
	// A delegate of several inserters: check this user's inserter too.
	var n int
	if err := env.DB.QueryRowContext(env.Ctx,
		`SELECT count(*) FROM idos_delegates WHERE inserter = ? AND delegate = ?`, ins, env.Sender.AccountID()).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return fmt.Errorf("%w: %s may not act for user %s", ErrUnauthorized, env.Sender.AccountID(), userID)
}

// mustBeUser returns the sender's own user, or an error if the sender is
// not a linked wallet.
func mustBeUser(env *module.Env) (string, error) {
	id, err := userOf(env, env.DB, env.Sender)
	if err == nil && id == "" {
		err = fmt.Errorf("%w: %s is not a wallet of any user", ErrUnauthorized, env.Sender.AccountID())
	}
	return id, err
}
