package wasmhost

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/wasmhost/hostile"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

// web3.js personal_sign example ("Some data"), as in sigplugins.
var (
	eip191Signer = mustHex("2c7536e3605d9c16a7a3d7b1898e529396a65c23")
	eip191Msg    = []byte("Some data")
	eip191Sig    = mustHex("b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c")
)

func readPlugin(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("../../sigplugins/" + name + "/" + name + ".wasm")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkVerify compares one verification through a plugin with the
// native scheme: Ed25519 (the test guest, host ed25519_verify) and EIP-191
// (sigplugins/eip191, host keccak256 and secp256k1_recover). "pooled"
// reuses instances reset to the post-_initialize snapshot (the default);
// "fresh" instantiates and initialises a new instance per call.
func BenchmarkVerify(b *testing.B) {
	reg := auth.DefaultRegistry()
	cases := []struct {
		name             string
		native           string
		wasm             func(testing.TB) []byte
		signer, msg, sig []byte
	}{
		{"ed25519", auth.SchemeEd25519, func(tb testing.TB) []byte { return guest(tb, guestVariant{}) }, rfcPub, nil, rfcSig},
		{"eip191", auth.SchemeEIP191, func(tb testing.TB) []byte { return readPlugin(tb, "eip191") }, eip191Signer, eip191Msg, eip191Sig},
	}
	for _, c := range cases {
		b.Run(c.name+"/native", func(b *testing.B) {
			s, err := reg.Lookup(c.native)
			if err != nil {
				b.Fatal(err)
			}
			// The native schemes take the message as the wallet shows it.
			for b.Loop() {
				if _, err := s.Verify(c.signer, c.msg, c.sig); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, mode := range []struct {
			name string
			cfg  Config
		}{{"pooled", Config{}}, {"fresh", Config{MaxIdleInstances: -1}}} {
			b.Run(c.name+"/wasm-"+mode.name, func(b *testing.B) {
				p, err := newTestRuntime(b, mode.cfg).Register(context.Background(), c.wasm(b))
				if err != nil {
					b.Fatal(err)
				}
				var fuel uint64
				for b.Loop() {
					_, used, err := p.VerifyFuel(c.signer, c.msg, c.sig)
					if err != nil {
						b.Fatal(err)
					}
					fuel = used
				}
				b.ReportMetric(float64(fuel), "fuel/op")
			})
		}
	}
}

// BenchmarkReset measures restoring a used instance to the snapshot (the
// memory compare-and-copy and the globals), the fixed cost of a pooled call.
func BenchmarkReset(b *testing.B) {
	p, err := newTestRuntime(b, Config{}).Register(context.Background(), readPlugin(b, "eip191"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in, err := p.acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(p.snap.mem)), "snapshot-bytes")
	for b.Loop() {
		if !in.reset(p.snap) {
			b.Fatal("reset refused")
		}
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
			in, err := p.newInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.guarded(ctx, in, r.initFuel, func() error { return in.call(ctx, exportInitialize, in.init, nil) }); err != nil {
				b.Fatal(err)
			}
			_ = in.m.Close(ctx)
		}
	})
}

// BenchmarkCompile measures the registration-time work on the eip191
// plugin: the metering rewrite, and compiling the metered module cold and
// from the compilation cache directory (a node restart).
func BenchmarkCompile(b *testing.B) {
	wasm := readPlugin(b, "eip191")
	ctx := context.Background()
	b.Run("meter", func(b *testing.B) {
		for b.Loop() {
			if _, err := meter.Instrument(wasm); err != nil {
				b.Fatal(err)
			}
		}
	})
	m, err := meter.Instrument(wasm)
	if err != nil {
		b.Fatal(err)
	}
	compile := func(b *testing.B, dir string, wasm []byte) {
		rc := wazero.NewRuntimeConfig()
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
	b.Run("cold-original", func(b *testing.B) {
		for b.Loop() {
			compile(b, "", wasm)
		}
	})
	b.Run("cold-metered", func(b *testing.B) {
		for b.Loop() {
			compile(b, "", m.Wasm)
		}
	})
	b.Run("from-cache-dir-metered", func(b *testing.B) {
		dir := b.TempDir()
		compile(b, dir, m.Wasm)
		for b.Loop() {
			compile(b, dir, m.Wasm)
		}
	})
}

// BenchmarkCompileWorst compares the cold compile time of the worst
// modules the static limits accept (for control flow, and for code size)
// with that of the largest bundled plugin
// (bip137), all metered, on the optimizing compiler. Each iteration
// compiles the three in turn, so load on the machine affects them alike;
// it reports each one's seconds and the ratios to the plugin's, which are
// what matters (docs/BENCHMARKS.md). Run it with -benchtime=Nx.
func BenchmarkCompileWorst(b *testing.B) {
	ctx := context.Background()
	// The widest function the limits accept (MaxControl control
	// instructions: n ifs and the end), and a module of such functions
	// filling MaxControlWeight (two), the rest in one narrower function.
	n := (meter.MaxControl - 1) / 2
	per := uint64(2*n+1) * uint64(2*n+1)
	ns := make([]int, meter.MaxControlWeight/per)
	for i := range ns {
		ns[i] = n
	}
	if rest := meter.MaxControlWeight - uint64(len(ns))*per; rest > 0 {
		ns = append(ns, (int(math.Sqrt(float64(rest)))-1)/2)
	}
	cases := []struct {
		name string
		wasm []byte
	}{
		{"plugin", readPlugin(b, "bip137")},
		{"sequential-loops", hostile.SequentialLoops(n)},
		{"sequential-ifs", hostile.SequentialIfs(n)},
		{"control-weight", hostile.SequentialIfs(ns...)},
		{"code-bytes", hostile.DenseCode(meter.MaxCodeBytes-1000, meter.MaxInstructions)},
	}
	metered := make([][]byte, len(cases))
	for i, c := range cases {
		m, err := meter.Instrument(c.wasm)
		if err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		metered[i] = m.Wasm
	}
	total := make([]time.Duration, len(cases))
	for b.Loop() {
		for i, wasm := range metered {
			start := time.Now()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
			if _, err := rt.CompileModule(ctx, wasm); err != nil {
				b.Fatal(err)
			}
			total[i] += time.Since(start)
			_ = rt.Close(ctx)
		}
	}
	for i, c := range cases {
		b.ReportMetric(total[i].Seconds()/float64(b.N), c.name+"-s")
		if i > 0 {
			b.ReportMetric(float64(total[i])/float64(total[0]), c.name+"/plugin")
		}
	}
}
