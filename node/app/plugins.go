package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// pluginHost keeps the app's signature registry in step with the state of
// the module that provides a module.PluginSource, node/module/plugins in a
// standard node (docs/spec/plugins.md, "Loading").
//
// The registry in force between Commit(H-1) and Commit(H) is the one for
// height H: FinalizeBlock(H) verifies with it, and so do CheckTx,
// PrepareProposal and ProcessProposal after Commit(H-1), whose transactions
// are candidates for block H. At the end of FinalizeBlock(H) the set for
// H+1 is computed from the block's state and every module it needs (also
// those scheduled later) is compiled, so a failure halts the node before
// Commit; Commit(H) then swaps the registry and clears the verified
// signature cache. Only the consensus connection touches these fields.
type pluginHost struct {
	source   *module.PluginSource // of the module that keeps plugins in state; nil: none does
	cacheDir string
	rts      *wasmhost.Runtimes
	ownRT    bool
	// loaded holds compiled plugins by Wasm limits and module hash. They
	// are kept after unregistering: a CheckTx or gateway read may still
	// be verifying with one.
	loaded map[loadKey]*wasmhost.Plugin
	// registered: the plugins this app put into the registry, by scheme.
	registered map[string]*wasmhost.Plugin
	// next is the set prepared for the next height, applied at Commit.
	next     map[string]*wasmhost.Plugin
	hasNext  bool
	nextFrom int64
}

// loadKey names a module compiled under a set of limits: a change of the
// limits in state loads every plugin again in the runtime of the new
// limits, and the next Commit swaps them all in.
type loadKey struct {
	limits wasmhost.Limits
	hash   [32]byte
}

// startPlugins sets the host up and, on a node with committed state,
// registers the plugins active at the next height before any block runs.
func (a *App) startPlugins(ctx context.Context, cfg Config) error {
	h := &a.plugins
	h.cacheDir, h.rts = cfg.WasmCacheDir, cfg.Wasm
	h.loaded = map[loadKey]*wasmhost.Plugin{}
	h.registered = map[string]*wasmhost.Plugin{}
	h.source = nil // called again after a state sync (statesync.go)
	for _, m := range a.modules {
		if m.Plugins == nil {
			continue
		}
		if h.source != nil {
			return fmt.Errorf("app: modules %s and another both provide signature plugins", m.Name)
		}
		h.source = m.Plugins
	}
	a.mu.RLock()
	committed, height := a.hasHeight, a.height
	a.mu.RUnlock()
	if !committed {
		return nil
	}
	if err := a.preparePlugins(ctx, a.db.Reader(), height+1); err != nil {
		return err
	}
	return a.applyPlugins()
}

// preparePlugins computes the plugin set for height h from q and compiles
// every module that is active at h or scheduled after it, under the Wasm
// limits in force at h.
func (a *App) preparePlugins(ctx context.Context, q module.Querier, h int64) error {
	p := &a.plugins
	if p.source == nil {
		return nil
	}
	sched, err := p.source.Schedule(ctx, q, h)
	if err != nil {
		return fmt.Errorf("plugins: read schedule: %w", err)
	}
	limits, err := p.source.Limits(ctx, q, h)
	if err != nil {
		return err
	}
	next := map[string]*wasmhost.Plugin{}
	for _, s := range sched {
		k := loadKey{limits, s.Hash}
		if _, ok := p.loaded[k]; !ok {
			if err := a.loadPlugin(ctx, q, s, limits); err != nil {
				return err
			}
		}
		if s.ActiveAt(h) {
			next[s.Scheme] = p.loaded[k]
		}
	}
	p.next, p.hasNext, p.nextFrom = next, true, h
	return nil
}

func (a *App) loadPlugin(ctx context.Context, q module.Querier, s module.ScheduledPlugin, limits wasmhost.Limits) error {
	p := &a.plugins
	if p.rts == nil {
		rts, err := wasmhost.NewRuntimes(wasmhost.Config{CacheDir: p.cacheDir, Logger: a.log.With("component", "wasm")})
		if err != nil {
			return err
		}
		p.rts, p.ownRT = rts, true
	}
	rt, err := p.rts.Get(context.Background(), limits)
	if err != nil {
		return fmt.Errorf("plugins: wasm runtime: %w", err)
	}
	wasm, err := p.source.ModuleBytes(ctx, q, s.Scheme)
	if err != nil {
		return fmt.Errorf("plugins: read module %s: %w", s.Scheme, err)
	}
	if sha256.Sum256(wasm) != s.Hash {
		return fmt.Errorf("plugins: module of %s does not match its hash in state", s.Scheme)
	}
	pl, err := rt.Register(ctx, wasm)
	if err != nil {
		// It was checked when proposed; failing now is this node's
		// problem, and going on would verify differently from the others.
		return fmt.Errorf("plugins: load %s: %w", s.Scheme, err)
	}
	if pl.Name() != s.Scheme {
		_ = pl.Close(ctx)
		return fmt.Errorf("plugins: module stored as %s implements %s", s.Scheme, pl.Name())
	}
	p.loaded[loadKey{limits, s.Hash}] = pl
	a.log.Info("signature plugin loaded", "scheme", s.Scheme, "sha256", fmt.Sprintf("%x", s.Hash),
		"active_from", s.ActiveFrom, "removed_from", s.RemovedFrom, "wasm_limits", limits)
	return nil
}

// applyPlugins makes the prepared set the registry's plugins and, if that
// changed anything, clears the verified-signature cache.
func (a *App) applyPlugins() error {
	p := &a.plugins
	if !p.hasNext {
		return nil
	}
	p.hasNext = false
	changed := false
	for _, name := range slices.Sorted(maps.Keys(p.registered)) {
		if pl, ok := p.next[name]; ok && pl == p.registered[name] {
			continue
		}
		if err := a.schemes.Unregister(name); err != nil {
			return fmt.Errorf("plugins: %w", err)
		}
		delete(p.registered, name)
		changed = true
		a.log.Info("signature plugin deactivated", "scheme", name, "height", p.nextFrom)
	}
	for _, name := range slices.Sorted(maps.Keys(p.next)) {
		if _, ok := p.registered[name]; ok {
			continue
		}
		pl := p.next[name]
		if err := a.schemes.Register(pl); err != nil {
			return fmt.Errorf("plugins: activate %s: %w", name, err)
		}
		p.registered[name] = pl
		changed = true
		a.log.Info("signature plugin activated", "scheme", name, "height", p.nextFrom, "sha256", fmt.Sprintf("%x", pl.Hash()),
			"wasm_limits", pl.Limits())
	}
	if changed {
		a.sigCache.clear()
	}
	return nil
}

// closePlugins releases the compiled plugins and the runtime the app made.
func (a *App) closePlugins() error {
	p := &a.plugins
	var err error
	// A shared runtime is closed by its owner: closing one compiled
	// module there would also take away the code of every other module
	// compiled from the same bytes (wazero caches by module).
	if p.ownRT && p.rts != nil {
		err = p.rts.Close(context.Background())
	}
	p.loaded, p.rts = nil, nil
	return err
}
