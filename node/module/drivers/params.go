package drivers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/observation"
)

// Params is app_state.drivers.
type Params struct {
	// ExpiryBlocks is how long a proposal (an observation, a chain) stays
	// open: opened at H, it can be attested or approved until H+ExpiryBlocks-1.
	ExpiryBlocks int64 `json:"expiry_blocks"`
	// Threshold is the share of current voting power that must attest the
	// identical observation (or approve a chain).
	Threshold approval.Fraction `json:"threshold"`
	// MaxObservations caps the observations of one drivers.attest.
	MaxObservations int64 `json:"max_observations"`
	// Chains are enabled from genesis.
	Chains []Chain `json:"chains"`
}

// Chain is one enabled external chain's driver configuration.
type Chain struct {
	// Chain and Contract are as the observations name them.
	Chain    string `json:"chain"`
	Contract string `json:"contract"`
	// Confirmations is the finality rule the drivers apply: a block is
	// read once it has this many blocks on top of it (0: the chain's own
	// finality, e.g. NEAR's final blocks).
	Confirmations int64 `json:"confirmations"`
	// DriverSHA256 is the hex SHA-256 of the driver's Wasm module every
	// validator runs for this chain.
	DriverSHA256 string `json:"driver_sha256"`
	// AccountScheme is the signature scheme whose identifiers the chain's
	// addresses are: the owner's linked wallet type, and the grantee's
	// account id is AccountScheme:address ("eip191" for EVM chains).
	AccountScheme string `json:"account_scheme"`
	// LockUnit is the unit of the contract's locked_until: "s" or "ns".
	LockUnit string `json:"lock_unit"`
}

// DefaultParams: proposals open for 20 blocks, threshold 2/3, 64
// observations per transaction, no chain enabled.
func DefaultParams() Params {
	return Params{ExpiryBlocks: 20, Threshold: approval.Fraction{Numerator: 2, Denominator: 3}, MaxObservations: 64, Chains: []Chain{}}
}

const maxExpiryBlocks = 1_000_000

var (
	hexHash      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	schemeName   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	maxChainText = observation.MaxFieldBytes
)

func text(name, s string) error {
	if s == "" || len(s) > maxChainText || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%s must have 1 to %d bytes and no white space", name, maxChainText)
	}
	return nil
}

// Validate checks a chain config's fields.
func (c Chain) Validate() error {
	if err := text("chain", c.Chain); err != nil {
		return err
	}
	if err := text("contract", c.Contract); err != nil {
		return err
	}
	switch {
	case c.Confirmations < 0 || c.Confirmations > 100_000:
		return fmt.Errorf("confirmations %d out of range (0..100000)", c.Confirmations)
	case !hexHash.MatchString(c.DriverSHA256):
		return fmt.Errorf("driver_sha256 must be 64 lowercase hex characters")
	case !schemeName.MatchString(c.AccountScheme):
		return fmt.Errorf("account_scheme %q is not a scheme name", c.AccountScheme)
	case c.LockUnit != "s" && c.LockUnit != "ns":
		return fmt.Errorf("lock_unit %q, want \"s\" or \"ns\"", c.LockUnit)
	}
	return nil
}

// Digest is the hex SHA-256 of the config's JSON (fields in struct order):
// the subject of its proposal.
func (c Chain) Digest() string {
	b, _ := json.Marshal(c) // strings and integers only
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Validate checks the parameters.
func (p Params) Validate() error {
	if p.ExpiryBlocks < 1 || p.ExpiryBlocks > maxExpiryBlocks {
		return fmt.Errorf("drivers: expiry_blocks %d out of range (1..%d)", p.ExpiryBlocks, maxExpiryBlocks)
	}
	if err := p.Threshold.Check(); err != nil {
		return fmt.Errorf("drivers: threshold %w", err)
	}
	if p.MaxObservations < 1 || p.MaxObservations > 1024 {
		return fmt.Errorf("drivers: max_observations %d out of range (1..1024)", p.MaxObservations)
	}
	seen := map[[2]string]bool{}
	for _, c := range p.Chains {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("drivers: chain %q: %w", c.Chain, err)
		}
		k := [2]string{c.Chain, c.Contract}
		if seen[k] {
			return fmt.Errorf("drivers: chain %q contract %q listed twice", c.Chain, c.Contract)
		}
		seen[k] = true
	}
	return nil
}

func initGenesis(env *module.Env, g module.Genesis) error {
	var s struct {
		Drivers *Params `json:"drivers"`
	}
	if err := json.Unmarshal(g.AppState, &s); err != nil {
		return fmt.Errorf("drivers genesis: %w", err)
	}
	p := DefaultParams()
	if s.Drivers != nil {
		p = *s.Drivers
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO driver_params (id, expiry_blocks, threshold_num, threshold_den, max_observations) VALUES (1, ?, ?, ?, ?)`,
		p.ExpiryBlocks, p.Threshold.Numerator, p.Threshold.Denominator, p.MaxObservations); err != nil {
		return err
	}
	for _, c := range p.Chains { // the primary key orders the rows
		if err := putChain(env, c, "enabled"); err != nil {
			return err
		}
	}
	return nil
}

func putChain(env *module.Env, c Chain, status string) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO driver_chains (chain, contract, confirmations, driver_sha256, account_scheme, lock_unit, status, digest, height)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (chain, contract) DO UPDATE SET confirmations = excluded.confirmations, driver_sha256 = excluded.driver_sha256,
		   account_scheme = excluded.account_scheme, lock_unit = excluded.lock_unit, status = excluded.status,
		   digest = excluded.digest, height = excluded.height`,
		c.Chain, c.Contract, c.Confirmations, c.DriverSHA256, c.AccountScheme, c.LockUnit, status, c.Digest(), env.Height)
	return err
}

type params struct {
	expiry, max int64
	threshold   approval.Fraction
}

func loadParams(env *module.Env) (params, error) {
	var p params
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT expiry_blocks, threshold_num, threshold_den, max_observations FROM driver_params WHERE id = 1`).
		Scan(&p.expiry, &p.threshold.Numerator, &p.threshold.Denominator, &p.max)
	return p, err
}

// enabledChain returns the enabled config of (chain, contract).
func enabledChain(env *module.Env, chain, contract string) (Chain, bool, error) {
	c := Chain{Chain: chain, Contract: contract}
	var status string
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT confirmations, driver_sha256, account_scheme, lock_unit, status FROM driver_chains WHERE chain = ? AND contract = ?`,
		chain, contract).Scan(&c.Confirmations, &c.DriverSHA256, &c.AccountScheme, &c.LockUnit, &status)
	if err != nil {
		if isNoRows(err) {
			return c, false, nil
		}
		return c, false, err
	}
	return c, status == "enabled", nil
}
