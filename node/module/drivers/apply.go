package drivers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"

	"github.com/ethereum/go-ethereum/common"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/observation"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings and integers only
	}
	return b
}

// GrantID is the idos grant id of a grant from a chain: a UUID (version 8,
// RFC 9562) made of the first 16 bytes of SHA-256 over
// "idos-driver-grant/v1" and the grant's key fields, each followed by a 0
// byte. Every observation of one grant (added, deleted, re-added) maps to
// the same id.
func GrantID(chain, contract, owner, grantee, dataID string) string {
	h := sha256.New()
	for _, s := range []string{"idos-driver-grant/v1", chain, contract, owner, grantee, dataID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // variant 10
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Origin is the idos_grants.origin of a grant from a chain.
func Origin(chain, contract string) string { return chain + "/" + contract }

// Address returns the identifier a chain address has under scheme: the
// EIP-55 form of a 20-byte hex address for eip191, the address as is
// otherwise. ok is false when it is not a valid identifier.
func Address(scheme, addr string) (string, bool) {
	if scheme == auth.SchemeEIP191 {
		if !common.IsHexAddress(addr) {
			return "", false
		}
		return common.HexToAddress(addr).Hex(), true
	}
	return addr, true
}

var accountIdent = regexp.MustCompile(`^[^\s:]{1,128}$`)

// LockedUntil converts the contract's lock to Unix seconds: ns are
// divided by 10^9 (rounding down); values past int64 are capped.
func LockedUntil(unit, v string) int64 {
	n, ok := new(big.Int).SetString(v, 10)
	if !ok || n.Sign() < 0 {
		return 0 // Validate refused it before
	}
	if unit == "ns" {
		n.Quo(n, big.NewInt(1_000_000_000))
	}
	if !n.IsInt64() {
		return math.MaxInt64
	}
	return n.Int64()
}

// applyObservation applies an agreed observation (docs/spec/drivers.md,
// "Applying").
func applyObservation(env *module.Env, r approval.Request) (string, error) {
	enc, err := pendingBody(env, KindObservation, r.Subject)
	if err != nil {
		return "", fmt.Errorf("observation %s: %w", r.Subject, err)
	}
	if err := dropPending(env, r); err != nil {
		return "", err
	}
	g, err := observation.Decode(enc)
	if err != nil {
		return "", err // checked when attested
	}
	cfg, _, err := enabledChain(env, g.Chain, g.Contract)
	if err != nil {
		return "", err
	}
	id := GrantID(g.Chain, g.Contract, g.Owner, g.Grantee, g.DataID)
	var last int64
	err = env.DB.QueryRowContext(env.Ctx, `SELECT block_number FROM driver_grants WHERE grant_id = ?`, id).Scan(&last)
	switch {
	case err == nil && uint64(last) > g.BlockNumber:
		return StatusStale, nil
	case err != nil && !isNoRows(err):
		return "", err
	}
	if g.BlockNumber > math.MaxInt64 {
		return StatusUnmatched, nil
	}
	status := approval.StatusApproved
	switch g.Kind {
	case observation.Deleted:
		for _, table := range []string{"idos_grants", "idos_grants_by_grantee"} {
			if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM `+table+` WHERE id = ?`, id); err != nil {
				return "", err
			}
		}
	case observation.Added:
		ok, err := putGrant(env, cfg, g, id)
		if err != nil {
			return "", err
		}
		if !ok {
			status = StatusUnmatched
		}
	}
	if status != approval.StatusApproved {
		return status, nil
	}
	_, err = env.DB.ExecContext(env.Ctx,
		`INSERT INTO driver_grants (grant_id, chain, contract, owner, grantee, data_id, kind, block_number, block_hash, tx_ref, digest, applied)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (grant_id) DO UPDATE SET kind = excluded.kind, block_number = excluded.block_number,
		   block_hash = excluded.block_hash, tx_ref = excluded.tx_ref, digest = excluded.digest, applied = excluded.applied`,
		id, g.Chain, g.Contract, g.Owner, g.Grantee, g.DataID, string(g.Kind), int64(g.BlockNumber), g.BlockHash, g.TxRef, r.Subject, env.Height)
	return status, err
}

// putGrant writes an added grant into idos_grants and its copy by grantee,
// or updates its lock if it is there. It reports false, writing nothing,
// when the owner is no linked wallet of the user holding the credential.
func putGrant(env *module.Env, cfg Chain, g observation.Grant, id string) (bool, error) {
	owner, ok := Address(cfg.AccountScheme, g.Owner)
	grantee, ok2 := Address(cfg.AccountScheme, g.Grantee)
	if !ok || !ok2 || !accountIdent.MatchString(grantee) {
		return false, nil
	}
	var user string
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT w.user_id FROM idos_wallets w JOIN idos_credentials c ON c.user_id = w.user_id
		 WHERE w.wallet_type = ? AND w.address = ? AND c.id = ?`, cfg.AccountScheme, owner, g.DataID).Scan(&user)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	until := LockedUntil(cfg.LockUnit, g.LockedUntil)
	account := cfg.AccountScheme + ":" + grantee
	for _, table := range []string{"idos_grants", "idos_grants_by_grantee"} {
		_, err := env.DB.ExecContext(env.Ctx,
			`INSERT INTO `+table+` (id, owner_user_id, grantee, data_id, locked_until, content_hash, origin, created)
			 VALUES (?, ?, ?, ?, ?, '', ?, ?)
			 ON CONFLICT (id) DO UPDATE SET locked_until = excluded.locked_until`,
			id, user, account, g.DataID, until, Origin(g.Chain, g.Contract), env.Time)
		if err != nil {
			return false, fmt.Errorf("grant %s: %w", id, err)
		}
	}
	return true, nil
}

// applyChain enables an approved chain config.
func applyChain(env *module.Env, r approval.Request) (string, error) {
	body, err := pendingBody(env, KindChain, r.Subject)
	if err != nil {
		return "", fmt.Errorf("chain config %s: %w", r.Subject, err)
	}
	if err := dropPending(env, r); err != nil {
		return "", err
	}
	var c Chain
	if err := json.Unmarshal(body, &c); err != nil {
		return "", err
	}
	if err := putChain(env, c, "enabled"); err != nil {
		return "", err
	}
	return approval.StatusApproved, dropUnusedModules(env)
}
