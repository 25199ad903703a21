// Package drivers brings access grants made on external chains into the
// idOS grants tables by agreement of the validators (docs/spec/drivers.md).
//
// Each validator runs a driver per enabled chain beside consensus
// (node/listener): it reads the chain at the chain's finality and reports
// what it saw as observation.Grant encodings in drivers.attest
// transactions, signed with its ed25519 validator key. Every distinct
// encoding is a proposal of kind "observation" on the shared approval
// engine (node/module/approval) whose subject is the SHA-256 of the
// encoding; a validator's attestation is its approval. When validators with
// at least the genesis threshold (2/3) of the current voting power attested
// the identical encoding, it is applied to idos_grants; otherwise it
// expires after expiry_blocks. Nothing a driver does runs inside a block:
// blocks only see signed transactions.
//
// The enabled chains are chain state: a genesis list, extended by
// drivers.propose_chain and drivers.approve_chain on the same engine (kind
// "chain"). A proposal's driver module is chain state too: uploaded with
// plugins.upload, taken into wasm_modules (kind "driver") by
// drivers.propose_chain, and dropped when no chain config names it.
package drivers

import (
	"errors"
	"slices"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/validators"
)

// Errors of refused actions, wrapped with detail.
var (
	ErrNotValidator = errors.New("not a validator")
	ErrWrongScheme  = errors.New("driver transactions are signed with an ed25519 validator key")
	ErrNoProposal   = errors.New("no such proposal")
	ErrExpired      = errors.New("proposal expired")
	ErrDecided      = errors.New("proposal already decided")
	ErrDuplicate    = errors.New("duplicate")
	ErrObservation  = errors.New("observation refused")
	ErrUnknownChain = errors.New("chain not enabled")
	ErrChainConfig  = errors.New("bad chain config")
)

// Proposal kinds.
const (
	KindObservation = "observation"
	KindChain       = "chain"
)

// Closing statuses of observation proposals besides approval.Status*: the
// observation was agreed but changed no grant.
const (
	// StatusStale: a newer observation of the same grant was applied
	// before (its block number is higher).
	StatusStale = "stale"
	// StatusUnmatched: an added grant whose owner wallet or credential is
	// not on this network.
	StatusUnmatched = "unmatched"
)

var engine = &approval.Engine{
	Tables: approval.Tables{Requests: "driver_requests", Approvals: "driver_approvals", Subject: "digest"},
	Power:  validators.VotingPower{},
	Errors: approval.Errors{NotFound: ErrNoProposal, Expired: ErrExpired, Decided: ErrDecided, Duplicate: ErrDuplicate},
	Noun:   "proposal",
}

var schema = slices.Concat([]string{
	`CREATE TABLE driver_params (
		id                INTEGER PRIMARY KEY CHECK (id = 1),
		expiry_blocks     INTEGER NOT NULL,
		threshold_num     INTEGER NOT NULL,
		threshold_den     INTEGER NOT NULL,
		max_observations  INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
	// The enabled chains (and proposed ones, status pending).
	`CREATE TABLE driver_chains (
		chain          TEXT NOT NULL,
		contract       TEXT NOT NULL,
		confirmations  INTEGER NOT NULL,
		driver_sha256  TEXT NOT NULL,
		account_scheme TEXT NOT NULL,
		lock_unit      TEXT NOT NULL,
		status         TEXT NOT NULL,
		digest         TEXT NOT NULL,
		height         INTEGER NOT NULL,
		PRIMARY KEY (chain, contract)
	) STRICT, WITHOUT ROWID`,
	// The body of every pending proposal: an observation's canonical
	// encoding, a chain config's JSON; dropped when the proposal closes.
	`CREATE TABLE driver_pending (
		kind   TEXT NOT NULL,
		digest TEXT NOT NULL,
		body   BLOB NOT NULL,
		PRIMARY KEY (kind, digest)
	) STRICT, WITHOUT ROWID`,
	// The last applied observation of every grant from a chain, keyed by
	// the idos grant id it maps to; kept after a deletion (kind
	// "deleted") so that an older observation never undoes a newer one.
	`CREATE TABLE driver_grants (
		grant_id     TEXT PRIMARY KEY,
		chain        TEXT NOT NULL,
		contract     TEXT NOT NULL,
		owner        TEXT NOT NULL,
		grantee      TEXT NOT NULL,
		data_id      TEXT NOT NULL,
		kind         TEXT NOT NULL,
		block_number INTEGER NOT NULL,
		block_hash   TEXT NOT NULL,
		tx_ref       TEXT NOT NULL,
		digest       TEXT NOT NULL,
		applied      INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
	modulesTable,
}, engine.Tables.Schema())

// Module returns the drivers module.
func Module() module.Module {
	return module.Module{
		Name:   "drivers",
		Errors: Codes,
		Schema: schema,
		Actions: map[string]module.Action{
			"drivers.attest":        attest,
			"drivers.propose_chain": proposeChain,
			"drivers.approve_chain": approveChain,
		},
		Queries: map[string]module.Query{
			"drivers.chains":  chainsQuery,
			"drivers.pending": pendingQuery,
			"drivers.grant":   grantQuery,
			"drivers.module":  moduleQuery,
		},
		InitGenesis: initGenesis,
		EndBlock:    endBlock,
		Genesis: &module.GenesisSection{
			Default: func() any { p := DefaultParams(); return &p },
			Validate: func(v any) error {
				p := v.(*Params)
				if p.Chains == nil {
					p.Chains = []Chain{} // null and [] are the same genesis
				}
				return p.Validate()
			},
		},
	}
}
