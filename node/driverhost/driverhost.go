// Package driverhost runs chain-grant drivers: WebAssembly modules that
// implement the driver ABI (docs/spec/wasm-abi.md, "Drivers"), read grants
// on an external chain at its finality through the one host function
// rpc_call, and return observations (node/observation) with a cursor.
//
// Drivers run beside consensus on each validator, not inside it: a
// timeout, a trap or an endpoint failure is an error of this node's Poll,
// reported to the caller, never a consensus event. They still run in the
// signature plugins' sandbox: the module is metered by meter.Instrument
// (fuel and stack budget, NaN canonicalization), memory is capped, WASI is
// deterministic (frozen clocks, zero randomness, no files, environment or
// sockets), and each Poll starts from the instance's post-_initialize
// state (a fresh instance, or the last poll's reset to it), so no state
// survives between polls except the cursor the caller keeps.
package driverhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

// Errors of Load and Poll; match them with errors.Is. Those of a guest
// call (ErrTrap, ErrOutOfFuel, ErrCallDepth, ErrTimeout) are wasmhost's.
var (
	// ErrInvalidModule: not a valid, meterable driver module, or one
	// that imports something other than WASI and rpc_call.
	ErrInvalidModule = errors.New("driverhost: invalid driver module")
	// ErrBadMetadata: the metadata is not what the ABI specifies, or the
	// configuration does not give what the driver needs.
	ErrBadMetadata = errors.New("driverhost: bad driver metadata or configuration")
	// ErrEndpoint: an endpoint failed (unreachable, HTTP error, not JSON-RPC),
	// endpoints disagreed on a cross-checked call, or the driver asked
	// for something other than a JSON-RPC call to its configured
	// endpoints. *EndpointError names the endpoint.
	ErrEndpoint = errors.New("driverhost: endpoint")
	// ErrTooLarge: a response, the driver's result, its cursor or its
	// number of observations or calls is over its cap.
	ErrTooLarge = errors.New("driverhost: too large")
	// ErrDriver: the driver reported an error, or returned a malformed
	// result or an invalid observation (wrapping observation.ErrInvalid).
	ErrDriver = errors.New("driverhost: driver error")
)

// EndpointError is an ErrEndpoint naming the endpoint at fault.
type EndpointError struct {
	Endpoint string
	Err      error
}

func (e *EndpointError) Error() string {
	return fmt.Sprintf("driverhost: endpoint %s: %v", e.Endpoint, e.Err)
}
func (e *EndpointError) Unwrap() []error { return []error{ErrEndpoint, e.Err} }

// ABI constants (docs/spec/wasm-abi.md, "Drivers").
const (
	ABIVersion = 1
	hostModule = "idos_driver"
	// MaxResponse caps one rpc_call result, as the guest SDK's buffer.
	MaxResponse = 4 << 20
	// MaxResult caps the poll result document.
	MaxResult = 4 << 20
	// MaxCursor caps the cursor.
	MaxCursor = 1024
	// MaxMetadata caps the metadata document.
	MaxMetadata = 4096
)

// Defaults of Config's local limits.
const (
	DefaultFuelLimit       = 2_000_000_000
	DefaultMaxObservations = 1000
	DefaultMaxCalls        = 64
	DefaultPollTimeout     = 60 * time.Second
	DefaultCallTimeout     = 10 * time.Second
	// PriceRPCCall and PriceRPCPerByte are rpc_call's fuel price: a base
	// and the response's bytes, so a flood of calls or of data spends
	// fuel like guest code does.
	PriceRPCCall    = 100_000
	PriceRPCPerByte = 4
)

// RuntimeConfig configures a Runtime. Drivers are local, so every limit
// here is a local setting.
type RuntimeConfig struct {
	// Limits are the sandbox limits (fuel of _initialize, stack budget,
	// memory); zero fields take wasmhost's defaults. FuelLimit is ignored:
	// a poll's fuel is Config.FuelLimit.
	Limits wasmhost.Limits
	// Interpreter forces wazero's interpreter (tests compare engines).
	Interpreter bool
	// CacheDir keeps compiled machine code across restarts (a driver of
	// a few MB takes seconds to compile); empty compiles in memory only.
	CacheDir string
}

// Runtime compiles and runs drivers. Safe for concurrent use.
type Runtime struct {
	rt     wazero.Runtime
	cache  wazero.CompilationCache
	limits wasmhost.Limits
}

// NewRuntime creates a runtime with WASI and the idos_driver host module.
func NewRuntime(ctx context.Context, cfg RuntimeConfig) (*Runtime, error) {
	l, d := cfg.Limits, wasmhost.DefaultLimits()
	if l.InitFuelLimit == 0 {
		l.InitFuelLimit = d.InitFuelLimit
	}
	if l.StackBudget == 0 {
		l.StackBudget = d.StackBudget
	}
	if l.MemoryLimitPages == 0 {
		l.MemoryLimitPages = d.MemoryLimitPages
	}
	if l.FuelLimit == 0 {
		l.FuelLimit = DefaultFuelLimit
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	rc := wazero.NewRuntimeConfig()
	if cfg.Interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	// Unlike plugins, a driver call may be cut by its context: nothing
	// outside this node depends on where it stops.
	rc = rc.WithMemoryLimitPages(l.MemoryLimitPages).WithCloseOnContextDone(true)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		// Code compiled with termination checks: a directory of its own,
		// apart from the plugins' (wasmhost), which compiles without.
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(filepath.Join(cfg.CacheDir, "drivers")); err != nil {
			return nil, fmt.Errorf("driverhost: compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	r := &Runtime{rt: rt, cache: cache, limits: l}
	// The plugins' stateless WASI: memory and globals are then all a
	// reused instance's state (Driver.release).
	if _, err := wasmhost.StatelessWASI(rt).Instantiate(ctx); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("driverhost: WASI: %w", err)
	}
	if _, err := rt.NewHostModuleBuilder(hostModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(rpcCall), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}).
		Export("rpc_call").Instantiate(ctx); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("driverhost: host module: %w", err)
	}
	return r, nil
}

// Close releases the runtime, every driver loaded in it and the
// compilation cache handle (the files stay).
func (r *Runtime) Close(ctx context.Context) error {
	err := r.rt.Close(ctx)
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}

// Metadata is what a driver declares (idos_driver_metadata).
type Metadata struct {
	ABI      int      `json:"abi"`
	Name     string   `json:"name"`
	Family   string   `json:"family"`
	Finality string   `json:"finality"`
	Config   []string `json:"config"`
}

// Finality rules (Metadata.Finality).
const (
	FinalityConfirmations = "confirmations"
	FinalityTag           = "finalized"
)

func (m Metadata) validate() error {
	if m.ABI != ABIVersion {
		return fmt.Errorf("%w: abi %d, want %d", ErrBadMetadata, m.ABI, ABIVersion)
	}
	if m.Name == "" || m.Family == "" {
		return fmt.Errorf("%w: name and family are required", ErrBadMetadata)
	}
	if m.Finality != FinalityConfirmations && m.Finality != FinalityTag {
		return fmt.Errorf("%w: finality %q, want %q or %q", ErrBadMetadata, m.Finality, FinalityConfirmations, FinalityTag)
	}
	for _, c := range m.Config {
		if c != "chain" && c != "contract" && c != "confirmations" {
			return fmt.Errorf("%w: unknown config key %q", ErrBadMetadata, c)
		}
	}
	return nil
}

// metered calls fn with fuel and the stack budget set, classifying a trap.
func metered(ctx context.Context, m api.Module, fuel uint64, depth uint32, name string, params ...uint64) ([]uint64, error) {
	fg, ok1 := m.ExportedGlobal(meter.ExportFuel).(api.MutableGlobal)
	dg, ok2 := m.ExportedGlobal(meter.ExportDepth).(api.MutableGlobal)
	f := m.ExportedFunction(name)
	if !ok1 || !ok2 || f == nil {
		return nil, fmt.Errorf("%w: export %s missing", ErrInvalidModule, name)
	}
	fg.Set(fuel)
	dg.Set(uint64(depth))
	res, err := f.Call(ctx, params...)
	if err == nil {
		return res, nil
	}
	class := wasmhost.ErrTrap
	switch {
	case ctx.Err() != nil:
		class = wasmhost.ErrTimeout
	case fg.Get() == meter.FuelExhausted:
		class = wasmhost.ErrOutOfFuel
	case uint32(dg.Get()) == meter.DepthExhausted:
		class = wasmhost.ErrCallDepth
	}
	return nil, fmt.Errorf("driverhost: %s: %w: %w", name, class, err)
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytesReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}
