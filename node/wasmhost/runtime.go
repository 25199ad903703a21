// Package wasmhost runs signature-scheme plugins: WebAssembly modules that
// implement the ABI in docs/spec/wasm-abi.md. A registered module becomes a
// *Plugin, which satisfies auth.Scheme and can join the node's scheme
// registry next to the native schemes.
//
// Plugins run inside consensus, so everything a guest can observe is fixed:
// WASI clocks are constants, randomness is zeros, there are no arguments,
// environment or files, memory is capped, and each verification runs in a
// fresh instance so no state survives between calls.
package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
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
	ErrTimeout = errors.New("plugin call timed out")
	// ErrOutputTooLarge: a result or the metadata exceeds MaxResultSize.
	ErrOutputTooLarge = errors.New("plugin output too large")
	// ErrProtocol: the guest broke the calling convention: idos_alloc
	// returned 0 or an out-of-bounds buffer, or a result is empty, out of
	// bounds, has an unknown status or is not UTF-8.
	ErrProtocol = errors.New("plugin broke the ABI protocol")
	// ErrInputTooLarge: the verification inputs do not fit a 32-bit guest.
	ErrInputTooLarge = errors.New("plugin input too large")
)

const (
	// ABIVersion is the plugin ABI this host implements.
	ABIVersion = 1
	// MaxResultSize caps a verify result and the metadata document. Part of
	// the ABI: a larger result is a deterministic plugin error.
	MaxResultSize = 4096
	// DefaultMemoryLimitPages is 64 MiB of 64 KiB pages.
	DefaultMemoryLimitPages = 1024
	// DefaultCallTimeout bounds one call (instantiation included).
	DefaultCallTimeout = 2 * time.Second

	hostModule = "idos"
	wasiModule = wasi_snapshot_preview1.ModuleName
)

// Config configures a Runtime.
type Config struct {
	// CacheDir holds compiled machine code so that a module is compiled
	// once per node home rather than on every start. Empty: compile in
	// memory only.
	CacheDir string
	// MemoryLimitPages caps each instance's memory (64 KiB pages). It changes
	// which guests run out of memory, so every node of a chain must use the
	// same value. Zero means DefaultMemoryLimitPages.
	MemoryLimitPages uint32
	// CallTimeout is the wall-clock safety net for one call. Zero means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// Logger receives the guests' log output and debug details of plugin
	// faults. Nil discards.
	Logger *slog.Logger

	// noTermination disables WithCloseOnContextDone. Only benchmarks set it,
	// to measure what the safety net costs; such a runtime cannot stop an
	// infinite loop.
	noTermination bool
}

// Runtime compiles and runs plugins. It is safe for concurrent use.
type Runtime struct {
	rt      wazero.Runtime
	cache   wazero.CompilationCache
	modCfg  wazero.ModuleConfig
	timeout time.Duration
	log     *slog.Logger
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
	if cfg.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("wasmhost: memory limit %d pages exceeds the 4 GiB address space", cfg.MemoryLimitPages)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	// NewRuntimeConfig picks the compiler where wazero supports the platform
	// (amd64, arm64) and the interpreter elsewhere; both implement the Wasm
	// spec, so results do not depend on the choice.
	//
	// WithCloseOnContextDone is the only way wazero can stop a guest that
	// loops forever: it makes compiled code check for termination at
	// function entries and loop back-edges, and spawns a watcher goroutine
	// per call. Measured in BenchmarkVerify (2-core AMD EPYC, Go test
	// guest): 6.97 ms per verification with it, 7.03 ms without, i.e. lost
	// in the noise of instantiation, so the safety net is kept.
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCloseOnContextDone(!cfg.noTermination)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		// wazero's cache key covers the module, the wazero version and the
		// CPU, but not the termination checks. Code compiled without them
		// could never be stopped, so the two kinds live in separate
		// directories.
		sub := "terminating"
		if cfg.noTermination {
			sub = "nonterminating"
		}
		var err error
		cache, err = wazero.NewCompilationCacheWithDir(filepath.Join(cfg.CacheDir, sub))
		if err != nil {
			return nil, fmt.Errorf("wasmhost: compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	r := &Runtime{
		rt:      rt,
		cache:   cache,
		timeout: cfg.CallTimeout,
		log:     logger,
		modCfg:  deterministicModuleConfig(),
	}
	if err := r.instantiateHosts(ctx); err != nil {
		_ = r.Close(ctx)
		return nil, err
	}
	return r, nil
}

func (r *Runtime) instantiateHosts(ctx context.Context) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
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

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
