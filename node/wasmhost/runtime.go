// Package wasmhost runs signature-scheme plugins: WebAssembly modules that
// implement the ABI in docs/spec/wasm-abi.md. A registered module becomes a
// *Plugin, which satisfies auth.Scheme and can join the node's scheme
// registry next to the native schemes.
//
// Plugins run inside consensus, so everything a guest can observe is fixed:
// WASI clocks are constants, randomness is zeros, there are no arguments,
// environment or files, memory is capped, execution is metered by
// instruction fuel and a stack budget injected at registration (package
// meter), and each verification runs in an instance reset to the state it
// had right after _initialize, so no state survives between calls.
package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Sentinel errors. The package wraps them with detail, so test with
// errors.Is. Every error from a plugin call other than auth.ErrInvalidSignature
// and auth.ErrInvalidSigner is a plugin fault, not a verdict on the signature.
var (
	// ErrInvalidModule: the bytes are not a valid WebAssembly module, or the
	// module cannot be instantiated (for example its minimum memory exceeds
	// the cap).
	ErrInvalidModule = errors.New("invalid wasm module")
	// ErrForbiddenImport: the module imports something other than the
	// functions of module "idos" listed in the ABI and of
	// wasi_snapshot_preview1, or with a different signature.
	ErrForbiddenImport = errors.New("forbidden import")
	// ErrMissingExport: a required export is absent or has the wrong type.
	ErrMissingExport = errors.New("missing or mistyped export")
	// ErrABIVersion: idos_abi_version returned a version this host does not
	// implement.
	ErrABIVersion = errors.New("unsupported plugin ABI version")
	// ErrBadMetadata: idos_metadata is not the strict JSON document the ABI
	// specifies.
	ErrBadMetadata = errors.New("bad plugin metadata")
	// ErrTrap: the guest trapped (unreachable, out-of-bounds access, stack
	// overflow, a Go panic, proc_exit, an out-of-bounds pointer passed to a
	// host function).
	ErrTrap = errors.New("plugin trapped")
	// ErrTimeout: the call ran longer than Config.CallTimeout. This is the
	// local safety net, not a consensus outcome: another node with a faster
	// machine may finish the same call (see the ABI's determinism section).
	// With the default limits fuel runs out long before the timeout.
	ErrTimeout = errors.New("plugin call timed out")
	// ErrOutOfFuel: the call used more than the fuel limit (Limits,
	// Config.FuelLimit) of instruction fuel. Deterministic: every node stops the same call at
	// the same instruction.
	ErrOutOfFuel = errors.New("plugin ran out of fuel")
	// ErrCallDepth: the guest's nested calls took more than the stack
	// budget (Limits, Config.StackBudget) in stack units (meter.FrameOverhead). Deterministic,
	// like ErrOutOfFuel.
	ErrCallDepth = errors.New("plugin exceeded the stack budget")
	// ErrOutputTooLarge: a result or the metadata exceeds MaxResultSize.
	ErrOutputTooLarge = errors.New("plugin output too large")
	// ErrProtocol: the guest broke the calling convention: idos_alloc
	// returned 0 or an out-of-bounds buffer, or a result is empty, out of
	// bounds, has an unknown status or is not UTF-8.
	ErrProtocol = errors.New("plugin broke the ABI protocol")
	// ErrInputTooLarge: the verification inputs do not fit a 32-bit guest.
	ErrInputTooLarge = errors.New("plugin input too large")
	// ErrClosed: the runtime (or set of runtimes) was closed. Like
	// ErrTimeout it says nothing of the module: a caller deciding on a
	// module must not record it as a verdict.
	ErrClosed = errors.New("wasm runtime closed")
)

const (
	// ABIVersion is the plugin ABI this host implements.
	ABIVersion = 1
	// MaxResultSize caps a verify result and the metadata document. Part of
	// the ABI: a larger result is a deterministic plugin error.
	MaxResultSize = 4096
	// DefaultMemoryLimitPages is 64 MiB of 64 KiB pages.
	DefaultMemoryLimitPages = 1024
	// DefaultCallTimeout bounds one call (instantiation included). It
	// must stay well above the time the slowest engine takes to spend
	// the fuel limit, or fuel-bounded code could halt a node (see
	// app.localLimit): wazero's interpreter (platforms without the
	// compiler) spent 100 million units of a tight loop in ~2.7 s on a
	// loaded 2-core machine, ten times slower per unit than the compiler's
	// slowest class (docs/BENCHMARKS.md).
	DefaultCallTimeout = 10 * time.Second
	// DefaultFuelLimit is the fuel of one call (meter's cost table and
	// the host function prices). It is chosen for time: the slowest class
	// of guest code or host call measured by BenchmarkFuelCost on the
	// compiler engine takes at most ~2.5 ns per fuel unit on the benchmark
	// machine, so a call that spends it all stops within ~125 ms, 1/80 of
	// DefaultCallTimeout (docs/BENCHMARKS.md). The bundled plugins use at
	// most ~1 million per verification.
	DefaultFuelLimit = 50_000_000
	// DefaultInitFuelLimit is the fuel of _initialize, with the same bound
	// on time: about 25 times what the Go runtime's initialisation uses.
	DefaultInitFuelLimit = 50_000_000
	// MaxFuelLimit bounds Config.FuelLimit: the meter needs fuel below 2^63.
	MaxFuelLimit = 1 << 62
	// DefaultStackBudget is the stack of one call in the meter's stack
	// units (8-byte slots; a frame costs meter.FrameOverhead plus its
	// parameters, locals and operand stack height): at most 914 frames;
	// the deepest call chain of the bundled Go plugins takes 2,189 units
	// (28 frames).
	DefaultStackBudget = 64_000
	// MaxStackBudget bounds Config.StackBudget so that the budget, not an
	// engine's own ceiling, stops every deep recursion, identically on
	// every engine. The deepest recursion it allows is 1,828 of the
	// smallest frames (meter.FrameOverhead + meter.ScratchLocals + 3 =
	// 70 units), below the 2,000 frames of wazero v1.12.0's interpreter
	// (one more is a host function's); its 128,000 units are 1 MB of
	// values, far below the compiler's stack ceiling (it refuses to grow
	// its stack past about 50 MB).
	MaxStackBudget = 128_000
	// DefaultMaxIdleInstances is the number of reset instances a plugin
	// keeps for reuse.
	DefaultMaxIdleInstances = 4

	hostModule = "idos"
	wasiModule = wasi_snapshot_preview1.ModuleName
)

// Config configures a Runtime. CacheDir, CallTimeout, MaxIdleInstances
// and Logger are local settings. MemoryLimitPages, FuelLimit,
// InitFuelLimit and StackBudget are the consensus Limits: a node sets
// them from chain state through Runtimes, which refuses them in its own
// Config; tools and tests that run plugins outside a chain set them here
// (zero: the defaults of a new chain).
type Config struct {
	// CacheDir holds compiled machine code so that a module is compiled
	// once per node home rather than on every start. Empty: compile in
	// memory only.
	CacheDir string
	// MemoryLimitPages caps each instance's memory (64 KiB pages). It changes
	// which guests run out of memory, so every node of a chain must use the
	// same value. Zero means DefaultMemoryLimitPages.
	MemoryLimitPages uint32
	// CallTimeout is the wall-clock safety net for one call, a local
	// setting: reaching it halts this node in the block (ErrTimeout), it
	// never decides a transaction. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// FuelLimit is the instruction fuel of one plugin call (the
	// verification, with its idos_alloc; or _initialize at registration)
	// in the units of meter's cost table. It decides which calls fail with
	// ErrOutOfFuel, so every node of a chain must use the same value. Zero
	// means DefaultFuelLimit; at most MaxFuelLimit.
	FuelLimit uint64
	// InitFuelLimit is the fuel of _initialize, which runs once at
	// registration (and for each call of a stateful module, see
	// meter.Module.Stateful). Same rules as FuelLimit; zero means
	// DefaultInitFuelLimit.
	InitFuelLimit uint64
	// StackBudget bounds the stack of nested guest function calls, in
	// the meter's stack units (see DefaultStackBudget); like FuelLimit it
	// must be the same on every node. Zero means DefaultStackBudget; at
	// most MaxStackBudget.
	StackBudget uint32
	// MaxIdleInstances is how many reset instances each plugin keeps for
	// reuse (a local performance setting). Zero means
	// DefaultMaxIdleInstances; negative keeps none.
	MaxIdleInstances int
	// Logger receives the guests' log output and debug details of plugin
	// faults. Nil discards.
	Logger *slog.Logger

	// interpreter forces wazero's interpreter on a platform that has its
	// compiler: tests and benchmarks compare the two engines.
	interpreter bool
}

// Runtime compiles and runs plugins. It is safe for concurrent use.
type Runtime struct {
	// mu: registrations hold it shared, Close exclusively, so that Close
	// waits for a registration under way (a background check may run
	// one) instead of freeing what it compiles into.
	mu       sync.RWMutex
	closed   bool
	rt       wazero.Runtime
	cache    wazero.CompilationCache
	modCfg   wazero.ModuleConfig
	timeout  time.Duration
	fuel     uint64
	initFuel uint64
	depth    uint32
	memPages uint32
	maxIdle  int
	log      *slog.Logger
	// allowed holds the host functions a guest may import, by module and
	// name, with their signatures, so that registration can refuse a bad
	// import with a clear error instead of a link failure.
	allowed map[string]map[string]api.FunctionDefinition
}

// NewRuntime creates a runtime with the deterministic WASI and the "idos"
// host module.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if cfg.MemoryLimitPages > MaxMemoryLimitPages {
		return nil, fmt.Errorf("wasmhost: memory limit %d pages exceeds the 4 GiB address space", cfg.MemoryLimitPages)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	switch {
	case cfg.FuelLimit == 0:
		cfg.FuelLimit = DefaultFuelLimit
	case cfg.FuelLimit > MaxFuelLimit:
		return nil, fmt.Errorf("wasmhost: fuel limit %d exceeds %d", cfg.FuelLimit, uint64(MaxFuelLimit))
	}
	switch {
	case cfg.InitFuelLimit == 0:
		cfg.InitFuelLimit = DefaultInitFuelLimit
	case cfg.InitFuelLimit > MaxFuelLimit:
		return nil, fmt.Errorf("wasmhost: init fuel limit %d exceeds %d", cfg.InitFuelLimit, uint64(MaxFuelLimit))
	}
	switch {
	case cfg.StackBudget == 0:
		cfg.StackBudget = DefaultStackBudget
	case cfg.StackBudget > MaxStackBudget:
		return nil, fmt.Errorf("wasmhost: stack budget %d exceeds %d", cfg.StackBudget, MaxStackBudget)
	}
	switch {
	case cfg.MaxIdleInstances == 0:
		cfg.MaxIdleInstances = DefaultMaxIdleInstances
	case cfg.MaxIdleInstances < 0:
		cfg.MaxIdleInstances = 0
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	// NewRuntimeConfig picks the compiler where wazero supports the platform
	// (amd64, arm64) and the interpreter elsewhere; both implement the Wasm
	// spec, so results and fuel do not depend on the choice: NaNs are
	// canonical (package meter) and the stack budget is below both
	// engines' own ceilings. Nodes run the compiler: the fuel limits are
	// chosen for its speed, and the interpreter is 10 to 100 times slower
	// per fuel unit on guest code, so on it a call could reach the
	// wall-clock safety net before it runs out of fuel, which halts a node
	// in a block.
	//
	// WithCloseOnContextDone stays off: it makes compiled code check for
	// termination at every function entry and loop back-edge, which slows
	// guest loops many times over. The injected fuel stops every call
	// deterministically; the wall-clock safety net drains the fuel of a
	// call that overruns CallTimeout instead (see Plugin.run).
	rc := wazero.NewRuntimeConfig()
	if cfg.interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	if cfg.interpreter || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		logger.Warn("wasm plugins run on wazero's interpreter: the fuel limits are chosen for the compiler (amd64, arm64), a plugin call may hit the wall-clock safety net", "goarch", runtime.GOARCH)
	}
	rc = rc.WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCloseOnContextDone(false)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		// wazero's cache key covers the module, the wazero version and the
		// CPU, but not the termination checks. Code compiled with them by
		// earlier versions of this package lives in a sibling directory
		// ("terminating"); this one holds code compiled without them.
		var err error
		cache, err = wazero.NewCompilationCacheWithDir(filepath.Join(cfg.CacheDir, "nonterminating"))
		if err != nil {
			return nil, fmt.Errorf("wasmhost: compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	r := &Runtime{
		rt:       rt,
		cache:    cache,
		timeout:  cfg.CallTimeout,
		fuel:     cfg.FuelLimit,
		initFuel: cfg.InitFuelLimit,
		depth:    cfg.StackBudget,
		memPages: cfg.MemoryLimitPages,
		maxIdle:  cfg.MaxIdleInstances,
		log:      logger,
		modCfg:   deterministicModuleConfig(),
	}
	if err := r.instantiateHosts(ctx); err != nil {
		_ = r.Close(ctx)
		return nil, err
	}
	return r, nil
}

func (r *Runtime) instantiateHosts(ctx context.Context) error {
	if _, err := r.wasiModuleBuilder().Instantiate(ctx); err != nil {
		return fmt.Errorf("wasmhost: instantiate WASI: %w", err)
	}
	host, err := r.hostModuleBuilder().Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("wasmhost: instantiate host module: %w", err)
	}
	r.allowed = map[string]map[string]api.FunctionDefinition{
		wasiModule: r.rt.Module(wasiModule).ExportedFunctionDefinitions(),
		hostModule: host.ExportedFunctionDefinitions(),
	}
	return nil
}

// Close releases the runtime, every plugin registered with it and the
// compilation cache handle (the files stay).
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.rt.Close(ctx)
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}

// Constants answered by WASI. The monotonic clock must not be zero: the Go
// runtime refuses to start when nanotime returns 0.
const (
	fixedNanotime = 1
)

func deterministicModuleConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		// Instances are anonymous so one compiled module can be
		// instantiated any number of times, concurrently.
		WithName("").
		// The host calls _initialize itself, to classify its failures.
		WithStartFunctions().
		WithWalltime(func() (int64, int32) { return 0, 0 }, sys.ClockResolution(1)).
		WithNanotime(func() int64 { return fixedNanotime }, sys.ClockResolution(1)).
		// Sleeping and yielding return at once: with frozen clocks a real
		// sleep could only waste the node's time.
		WithNanosleep(func(int64) {}).
		WithOsyield(func() {}).
		WithRandSource(zeroReader{}).
		WithStdin(eofReader{}).
		WithStdout(io.Discard).
		WithStderr(io.Discard)
}

// WASI errno values answered by the stateless overrides.
const (
	errnoBADF   = 8
	errnoNOTSUP = 58
)

// wasiModuleBuilder is wazero's WASI with the functions that change an
// instance's file-descriptor table replaced by stateless ones. A reused
// instance is reset by restoring its memory and globals; WASI state lives
// outside both, so it must not change: fd_close, fd_renumber and
// fd_fdstat_set_flags answer ENOTSUP for the three standard descriptors
// (there are no others: EBADF) and change nothing.
func (r *Runtime) wasiModuleBuilder() wazero.HostModuleBuilder { return StatelessWASI(r.rt) }

// StatelessWASI is the WASI host module plugins run with (see
// wasiModuleBuilder), for other hosts of the same sandbox that reuse
// instances (node/driverhost).
func StatelessWASI(rt wazero.Runtime) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(wasiModule)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	stdioOnly := func(_ context.Context, _ api.Module, stack []uint64) {
		if uint32(stack[0]) <= 2 {
			stack[0] = errnoNOTSUP
		} else {
			stack[0] = errnoBADF
		}
	}
	i32 := api.ValueTypeI32
	for _, f := range []struct {
		name   string
		params []api.ValueType
	}{
		{"fd_close", []api.ValueType{i32}},
		{"fd_renumber", []api.ValueType{i32, i32}},
		{"fd_fdstat_set_flags", []api.ValueType{i32, i32}},
	} {
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(stdioOnly), f.params, []api.ValueType{i32}).Export(f.name)
	}
	return b
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// DeterministicModuleConfig is the module configuration plugins run with
// (frozen clocks, zero randomness, no arguments, environment, files or
// output), for other hosts of the same sandbox (node/driverhost).
func DeterministicModuleConfig() wazero.ModuleConfig { return deterministicModuleConfig() }
