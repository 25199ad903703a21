package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

// instance is one instantiation of a plugin's metered module.
type instance struct {
	m       api.Module
	fuel    api.MutableGlobal
	depth   api.MutableGlobal
	globals []api.MutableGlobal // meter.Module.Globals, in order
	stderr  *limitedBuffer      // nil unless debug logging was on

	init, abi, metadata, alloc, verify api.Function

	// The wall-clock safety net of the current call (see run).
	mu       sync.Mutex
	active   bool
	timedOut bool
}

// snapshot is an instance's guest-visible state right after _initialize:
// linear memory and the module's mutable globals. Tables and WASI state do
// not change in a non-stateful module (meter.Module.Stateful, and the
// stateless WASI overrides in runtime.go).
type snapshot struct {
	mem     []byte
	globals []uint64
}

// resetPage is the granularity of the memory reset: pages that differ
// from the snapshot are copied back, the others are only compared.
const resetPage = 4096

func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	cfg := p.rt.modCfg
	var stderr *limitedBuffer
	if p.rt.log.Enabled(ctx, slog.LevelDebug) {
		// A Go guest prints its panic message to stderr before exiting;
		// worth keeping for plugin authors, not worth the buffer when
		// nobody reads debug logs.
		stderr = &limitedBuffer{max: MaxResultSize}
		cfg = cfg.WithStderr(stderr)
	}
	m, err := p.rt.rt.InstantiateModule(ctx, p.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: instantiate: %w", ErrInvalidModule, err)
	}
	in := &instance{
		m:        m,
		stderr:   stderr,
		init:     m.ExportedFunction(exportInitialize),
		abi:      m.ExportedFunction(exportABIVersion),
		metadata: m.ExportedFunction(exportMetadata),
		alloc:    m.ExportedFunction(exportAlloc),
		verify:   m.ExportedFunction(exportVerify),
	}
	fuel, ok := m.ExportedGlobal(meter.ExportFuel).(api.MutableGlobal)
	depth, ok2 := m.ExportedGlobal(meter.ExportDepth).(api.MutableGlobal)
	in.fuel, in.depth = fuel, depth
	if !ok || !ok2 {
		_ = m.Close(ctx)
		return nil, fmt.Errorf("%w: metering globals missing", ErrInvalidModule)
	}
	for _, name := range p.metered.Globals {
		g, ok := m.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			_ = m.Close(ctx)
			return nil, fmt.Errorf("%w: global %s missing", ErrInvalidModule, name)
		}
		in.globals = append(in.globals, g)
	}
	return in, nil
}

// acquire returns an instance in the post-_initialize state: an idle one,
// or a new one restored from the snapshot, or (no snapshot yet, or a
// stateful module) a new one on which it runs _initialize, taking the
// snapshot the first time.
func (p *Plugin) acquire(ctx context.Context) (*instance, error) {
	select {
	case in := <-p.idle:
		return in, nil
	default:
	}
	in, err := p.newInstance(ctx)
	if err != nil {
		return nil, err
	}
	if p.snap != nil {
		mem := in.m.Memory()
		if have, want := mem.Size(), uint32(len(p.snap.mem)); have < want {
			if _, ok := mem.Grow((want - have) / 65536); !ok {
				_ = in.m.Close(ctx)
				return nil, fmt.Errorf("%w: cannot grow a new instance to the snapshot's %d bytes", ErrInvalidModule, want)
			}
		}
		buf, _ := mem.Read(0, mem.Size())
		copy(buf, p.snap.mem)
		clear(buf[len(p.snap.mem):])
		for i, g := range in.globals {
			g.Set(p.snap.globals[i])
		}
		return in, nil
	}
	if p.hasInit {
		if _, err := p.guarded(ctx, in, p.rt.initFuel, func() error {
			return in.call(ctx, exportInitialize, in.init, nil)
		}); err != nil {
			p.logFault(ctx, in, err)
			_ = in.m.Close(ctx)
			return nil, err
		}
	}
	if !p.metered.Stateful && p.rt.maxIdle > 0 {
		p.snap = takeSnapshot(in)
	}
	return in, nil
}

// takeSnapshot is called once, from Register, before the plugin is shared.
func takeSnapshot(in *instance) *snapshot {
	mem := in.m.Memory()
	buf, _ := mem.Read(0, mem.Size())
	s := &snapshot{mem: bytes.Clone(buf)}
	for _, g := range in.globals {
		s.globals = append(s.globals, g.Get())
	}
	return s
}

// release resets a healthy instance to the snapshot and keeps it for the
// next call, or closes it: after a fault (it may have trapped halfway
// through a guest's bookkeeping), when the memory grew past the snapshot
// (memory cannot shrink), when there is no snapshot, or when enough
// instances are idle.
func (p *Plugin) release(ctx context.Context, in *instance, healthy bool) {
	if !healthy || p.snap == nil || !in.reset(p.snap) {
		_ = in.m.Close(ctx)
		return
	}
	select {
	case p.idle <- in:
	default:
		_ = in.m.Close(ctx)
	}
}

// reset restores memory and globals from s; false if it cannot.
func (in *instance) reset(s *snapshot) bool {
	mem := in.m.Memory()
	if mem.Size() != uint32(len(s.mem)) {
		return false
	}
	buf, _ := mem.Read(0, mem.Size())
	for off := 0; off < len(buf); off += resetPage {
		end := min(off+resetPage, len(buf))
		if !bytes.Equal(buf[off:end], s.mem[off:end]) {
			copy(buf[off:end], s.mem[off:end])
		}
	}
	for i, g := range in.globals {
		g.Set(s.globals[i])
	}
	if in.stderr != nil {
		in.stderr.Reset()
	}
	return true
}

// run gives fn an instance in the post-_initialize state with a full tank
// of fuel (Config.FuelLimit) and stack (Config.StackBudget), and returns
// the fuel fn's guest calls used.
func (p *Plugin) run(ctx context.Context, fn func(context.Context, *instance) error) (uint64, error) {
	in, err := p.acquire(ctx)
	if err != nil {
		return 0, err
	}
	used, err := p.guarded(ctx, in, p.rt.fuel, func() error { return fn(ctx, in) })
	if err != nil {
		p.logFault(ctx, in, err)
	}
	var fault *callErr
	p.release(ctx, in, !errors.As(err, &fault))
	return used, err
}

// guarded runs fn, which calls into in, with the call's fuel and stack budget
// and the wall-clock safety net: if fn overruns the timeout, a timer
// drains the fuel, so the guest stops at its next metering point, and the
// fault is classified as ErrTimeout instead of ErrOutOfFuel. It costs no
// check in guest code (wazero's WithCloseOnContextDone would).
//
// The net is best effort: compiled guest code has no Go safepoints, so if
// a garbage collection starts its stop-the-world while a guest spins, the
// timer goroutine cannot run until the guest returns. Fuel is the bound
// that always holds; the default limit is spent in milliseconds.
func (p *Plugin) guarded(ctx context.Context, in *instance, fuel uint64, fn func() error) (uint64, error) {
	in.fuel.Set(fuel)
	in.depth.Set(uint64(p.rt.depth))
	in.mu.Lock()
	in.active, in.timedOut = true, false
	in.mu.Unlock()
	start := time.Now()
	t := time.AfterFunc(p.rt.timeout, in.drain)
	err := fn()
	t.Stop()
	in.mu.Lock()
	in.active = false
	// The clock decides, not whether the drain goroutine got to run: a
	// guest spinning in compiled code can hold off a stop-the-world
	// garbage collection, and with it every timer, until it returns.
	timedOut := in.timedOut || time.Since(start) >= p.rt.timeout
	in.mu.Unlock()
	if timedOut && err == nil {
		// The guest returned, but after the safety net's deadline: its
		// fuel may have been drained, and a call this slow must not be
		// an outcome on one node that another node's net cut short.
		err = &callErr{class: ErrTimeout, cause: ErrTimeout, msg: "plugin call timed out: returned after the wall-clock safety net's deadline"}
	}
	switch left := in.fuel.Get(); {
	case left == meter.FuelExhausted:
		return fuel, err
	case err != nil:
		return 0, err
	default:
		return fuel - left, nil
	}
}

// drainInterval is how often the safety net drains the fuel of a call
// that overran its timeout, until the call returns.
const drainInterval = time.Millisecond

// drain is the safety net of guarded: it sets the fuel of the running
// call to 0, again every drainInterval until the call returns. Once is not
// enough: the guest reads and writes the fuel global several times per
// charge without synchronisation with the host, so a drain that lands
// between a read and a write is overwritten by the guest's new value (and
// one that lands between the two reads that settle a charge that went
// below zero leaves a wrapped counter for one segment, which the next
// charge turns into FuelExhausted). Each drain lands outside those windows
// with high probability, so a later one sticks and the guest stops at its
// next metering point on either engine. Guest code alone never leaves a
// wrapped counter: a charge below zero stores FuelExhausted and traps.
func (in *instance) drain() {
	for {
		in.mu.Lock()
		if !in.active {
			in.mu.Unlock()
			return
		}
		in.timedOut = true
		in.fuel.Set(0)
		in.mu.Unlock()
		time.Sleep(drainInterval)
	}
}

// call calls a guest export and classifies its failure.
func (in *instance) call(ctx context.Context, name string, f api.Function, stack []uint64) error {
	// The host functions charge their fuel through the instance (see
	// chargeHost).
	ctx = context.WithValue(ctx, instanceKey{}, in)
	if err := f.CallWithStack(ctx, stack); err != nil {
		return in.callError(name, err)
	}
	return nil
}

// callError classifies an error returned by a guest call. Fuel and stack
// exhaustion are recognised by the sentinels the metering code leaves in
// its globals before it traps.
func (in *instance) callError(fn string, err error) error {
	class := ErrTrap
	detail := firstLine(err.Error())
	in.mu.Lock()
	timedOut := in.timedOut
	in.mu.Unlock()
	var exit *sys.ExitError
	switch {
	case timedOut:
		class, detail = ErrTimeout, "stopped by the wall-clock safety net"
	case in.fuel.Get() == meter.FuelExhausted:
		class, detail = ErrOutOfFuel, "fuel limit reached"
	case uint32(in.depth.Get()) == meter.DepthExhausted:
		class, detail = ErrCallDepth, "stack budget exhausted"
	case errors.As(err, &exit):
		detail = fmt.Sprintf("exited with code %d", exit.ExitCode())
	}
	return &callErr{class: class, cause: err, msg: fmt.Sprintf("%v in %s: %s", class, fn, detail)}
}

func (p *Plugin) logFault(ctx context.Context, in *instance, err error) {
	if in.stderr != nil && in.stderr.Len() > 0 {
		p.rt.log.Debug("wasm plugin failed", "plugin", p.meta.Scheme, "err", err, "stderr", in.stderr.String())
	}
}
