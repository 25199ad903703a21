// Package validators is the validator set by approval: a candidate asks to
// join, current validators approve, and once approvals reach the genesis
// threshold of voting power before the request expires, the candidate joins.
// Validators can leave, and can be removed by the same approval process.
// Power changes reach CometBFT as validator updates at the end of the block.
//
// Validators are identified by their CometBFT validator key (ed25519), as
// lowercase hex; they sign their transactions with it (scheme "ed25519").
package validators

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
)

// Errors of rejected actions, wrapped with detail.
var (
	ErrNotValidator  = errors.New("not a validator")
	ErrSelfApproval  = errors.New("no self-approval")
	ErrNoRequest     = errors.New("no such request")
	ErrExpired       = errors.New("request expired")
	ErrDecided       = errors.New("request already decided")
	ErrDuplicate     = errors.New("duplicate")
	ErrLastValidator = errors.New("the last validator cannot leave")
	ErrWrongScheme   = errors.New("validators sign with their ed25519 validator key")
)

// Request kinds.
const (
	KindJoin   = "join"
	KindRemove = "remove"
)

// Request states.
const (
	StatusPending   = approval.StatusPending
	StatusApproved  = approval.StatusApproved
	StatusExpired   = approval.StatusExpired
	StatusWithdrawn = "withdrawn" // a removal whose target left first
)

// engine runs join and removal requests on validator_requests and
// validator_approvals (node/module/approval), counting current power.
var engine = &approval.Engine{
	Tables: approval.Tables{Requests: "validator_requests", Approvals: "validator_approvals", Subject: "target"},
	Power:  VotingPower{},
	Errors: approval.Errors{NotFound: ErrNoRequest, Expired: ErrExpired, Decided: ErrDecided, Duplicate: ErrDuplicate},
	Noun:   "request",
}

// schema: the requests and approvals tables (one row per (kind, target):
// the latest request; a new request after a decision reuses the row) come
// from the approval engine, between the params and the updates tables as
// they always were.
var schema = slices.Concat([]string{
	`CREATE TABLE validators (
		pubkey TEXT PRIMARY KEY,
		power  INTEGER NOT NULL CHECK (power > 0),
		since  INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
	`CREATE TABLE validator_params (
		id                 INTEGER PRIMARY KEY CHECK (id = 1),
		join_expiry_blocks INTEGER NOT NULL,
		threshold_num      INTEGER NOT NULL,
		threshold_den      INTEGER NOT NULL,
		new_power          INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
}, engine.Tables.Schema(), []string{
	// Power changes of the current block, drained by EndBlock. prev_power
	// is the power before the block's first change, so a join and a leave
	// in one block cancel out instead of removing an unknown validator.
	`CREATE TABLE validator_updates (
		pubkey     TEXT PRIMARY KEY,
		prev_power INTEGER NOT NULL,
		power      INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
})

// Module returns the validators module.
func Module() module.Module {
	return module.Module{
		Name:   "validators",
		Errors: Codes,
		Schema: schema,
		Actions: map[string]module.Action{
			"validators.join":    join,
			"validators.approve": approve,
			"validators.leave":   leave,
			"validators.remove":  remove,
		},
		Queries: map[string]module.Query{
			"validators.list":     list,
			"validators.requests": requests,
		},
		InitGenesis: initGenesis,
		EndBlock:    endBlock,
		Genesis: &module.GenesisSection{
			Default:  func() any { p := DefaultParams(); return &p },
			Validate: func(v any) error { return v.(*Params).Validate() },
		},
	}
}

// parseKey normalises a validator key given in hex.
func parseKey(field, s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(s, "0x"))
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%w: %s must be a 32-byte ed25519 public key in hex", module.ErrInvalidPayload, field)
	}
	return s, nil
}

// senderKey is the sender's validator key, which must be an ed25519 key.
func senderKey(env *module.Env) (string, error) {
	if env.Sender.Scheme != auth.SchemeEd25519 {
		return "", fmt.Errorf("%w; this transaction uses scheme %q", ErrWrongScheme, env.Sender.Scheme)
	}
	return env.Sender.Identifier, nil
}

func initGenesis(env *module.Env, g module.Genesis) error {
	p, err := paramsFromAppState(g.AppState)
	if err != nil {
		return err
	}
	if _, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO validator_params (id, join_expiry_blocks, threshold_num, threshold_den, new_power) VALUES (1, ?, ?, ?, ?)`,
		p.JoinExpiryBlocks, p.ApprovalThreshold.Numerator, p.ApprovalThreshold.Denominator, p.NewValidatorPower); err != nil {
		return err
	}
	for _, v := range g.Validators {
		if len(v.PubKey) != 32 {
			return fmt.Errorf("validators: genesis validator key of %d bytes; only ed25519 is supported", len(v.PubKey))
		}
		if v.Power <= 0 {
			continue
		}
		if _, err := env.DB.ExecContext(env.Ctx, `INSERT INTO validators (pubkey, power, since) VALUES (?, ?, 0)`,
			hex.EncodeToString(v.PubKey), v.Power); err != nil {
			return fmt.Errorf("validators: genesis validator %x: %w", v.PubKey, err)
		}
	}
	return nil
}
