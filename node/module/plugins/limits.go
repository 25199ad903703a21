package plugins

import (
	"context"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// The Wasm execution limits are chain state: the genesis ones
// (Params.Wasm) are in force from height 0, and an approved
// plugins.propose_params adds the ones in force from decision height +
// activation_delay_blocks. Limits at height h: the row of
// plugin_wasm_limits with the greatest active_from ≤ h.

// KindParams is the proposal kind of a change of the Wasm limits. Its
// subject is the canonical text of the proposed limits (limitsSubject), so
// identical proposals are one proposal.
const KindParams = "params"

// RequestRefused closes a params proposal that reached the threshold but
// under whose limits a plugin in state no longer registers; nothing
// changes.
const RequestRefused = "refused"

// ParamsPayload is the payload of plugins.propose_params and
// plugins.approve_params: the complete new limits.
type ParamsPayload struct {
	Wasm wasmhost.Limits `json:"wasm"`
}

// ScheduledLimits are limits with the first height they apply at.
type ScheduledLimits struct {
	ActiveFrom int64           `json:"active_from"`
	Wasm       wasmhost.Limits `json:"wasm"`
}

const limitsTable = `CREATE TABLE plugin_wasm_limits (
		active_from        INTEGER PRIMARY KEY,
		fuel_limit         INTEGER NOT NULL,
		init_fuel_limit    INTEGER NOT NULL,
		stack_budget       INTEGER NOT NULL,
		memory_limit_pages INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`

const limitsColumns = `active_from, fuel_limit, init_fuel_limit, stack_budget, memory_limit_pages`

func putLimits(env *module.Env, from int64, l wasmhost.Limits) error {
	_, err := env.DB.ExecContext(env.Ctx,
		`INSERT OR REPLACE INTO plugin_wasm_limits (`+limitsColumns+`) VALUES (?, ?, ?, ?, ?)`,
		from, int64(l.FuelLimit), int64(l.InitFuelLimit), int64(l.StackBudget), int64(l.MemoryLimitPages))
	return err
}

// scheduledLimits lists, by height, the limits in force at h and every
// later change already decided; all of them when h < 0.
func scheduledLimits(ctx context.Context, q Querier, h int64) ([]ScheduledLimits, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+limitsColumns+` FROM plugin_wasm_limits
		WHERE ? < 0 OR active_from >= (SELECT max(active_from) FROM plugin_wasm_limits WHERE active_from <= ?)
		ORDER BY active_from`, h, h)
	if err != nil {
		return nil, fmt.Errorf("plugins: wasm limits: %w", err)
	}
	defer rows.Close()
	var out []ScheduledLimits
	for rows.Next() {
		var s ScheduledLimits
		var fuel, initFuel, depth, mem int64
		if err := rows.Scan(&s.ActiveFrom, &fuel, &initFuel, &depth, &mem); err != nil {
			return nil, fmt.Errorf("plugins: wasm limits: %w", err)
		}
		s.Wasm = wasmhost.Limits{FuelLimit: uint64(fuel), InitFuelLimit: uint64(initFuel),
			StackBudget: uint32(depth), MemoryLimitPages: uint32(mem)}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("plugins: wasm limits: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("plugins: no wasm limits in state at height %d", h)
	}
	return out, nil
}

// LimitsAt returns the Wasm limits in force at height h (h ≥ 0). The node
// runs plugins with them.
func LimitsAt(ctx context.Context, q Querier, h int64) (wasmhost.Limits, error) {
	s, err := scheduledLimits(ctx, q, h)
	if err != nil {
		return wasmhost.Limits{}, err
	}
	return s[0].Wasm, nil
}

// limitsSubject is the canonical text of l, the subject of its proposal.
func limitsSubject(l wasmhost.Limits) string {
	return fmt.Sprintf("fuel_limit=%d,init_fuel_limit=%d,stack_budget=%d,memory_limit_pages=%d",
		l.FuelLimit, l.InitFuelLimit, l.StackBudget, l.MemoryLimitPages)
}

func parseLimitsSubject(s string) (wasmhost.Limits, error) {
	var l wasmhost.Limits
	_, err := fmt.Sscanf(s, "fuel_limit=%d,init_fuel_limit=%d,stack_budget=%d,memory_limit_pages=%d",
		&l.FuelLimit, &l.InitFuelLimit, &l.StackBudget, &l.MemoryLimitPages)
	if err == nil && limitsSubject(l) != s {
		err = errors.New("not canonical")
	}
	if err != nil {
		return l, fmt.Errorf("plugins: params proposal %q: %w", s, err)
	}
	return l, nil
}

func decodeParams(payload []byte) (string, error) {
	var pp ParamsPayload
	if err := module.Decode(payload, &pp); err != nil {
		return "", err
	}
	if err := pp.Wasm.Validate(); err != nil {
		return "", fmt.Errorf("%w: wasm: %w", module.ErrInvalidPayload, err)
	}
	return limitsSubject(pp.Wasm), nil
}

// proposeParams opens a proposal to change the Wasm limits, or approves
// the open proposal of the same limits.
func (c *checker) proposeParams(env *module.Env, payload []byte) error {
	subject, err := decodeParams(payload)
	if err != nil {
		return err
	}
	who, err := validatorSender(env)
	if err != nil {
		return err
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	return engine.VoteOrPropose(env, KindParams, subject, who, p.ProposalExpiryBlocks, p.ApprovalThreshold, c.apply(p))
}

// approveParams approves the open proposal of these limits.
func (c *checker) approveParams(env *module.Env, payload []byte) error {
	subject, err := decodeParams(payload)
	if err != nil {
		return err
	}
	who, err := validatorSender(env)
	if err != nil {
		return err
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	return engine.Vote(env, KindParams, subject, who, p.ApprovalThreshold, c.apply(p))
}

// applyParams schedules approved limits at decision height +
// activation_delay_blocks, unless a module of a plugin that is pending,
// active or scheduled then does not register under them (its _initialize
// runs out of fuel, its memory exceeds the cap...): nodes would halt
// loading it, so the proposal is refused instead.
func (c *checker) applyParams(env *module.Env, p Params, r approval.Request) (string, error) {
	l, err := parseLimitsSubject(r.Subject)
	if err != nil {
		return "", err
	}
	from := env.Height + p.ActivationDelayBlocks
	rows, err := env.DB.QueryContext(env.Ctx,
		`SELECT scheme, module FROM plugins WHERE status IN (?, ?) OR (status = ? AND removed_from > ?) ORDER BY scheme`,
		StatusPending, StatusActive, StatusRemoved, from)
	if err != nil {
		return "", err
	}
	type mod struct {
		scheme string
		wasm   []byte
	}
	var mods []mod
	for rows.Next() {
		var m mod
		if err := rows.Scan(&m.scheme, &m.wasm); err != nil {
			rows.Close()
			return "", err
		}
		mods = append(mods, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, m := range mods {
		if _, _, err := c.check(env.Ctx, m.wasm, l); err != nil {
			if errors.Is(err, wasmhost.ErrTimeout) {
				return "", err // local: halts this node, decides nothing
			}
			return RequestRefused, nil
		}
	}
	return RequestApproved, putLimits(env, from, l)
}
