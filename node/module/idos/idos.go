// Package idos is the idOS data model: users, their wallets on many chains,
// end-to-end encrypted credentials, shared copies with access grants, user
// attributes, and the inserters (issuers) allowed to create users. The spec
// is docs/spec/data-model.md.
//
// Every action decides who may act from the authenticated sender: a linked
// wallet acts as its user; an inserter (or its delegate) acts for the users
// it created. Nodes hold ciphertext only.
package idos

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/wire"
)

// OriginInternal is the origin of a grant made on this network.
const OriginInternal = wire.OriginInternal

var schema = slices.Concat([]string{
	`CREATE TABLE idos_inserters (
		id    TEXT PRIMARY KEY,
		added INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
	`CREATE TABLE idos_delegates (
		inserter TEXT NOT NULL,
		delegate TEXT NOT NULL,
		added    INTEGER NOT NULL,
		PRIMARY KEY (inserter, delegate)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX idos_delegates_by_delegate ON idos_delegates (delegate, inserter)`,
	`CREATE TABLE idos_users (
		id                    TEXT PRIMARY KEY,
		encryption_public_key TEXT NOT NULL,
		inserter              TEXT NOT NULL,
		created               INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
	`CREATE TABLE idos_wallets (
		id          TEXT NOT NULL UNIQUE,
		user_id     TEXT NOT NULL REFERENCES idos_users (id),
		wallet_type TEXT NOT NULL,
		address     TEXT NOT NULL,
		public_key  TEXT NOT NULL,
		message     TEXT NOT NULL,
		signature   TEXT NOT NULL,
		created     INTEGER NOT NULL,
		UNIQUE (wallet_type, address),
		PRIMARY KEY (user_id, id)
	) STRICT, WITHOUT ROWID`,
	`CREATE TABLE idos_credentials (
		id                     TEXT NOT NULL UNIQUE,
		user_id                TEXT NOT NULL REFERENCES idos_users (id),
		issuer_auth_public_key TEXT NOT NULL,
		encryptor_public_key   TEXT NOT NULL,
		content                TEXT NOT NULL,
		public_notes           TEXT NOT NULL,
		original_id            TEXT NOT NULL,
		created                INTEGER NOT NULL,
		updated                INTEGER NOT NULL,
		PRIMARY KEY (user_id, id)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX idos_credentials_by_original ON idos_credentials (original_id, id)`,
	`CREATE TABLE idos_grants (
		id            TEXT NOT NULL UNIQUE,
		owner_user_id TEXT NOT NULL REFERENCES idos_users (id),
		grantee       TEXT NOT NULL,
		data_id       TEXT NOT NULL,
		locked_until  INTEGER NOT NULL,
		content_hash  TEXT NOT NULL,
		origin        TEXT NOT NULL,
		created       INTEGER NOT NULL,
		PRIMARY KEY (owner_user_id, id)
	) STRICT, WITHOUT ROWID`,
	// Every grant again, keyed by its grantee (docs/spec/data-model.md):
	// written and deleted with its idos_grants row, so that "every grant
	// to this account" is a key prefix of the state trie.
	`CREATE TABLE idos_grants_by_grantee (
		id            TEXT NOT NULL UNIQUE,
		owner_user_id TEXT NOT NULL,
		grantee       TEXT NOT NULL,
		data_id       TEXT NOT NULL,
		locked_until  INTEGER NOT NULL,
		content_hash  TEXT NOT NULL,
		origin        TEXT NOT NULL,
		created       INTEGER NOT NULL,
		PRIMARY KEY (grantee, id)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX idos_grants_by_data ON idos_grants (data_id, id)`,
	`CREATE TABLE idos_attributes (
		id      TEXT NOT NULL UNIQUE,
		user_id TEXT NOT NULL REFERENCES idos_users (id),
		name    TEXT NOT NULL,
		value   TEXT NOT NULL,
		created INTEGER NOT NULL,
		PRIMARY KEY (user_id, id)
	) STRICT, WITHOUT ROWID`,
}, inserterSchema)

// Genesis is app_state.idos.
type Genesis struct {
	// Inserters are the account ids ("scheme:identifier") allowed to
	// create users from the start.
	Inserters []string `json:"inserters"`
	// InserterExpiryBlocks is how long a proposal to add or remove an
	// inserter stays open: opened at H, it can be approved until
	// H+InserterExpiryBlocks-1.
	InserterExpiryBlocks int64 `json:"inserter_expiry_blocks"`
	// InserterThreshold is the share of current voting power whose
	// approvals decide such a proposal ("at least").
	InserterThreshold approval.Fraction `json:"inserter_threshold"`
}

// DefaultGenesis: no inserter; inserter proposals stay open for 600 blocks
// and need 2/3 of the voting power, as validator join requests do.
func DefaultGenesis() Genesis {
	return Genesis{Inserters: []string{}, InserterExpiryBlocks: 600, InserterThreshold: approval.Fraction{Numerator: 2, Denominator: 3}}
}

const maxInserterExpiryBlocks = 1_000_000

// Validate checks the account ids and the rules of inserter proposals.
func (g Genesis) Validate() error {
	if g.InserterExpiryBlocks < 1 || g.InserterExpiryBlocks > maxInserterExpiryBlocks {
		return fmt.Errorf("idos genesis: inserter_expiry_blocks %d out of range (1..%d)", g.InserterExpiryBlocks, maxInserterExpiryBlocks)
	}
	if err := g.InserterThreshold.Check(); err != nil {
		return fmt.Errorf("idos genesis: inserter_threshold %w", err)
	}
	for _, id := range g.Inserters {
		if err := checkAccountID("inserter", id); err != nil {
			return fmt.Errorf("idos genesis: %w", err)
		}
	}
	return nil
}

// Module returns the idos module.
func Module() module.Module {
	return module.Module{
		Name:   "idos",
		Errors: Codes,
		Schema: schema,
		Actions: map[string]module.Action{
			"idos.add_user":          addUser,
			"idos.add_wallet":        addWallet,
			"idos.remove_wallet":     removeWallet,
			"idos.add_credential":    addCredential,
			"idos.edit_credential":   editCredential,
			"idos.remove_credential": removeCredential,
			"idos.share_credential":  shareCredential,
			"idos.revoke_grant":      revokeGrant,
			"idos.add_attribute":     addAttribute,
			"idos.remove_attribute":  removeAttribute,
			"idos.add_delegate":      addDelegate,
			"idos.remove_delegate":   removeDelegate,
			"idos.propose_inserter":  proposeInserter,
			"idos.approve_inserter":  approveInserter,
			"idos.remove_inserter":   removeInserter,
		},
		Queries: map[string]module.Query{
			"idos.inserters":          insertersQuery,
			"idos.inserter_proposals": inserterProposalsQuery,
		},
		PrivateQueries: map[string]module.PrivateQuery{
			"idos.get_user":            getUser,
			"idos.get_wallets":         getWallets,
			"idos.get_credentials":     getCredentials,
			"idos.get_credential":      getCredential,
			"idos.get_attributes":      getAttributes,
			"idos.get_grants_owned":    getGrantsOwned,
			"idos.get_grants_received": getGrantsReceived,
		},
		Scopes: map[string]module.Scope{
			"idos.get_user":            userScope("idos_users", false),
			"idos.get_wallets":         userScope("idos_wallets", true),
			"idos.get_credentials":     userScope("idos_credentials", true),
			"idos.get_credential":      credentialScope,
			"idos.get_attributes":      userScope("idos_attributes", true),
			"idos.get_grants_owned":    userScope("idos_grants", true),
			"idos.get_grants_received": granteeScope,
		},
		PrivateTables: []string{"idos_wallets", "idos_credentials", "idos_attributes", "idos_grants", "idos_grants_by_grantee"},
		InitGenesis:   initGenesis,
		EndBlock:      endBlock,
		Genesis: &module.GenesisSection{
			Default: func() any { g := DefaultGenesis(); return &g },
			Validate: func(v any) error {
				g := v.(*Genesis)
				if g.Inserters == nil {
					g.Inserters = []string{} // null and [] are the same genesis
				}
				return g.Validate()
			},
		},
	}
}

func initGenesis(env *module.Env, g module.Genesis) error {
	var s struct {
		IDOS Genesis `json:"idos"`
	}
	if err := json.Unmarshal(g.AppState, &s); err != nil {
		return fmt.Errorf("idos genesis: %w", err)
	}
	if err := s.IDOS.Validate(); err != nil {
		return err
	}
	if _, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO inserter_params (id, expiry_blocks, threshold_num, threshold_den) VALUES (1, ?, ?, ?)`,
		s.IDOS.InserterExpiryBlocks, s.IDOS.InserterThreshold.Numerator, s.IDOS.InserterThreshold.Denominator); err != nil {
		return err
	}
	ids := slices.Clone(s.IDOS.Inserters)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if _, err := env.DB.ExecContext(env.Ctx, `INSERT INTO idos_inserters (id, added) VALUES (?, 0)`, id); err != nil {
			return err
		}
	}
	return nil
}
