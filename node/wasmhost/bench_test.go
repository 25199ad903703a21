package wasmhost

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/idos-network/idos-node/node/auth"
)

// BenchmarkVerify compares one Ed25519 verification through the plugin
// (fresh instance per call, with and without the timeout safety net) with
// the native scheme.
func BenchmarkVerify(b *testing.B) {
	b.Run("native", func(b *testing.B) {
		s, _ := auth.DefaultRegistry().Lookup(auth.SchemeEd25519)
		for b.Loop() {
			if _, err := s.Verify(rfcPub, nil, rfcSig); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"plugin", Config{}}, {"plugin-no-timeout-checks", Config{noTermination: true}}} {
		b.Run(c.name, func(b *testing.B) {
			p := register(b, newTestRuntime(b, c.cfg), guestVariant{})
			for b.Loop() {
				if _, err := p.Verify(rfcPub, nil, rfcSig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInstantiate measures the fixed cost of a fresh instance:
// instantiation (memory and data segments) and the Go runtime's
// _initialize, split.
func BenchmarkInstantiate(b *testing.B) {
	r := newTestRuntime(b, Config{})
	p := register(b, r, guestVariant{})
	ctx := context.Background()
	b.Run("instantiate", func(b *testing.B) {
		for b.Loop() {
			m, err := r.rt.InstantiateModule(ctx, p.compiled, r.modCfg)
			if err != nil {
				b.Fatal(err)
			}
			_ = m.Close(ctx)
		}
	})
	b.Run("instantiate+initialize", func(b *testing.B) {
		for b.Loop() {
			m, err := r.rt.InstantiateModule(ctx, p.compiled, r.modCfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.ExportedFunction(exportInitialize).Call(ctx); err != nil {
				b.Fatal(err)
			}
			_ = m.Close(ctx)
		}
	})
}

// BenchmarkCompile measures compiling the test guest cold and loading it
// from the compilation cache directory (a node restart).
func BenchmarkCompile(b *testing.B) {
	wasm := guest(b, guestVariant{})
	ctx := context.Background()
	compile := func(b *testing.B, dir string) {
		rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(true)
		if dir != "" {
			cache, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = cache.Close(ctx) }()
			rc = rc.WithCompilationCache(cache)
		}
		rt := wazero.NewRuntimeWithConfig(ctx, rc)
		defer func() { _ = rt.Close(ctx) }()
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			compile(b, "")
		}
	})
	b.Run("from-cache-dir", func(b *testing.B) {
		dir := b.TempDir()
		compile(b, dir)
		for b.Loop() {
			compile(b, dir)
		}
	})
}
