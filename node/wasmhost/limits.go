package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Limits are the consensus limits of plugin execution: they decide which
// calls fail with ErrOutOfFuel or ErrCallDepth and which guests run out of
// memory, so every node of a chain must use the same values. A node takes
// them from chain state (the plugins module's params, docs/spec/plugins.md),
// never from its local configuration; Runtimes enforces that. JSON is the
// genesis form (app_state.plugins.wasm).
type Limits struct {
	// FuelLimit is the instruction fuel of one plugin call (the
	// verification with its idos_alloc, or the metadata calls at
	// registration) in the units of meter's cost table and the host
	// function prices.
	FuelLimit uint64 `json:"fuel_limit"`
	// InitFuelLimit is the fuel of _initialize.
	InitFuelLimit uint64 `json:"init_fuel_limit"`
	// StackBudget is the stack of one call in the unit the meter defines
	// (stack units: 8-byte value slots, see DefaultStackBudget).
	StackBudget uint32 `json:"stack_budget"`
	// MemoryLimitPages caps an instance's linear memory, in 64 KiB pages.
	MemoryLimitPages uint32 `json:"memory_limit_pages"`
}

// MaxMemoryLimitPages bounds MemoryLimitPages: the 4 GiB address space of
// a 32-bit guest. MaxFuelLimit and MaxStackBudget bound the others.
const MaxMemoryLimitPages = 65536

// DefaultLimits are the limits of a new chain.
func DefaultLimits() Limits {
	return Limits{FuelLimit: DefaultFuelLimit, InitFuelLimit: DefaultInitFuelLimit,
		StackBudget: DefaultStackBudget, MemoryLimitPages: DefaultMemoryLimitPages}
}

// ErrBadLimits: a Limits value out of its bounds.
var ErrBadLimits = errors.New("wasm limits out of range")

// Validate checks every limit is between 1 and its upper bound.
func (l Limits) Validate() error {
	switch {
	case l.FuelLimit < 1 || l.FuelLimit > MaxFuelLimit:
		return fmt.Errorf("%w: fuel_limit %d (1..%d)", ErrBadLimits, l.FuelLimit, uint64(MaxFuelLimit))
	case l.InitFuelLimit < 1 || l.InitFuelLimit > MaxFuelLimit:
		return fmt.Errorf("%w: init_fuel_limit %d (1..%d)", ErrBadLimits, l.InitFuelLimit, uint64(MaxFuelLimit))
	case l.StackBudget < 1 || l.StackBudget > MaxStackBudget:
		return fmt.Errorf("%w: stack_budget %d (1..%d)", ErrBadLimits, l.StackBudget, MaxStackBudget)
	case l.MemoryLimitPages < 1 || l.MemoryLimitPages > MaxMemoryLimitPages:
		return fmt.Errorf("%w: memory_limit_pages %d (1..%d)", ErrBadLimits, l.MemoryLimitPages, MaxMemoryLimitPages)
	}
	return nil
}

// Limits returns the limits the runtime runs plugins with.
func (r *Runtime) Limits() Limits {
	return Limits{FuelLimit: r.fuel, InitFuelLimit: r.initFuel, StackBudget: r.depth, MemoryLimitPages: r.memPages}
}

// ErrLocalLimits: a node's local configuration tried to set a consensus
// limit.
var ErrLocalLimits = errors.New("wasm fuel, stack budget and memory limits are chain parameters (app_state.plugins.wasm, changed by an approved proposal), not local settings")

// Runtimes hands out one Runtime per set of consensus limits, all with the
// same local settings (cache directory, wall-clock timeout, idle
// instances, logger). The memory cap is fixed when wazero compiles a
// module, so a change of limits needs a runtime of its own; they share
// the compilation cache. A node keeps every runtime it made until Close:
// a plugin compiled under earlier limits may still be verifying a CheckTx.
// Safe for concurrent use.
type Runtimes struct {
	cfg    Config
	mu     sync.Mutex
	m      map[Limits]*Runtime
	closed bool
}

// NewRuntimes checks cfg and returns an empty set. cfg must leave the
// consensus limits zero (ErrLocalLimits otherwise).
func NewRuntimes(cfg Config) (*Runtimes, error) {
	if cfg.FuelLimit != 0 || cfg.InitFuelLimit != 0 || cfg.StackBudget != 0 || cfg.MemoryLimitPages != 0 {
		return nil, fmt.Errorf("wasmhost: %w", ErrLocalLimits)
	}
	return &Runtimes{cfg: cfg, m: map[Limits]*Runtime{}}, nil
}

// Get returns the runtime of l, creating it on first use.
func (s *Runtimes) Get(ctx context.Context, l Limits) (*Runtime, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if rt, ok := s.m[l]; ok {
		return rt, nil
	}
	cfg := s.cfg
	cfg.FuelLimit, cfg.InitFuelLimit, cfg.StackBudget, cfg.MemoryLimitPages = l.FuelLimit, l.InitFuelLimit, l.StackBudget, l.MemoryLimitPages
	rt, err := NewRuntime(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.m[l] = rt
	return rt, nil
}

// Close closes every runtime of the set.
func (s *Runtimes) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var err error
	for l, rt := range s.m {
		err = errors.Join(err, rt.Close(ctx))
		delete(s.m, l)
	}
	return err
}
