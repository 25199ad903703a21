package meter

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// A hand-assembled module: section bodies without the id and size.
type testModule struct {
	types, funcs, table, memory, globals, exports, code []byte
	start, elem                                         []byte
}

func vec(n int, items ...[]byte) []byte {
	out := appendU32(nil, uint32(n))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func str(s string) []byte { return append(appendU32(nil, uint32(len(s))), s...) }

func body(locals []byte, code ...byte) []byte {
	b := append(append([]byte{}, locals...), code...)
	return append(appendU32(nil, uint32(len(b))), b...)
}

func (m testModule) bytes() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range []struct {
		id   byte
		body []byte
	}{{secType, m.types}, {secFunction, m.funcs}, {secTable, m.table}, {secMemory, m.memory}, {secGlobal, m.globals}, {secExport, m.exports}, {secStart, m.start}, {secElement, m.elem}, {secCode, m.code}} {
		if s.body != nil {
			out = append(out, s.id)
			out = appendU32(out, uint32(len(s.body)))
			out = append(out, s.body...)
		}
	}
	return out
}

// The test module's functions:
//
//	0 count(n i32) -> i32: loops n times, returns n (a loop and br_if)
//	1 pair(x i32) -> (i32, i32): a multi-value block, returns (x, x+1)
//	2 early(x i32) -> i32: returns 7 from inside nested blocks when x != 0
//	  (return), else branches to the function label with 9 (br 2)
//	3 rec(n i32) -> i32: recursion n deep, returns n
//	4 fill(n i32) -> i32: memory.fill of n bytes, returns memory[n-1]
//	5 mutate() -> i32: increments the mutable global 0 and returns it
func testModuleBytes() []byte {
	const i32, bt = 0x7f, 0x40
	types := vec(4,
		[]byte{0x60, 1, i32, 1, i32},      // 0: (i32) -> i32
		[]byte{0x60, 1, i32, 2, i32, i32}, // 1: (i32) -> (i32, i32)
		[]byte{0x60, 0, 1, i32},           // 2: () -> i32
		[]byte{0x60, 1, i32, 2, i32, i32}) // 3: duplicate of 1, still no [] -> (i32 i32)
	funcs := vec(6, []byte{0}, []byte{1}, []byte{0}, []byte{0}, []byte{0}, []byte{2})
	code := vec(6,
		// count: local 1 = i; loop { i++; br_if 0 (i < n) }; i
		body([]byte{1, 1, i32},
			0x03, bt, // loop
			0x20, 1, 0x41, 1, 0x6a, 0x21, 1, // i = i + 1
			0x20, 1, 0x20, 0, 0x48, 0x0d, 0, // br_if 0 (i < n)
			0x0b,
			0x20, 1, 0x0b),
		// pair: block (type 3: i32 -> i32 i32) with param x
		body([]byte{0},
			0x20, 0,
			0x02, 3, // block type index 3 (params i32, results i32 i32)
			0x22, 0, // local.tee 0 (keeps x; no-op copy)
			0x20, 0, 0x41, 1, 0x6a,
			0x0b,
			0x0b),
		// early
		body([]byte{0},
			0x02, bt, 0x02, bt,
			0x20, 0, 0x04, bt, 0x41, 7, 0x0f, 0x0b, // if x { return 7 }
			0x41, 9, 0x0c, 2, // br 2 (the function label) with 9
			0x0b, 0x0b,
			0x00, 0x0b),
		// rec: if n == 0 { 0 } else { rec(n-1) + 1 }
		body([]byte{0},
			0x20, 0, 0x45, 0x04, i32, 0x41, 0, 0x05,
			0x20, 0, 0x41, 1, 0x6b, 0x10, 3, 0x41, 1, 0x6a, 0x0b,
			0x0b),
		// fill: memory.fill(0, 0xab, n); i32.load8_u(n - 1)
		body([]byte{0},
			0x41, 0, 0x41, 0xab, 0x01, 0x20, 0, 0xfc, 11, 0,
			0x20, 0, 0x41, 1, 0x6b, 0x2d, 0, 0,
			0x0b),
		// mutate
		body([]byte{0},
			0x23, 0, 0x41, 1, 0x6a, 0x24, 0, 0x23, 0, 0x0b),
	)
	exports := vec(7,
		append(str("count"), 0, 0), append(str("pair"), 0, 1), append(str("early"), 0, 2),
		append(str("rec"), 0, 3), append(str("fill"), 0, 4), append(str("mutate"), 0, 5),
		append(str("memory"), 2, 0))
	return testModule{
		types: types, funcs: funcs, code: code, exports: exports,
		memory:  vec(1, []byte{0, 2}),
		globals: vec(2, []byte{i32, 1, 0x41, 40, 0x0b}, []byte{i32, 0, 0x41, 5, 0x0b}),
	}.bytes()
}

// testBudget is the stack budget of most test calls: the largest the
// host allows (wasmhost.MaxStackBudget).
const testBudget = 128_000

type harness struct {
	t   *testing.T
	ctx context.Context
	m   api.Module
}

func load(t *testing.T, wasm []byte) harness {
	t.Helper()
	return loadWith(t, wazero.NewRuntimeConfig(), wasm)
}

func loadWith(t *testing.T, cfg wazero.RuntimeConfig, wasm []byte) harness {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	m, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	return harness{t, ctx, m}
}

// call runs fn with fuel and depth and returns results, fuel used, error.
func (h harness) call(fuel uint64, depth uint32, fn string, args ...uint64) ([]uint64, uint64, error) {
	f, d := h.m.ExportedGlobal(ExportFuel), h.m.ExportedGlobal(ExportDepth)
	if f != nil {
		f.(api.MutableGlobal).Set(fuel)
		d.(api.MutableGlobal).Set(uint64(depth))
	}
	res, err := h.m.ExportedFunction(fn).Call(h.ctx, args...)
	if f == nil {
		return res, 0, err
	}
	if err == nil && uint32(d.Get()) != depth {
		h.t.Fatalf("%s: depth %d after the call, want %d (unbalanced exits)", fn, uint32(d.Get()), depth)
	}
	left := f.Get()
	if left == FuelExhausted {
		return res, fuel, err
	}
	return res, fuel - left, err
}

func TestSemanticsPreserved(t *testing.T) {
	orig := testModuleBytes()
	m, err := Instrument(orig)
	if err != nil {
		t.Fatal(err)
	}
	if m.Stateful {
		t.Fatal("test module reported stateful")
	}
	if want := []string{ExportGlobalPrefix + "0"}; strings.Join(m.Globals, ",") != strings.Join(want, ",") {
		t.Fatalf("Globals = %v, want %v (only the mutable one)", m.Globals, want)
	}
	a, b := load(t, orig), load(t, m.Wasm)
	cases := []struct {
		fn   string
		args []uint64
	}{
		{"count", []uint64{1}}, {"count", []uint64{100}},
		{"pair", []uint64{5}},
		{"early", []uint64{0}}, {"early", []uint64{1}},
		{"rec", []uint64{50}},
		{"fill", []uint64{1000}},
		{"mutate", nil}, {"mutate", nil},
	}
	for _, c := range cases {
		want, _, err1 := a.call(0, 0, c.fn, c.args...)
		got, used, err2 := b.call(1<<40, testBudget, c.fn, c.args...)
		if err1 != nil || err2 != nil || !slicesEqual(want, got) {
			t.Fatalf("%s%v: original %v %v, metered %v %v", c.fn, c.args, want, err1, got, err2)
		}
		if used == 0 {
			t.Fatalf("%s: no fuel charged", c.fn)
		}
		t.Logf("%s%v = %v, fuel %d", c.fn, c.args, got, used)
	}
	// The exported global is the module's own.
	if g := b.m.ExportedGlobal(ExportGlobalPrefix + "0"); g == nil || g.Get() != 42 {
		t.Fatalf("global 0 through its export: %v", g)
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFuelIsExact checks the charges against a hand count. count(n) runs
// one segment before the loop, n loop bodies, and the code after the loop:
//
//	entry:  loop                          1
//	body:   8 instructions + end          9, n times
//	after:  local.get, end (function)     2
//
// so it uses 3 + 9n. fill(n) adds n >> BulkShift to its static cost.
func TestFuelIsExact(t *testing.T) {
	m, err := Instrument(testModuleBytes())
	if err != nil {
		t.Fatal(err)
	}
	h := load(t, m.Wasm)
	for _, n := range []uint64{1, 2, 10, 1000} {
		_, used, err := h.call(1<<40, testBudget, "count", n)
		if err != nil || used != 3+9*n {
			t.Fatalf("count(%d): fuel %d, %v; want %d", n, used, err, 3+9*n)
		}
		// One unit less: out of fuel, and the sentinel says so.
		if _, used, err := h.call(3+9*n-1, testBudget, "count", n); err == nil || used != 3+9*n-1 {
			t.Fatalf("count(%d) with one unit less: %v, fuel %d", n, err, used)
		}
	}
	_, f0, _ := h.call(1<<40, testBudget, "fill", 1)
	_, f1, _ := h.call(1<<40, testBudget, "fill", 6400)
	if f1-f0 != 6400>>BulkShift {
		t.Fatalf("memory.fill of 6400 bytes costs %d more than of 1, want %d", f1-f0, 6400>>BulkShift)
	}
}

// TestCallDepth: rec(n) nests n+1 frames of rec's cost; one unit less
// than that traps with the sentinel.
func TestCallDepth(t *testing.T) {
	m, err := Instrument(testModuleBytes())
	if err != nil {
		t.Fatal(err)
	}
	h := load(t, m.Wasm)
	// rec: 1 parameter, no locals; its deepest operand stack is 2
	// (local.get 0, i32.const 1 before i32.sub).
	const frame = FrameOverhead + 1 + ScratchLocals + 2 + insertedHeight
	if res, _, err := h.call(1<<40, 101*frame, "rec", 100); err != nil || res[0] != 100 {
		t.Fatalf("rec(100) with budget %d: %v %v", 101*frame, res, err)
	}
	_, _, err = h.call(1<<40, 101*frame-1, "rec", 100)
	if err == nil || uint32(h.m.ExportedGlobal(ExportDepth).Get()) != DepthExhausted {
		t.Fatalf("rec(100) with budget %d: err %v, depth global %d", 101*frame-1, err, uint32(h.m.ExportedGlobal(ExportDepth).Get()))
	}
}

func TestRefuses(t *testing.T) {
	good := testModuleBytes()
	withStart := func() []byte {
		m := testModule{
			types: vec(1, []byte{0x60, 0, 0}), funcs: vec(1, []byte{0}),
			start: appendU32(nil, 0), code: vec(1, body([]byte{0}, 0x0b)),
		}
		return m.bytes()
	}
	simd := testModule{
		types: vec(1, []byte{0x60, 0, 0}), funcs: vec(1, []byte{0}),
		code: vec(1, body([]byte{0}, 0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x0b)),
	}.bytes()
	reserved := testModule{
		types: vec(1, []byte{0x60, 0, 0}), funcs: vec(1, []byte{0}),
		exports: vec(1, append(str("idos_meter_x"), 0, 0)),
		code:    vec(1, body([]byte{0}, 0x0b)),
	}.bytes()
	cases := []struct {
		name string
		wasm []byte
		text string
	}{
		{"not wasm", []byte("hello world"), "not a WebAssembly"},
		{"truncated", good[:len(good)-3], "end"},
		{"start section", withStart(), "start"},
		{"SIMD", simd, "SIMD"},
		{"reserved export", reserved, "reserved"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Instrument(c.wasm)
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v, want ErrUnsupported mentioning %q", err, c.text)
			}
		})
	}
}

// guests are the Go wasip1 modules this repository ships: the rewriter
// must handle every section and instruction Go 1.26 emits.
func guests(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{"eip191", "solana"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "sigplugins", name, name+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// TestGoGuests instruments the shipped plugins, checks the output is
// deterministic and valid, and runs the Go runtime's _initialize and
// idos_metadata in both forms: the metadata and the whole linear memory
// afterwards must be identical, and so must the fuel on a second instance.
func TestGoGuests(t *testing.T) {
	ctx := context.Background()
	for name, wasm := range guests(t) {
		t.Run(name, func(t *testing.T) {
			m1, err := Instrument(wasm)
			if err != nil {
				t.Fatal(err)
			}
			m2, _ := Instrument(wasm)
			if !bytes.Equal(m1.Wasm, m2.Wasm) {
				t.Fatal("instrumentation is not deterministic")
			}
			if m1.Stateful {
				t.Error("a Go guest reported stateful")
			}
			rt := wazero.NewRuntime(ctx)
			defer func() { _ = rt.Close(ctx) }()
			if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
				t.Fatal(err)
			}
			// Stub the idos host functions: _initialize and metadata do
			// not call them.
			orig, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				t.Fatal(err)
			}
			hb := rt.NewHostModuleBuilder("idos")
			for _, f := range orig.ImportedFunctions() {
				if mod, n, _ := f.Import(); mod == "idos" {
					hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {
						panic("unexpected host call")
					}), f.ParamTypes(), f.ResultTypes()).Export(n)
				}
			}
			if _, err := hb.Instantiate(ctx); err != nil {
				t.Fatal(err)
			}
			metered, err := rt.CompileModule(ctx, m1.Wasm)
			if err != nil {
				t.Fatalf("metered module does not compile: %v", err)
			}
			cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().
				WithWalltime(func() (int64, int32) { return 0, 0 }, 1).
				WithNanotime(func() int64 { return 1 }, 1)
			run := func(c wazero.CompiledModule) (meta, mem []byte, fuel uint64) {
				m, err := rt.InstantiateModule(ctx, c, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = m.Close(ctx) }()
				h := harness{t, ctx, m}
				_, f1, err := h.call(1<<40, testBudget, "_initialize")
				if err != nil {
					t.Fatal(err)
				}
				res, f2, err := h.call(1<<40, testBudget, "idos_metadata")
				if err != nil {
					t.Fatal(err)
				}
				ptr, n := uint32(res[0]>>32), uint32(res[0])
				meta, _ = m.Memory().Read(ptr, n)
				mem, _ = m.Memory().Read(0, m.Memory().Size())
				return bytes.Clone(meta), bytes.Clone(mem), f1 + f2
			}
			wantMeta, wantMem, _ := run(orig)
			gotMeta, gotMem, fuel := run(metered)
			_, _, fuel2 := run(metered)
			if !bytes.Equal(wantMeta, gotMeta) || !bytes.Equal(wantMem, gotMem) {
				t.Fatalf("metered run differs: metadata %q vs %q, memory equal %v", gotMeta, wantMeta, bytes.Equal(wantMem, gotMem))
			}
			if fuel != fuel2 || fuel == 0 {
				t.Fatalf("fuel %d then %d", fuel, fuel2)
			}
			t.Logf("%s: %d -> %d bytes, %d mutable globals, _initialize+metadata %d fuel, metadata %s", name, len(wasm), len(m1.Wasm), len(m1.Globals), fuel, gotMeta)
		})
	}
}

func TestLEB(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 40, -(1 << 62), 1<<63 - 1} {
		r := &reader{b: appendS64(nil, v)}
		if got := r.sleb(64); got != v || r.done() != nil {
			t.Fatalf("sleb %d: got %d, %v", v, got, r.err)
		}
	}
	for _, v := range []uint32{0, 127, 128, 1 << 31, ^uint32(0)} {
		r := &reader{b: appendU32(nil, v)}
		if got := r.u32(); got != v || r.done() != nil {
			t.Fatalf("u32 %d: got %d", v, got)
		}
	}
	if r := (&reader{b: []byte{0xff, 0xff, 0xff, 0xff, 0x1f}}); r.u32() != 0 || r.err == nil {
		t.Fatal("overflowing u32 accepted")
	}
}

// TestGrowChargesPages: memory.grow pays CostMemoryGrowPage for each page
// it asks for, before it runs, whether or not the growth succeeds; without
// the fuel for it the memory does not grow.
func TestGrowChargesPages(t *testing.T) {
	const i32 = 0x7f
	wasm := testModule{
		types:   vec(1, []byte{0x60, 1, i32, 1, i32}),
		funcs:   vec(1, []byte{0}),
		memory:  vec(1, []byte{1, 1, 4}), // 1 page, at most 4
		exports: vec(2, append(str("grow"), 0, 0), append(str("memory"), 2, 0)),
		code:    vec(1, body([]byte{0}, 0x20, 0, 0x40, 0, 0x0b)), // memory.grow(n)
	}.bytes()
	m, err := Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	h := load(t, m.Wasm)
	_, f0, err := h.call(1<<40, testBudget, "grow", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Too little fuel for two pages: out of fuel, no growth.
	if _, used, err := h.call(f0+2*CostMemoryGrowPage-1, testBudget, "grow", 2); err == nil || used != f0+2*CostMemoryGrowPage-1 {
		t.Fatalf("grow(2) with one unit too little: %v, fuel %d", err, used)
	}
	if pages := h.m.Memory().Size() / 65536; pages != 1 {
		t.Fatalf("memory has %d pages after a grow that ran out of fuel, want 1", pages)
	}
	res, f2, err := h.call(1<<40, testBudget, "grow", 2)
	if err != nil || res[0] != 1 || f2 != f0+2*CostMemoryGrowPage {
		t.Fatalf("grow(2) = %v, fuel %d, %v; want 1, fuel %d", res, f2, err, f0+2*CostMemoryGrowPage)
	}
	// Past the maximum: fails as the spec says, and is charged all the same.
	res, f9, err := h.call(1<<40, testBudget, "grow", 9)
	if err != nil || int32(res[0]) != -1 || f9 != f0+9*CostMemoryGrowPage {
		t.Fatalf("grow(9) = %v, fuel %d, %v; want -1, fuel %d", res, f9, err, f0+9*CostMemoryGrowPage)
	}
}
