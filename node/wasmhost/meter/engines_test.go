package meter

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
)

// engines are wazero's two engines. A node runs the compiler on amd64 and
// arm64 and the interpreter elsewhere, so a metered module must give the
// same result, the same fuel and the same trap on both.
var engines = []struct {
	name string
	cfg  func() wazero.RuntimeConfig
}{
	{"compiler", wazero.NewRuntimeConfigCompiler},
	{"interpreter", wazero.NewRuntimeConfigInterpreter},
}

// outcome is what consensus sees of a call: the result, the fuel and
// which of the metering sentinels (if any) stopped it.
type outcome struct {
	res       []uint64
	fuel      uint64
	trapped   bool
	exhausted string // "fuel", "stack" or "" (another trap, or none)
}

func (h harness) outcome(fuel uint64, budget uint32, fn string, args ...uint64) outcome {
	res, used, err := h.call(fuel, budget, fn, args...)
	o := outcome{res: res, fuel: used, trapped: err != nil}
	if err != nil {
		o.res = nil // the results of a trapped call are not defined
	}
	switch {
	case err == nil:
	case h.m.ExportedGlobal(ExportFuel).Get() == FuelExhausted:
		o.exhausted = "fuel"
	case uint32(h.m.ExportedGlobal(ExportDepth).Get()) == DepthExhausted:
		o.exhausted = "stack"
	}
	return o
}

func (o outcome) String() string {
	return fmt.Sprintf("res %x fuel %d trapped %v exhausted %q", o.res, o.fuel, o.trapped, o.exhausted)
}

func (o outcome) equal(p outcome) bool {
	return slicesEqual(o.res, p.res) && o.fuel == p.fuel && o.trapped == p.trapped && o.exhausted == p.exhausted
}

// onBoth loads wasm on both engines.
func onBoth(t *testing.T, wasm []byte) [2]harness {
	t.Helper()
	return [2]harness{loadWith(t, engines[0].cfg(), wasm), loadWith(t, engines[1].cfg(), wasm)}
}

// Float test module: one exported function per instruction, taking and
// returning the operands' bits (reinterpret is bit-exact), so the host
// sees every NaN payload.
const (
	tF64Un  = iota // (i64) -> i64
	tF64Bin        // (i64, i64) -> i64
	tF32Un         // (i32) -> i32
	tF32Bin        // (i32, i32) -> i32
	tPromo         // (i32) -> i64
	tDemo          // (i64) -> i32
)

type floatFn struct {
	name string
	typ  int
	op   byte
}

var floatFns = []floatFn{
	{"f64.ceil", tF64Un, 0x9b}, {"f64.floor", tF64Un, 0x9c}, {"f64.trunc", tF64Un, 0x9d},
	{"f64.nearest", tF64Un, 0x9e}, {"f64.sqrt", tF64Un, 0x9f},
	{"f64.add", tF64Bin, 0xa0}, {"f64.sub", tF64Bin, 0xa1}, {"f64.mul", tF64Bin, 0xa2},
	{"f64.div", tF64Bin, 0xa3}, {"f64.min", tF64Bin, 0xa4}, {"f64.max", tF64Bin, 0xa5},
	{"f32.ceil", tF32Un, 0x8d}, {"f32.floor", tF32Un, 0x8e}, {"f32.trunc", tF32Un, 0x8f},
	{"f32.nearest", tF32Un, 0x90}, {"f32.sqrt", tF32Un, 0x91},
	{"f32.add", tF32Bin, 0x92}, {"f32.sub", tF32Bin, 0x93}, {"f32.mul", tF32Bin, 0x94},
	{"f32.div", tF32Bin, 0x95}, {"f32.min", tF32Bin, 0x96}, {"f32.max", tF32Bin, 0x97},
	{"f64.promote_f32", tPromo, 0xbb}, {"f32.demote_f64", tDemo, 0xb6},
	// Bit-exact instructions the rewriter leaves alone.
	{"f64.neg", tF64Un, 0x9a}, {"f64.abs", tF64Un, 0x99}, {"f64.copysign", tF64Bin, 0xa6},
	{"f32.neg", tF32Un, 0x8c}, {"f32.abs", tF32Un, 0x8b}, {"f32.copysign", tF32Bin, 0x98},
}

func floatModule() []byte {
	const i32, i64 = 0x7f, 0x7e
	types := vec(6,
		[]byte{0x60, 1, i64, 1, i64}, []byte{0x60, 2, i64, i64, 1, i64},
		[]byte{0x60, 1, i32, 1, i32}, []byte{0x60, 2, i32, i32, 1, i32},
		[]byte{0x60, 1, i32, 1, i64}, []byte{0x60, 1, i64, 1, i32})
	var funcs, exports, code [][]byte
	for i, f := range floatFns {
		var c []byte
		switch f.typ {
		case tF64Un:
			c = []byte{0x20, 0, 0xbf, f.op, 0xbd}
		case tF64Bin:
			c = []byte{0x20, 0, 0xbf, 0x20, 1, 0xbf, f.op, 0xbd}
		case tF32Un:
			c = []byte{0x20, 0, 0xbe, f.op, 0xbc}
		case tF32Bin:
			c = []byte{0x20, 0, 0xbe, 0x20, 1, 0xbe, f.op, 0xbc}
		case tPromo:
			c = []byte{0x20, 0, 0xbe, f.op, 0xbd}
		case tDemo:
			c = []byte{0x20, 0, 0xbf, f.op, 0xbc}
		}
		funcs = append(funcs, []byte{byte(f.typ)})
		exports = append(exports, append(str(f.name), 0, byte(i)))
		code = append(code, body([]byte{0}, append(c, 0x0b)...))
	}
	return testModule{
		types: types, funcs: vec(len(funcs), funcs...),
		exports: vec(len(exports), exports...), code: vec(len(code), code...),
	}.bytes()
}

// Operands: NaNs with payloads and signs, and the ordinary values whose
// combinations make fresh NaNs (0/0, ∞-∞, 0·∞, sqrt(-1)).
var (
	f64Args = []uint64{
		0x7ff8000000000000, 0x7ff4000000000001, 0xfff8000000000123, 0x7ff0000000000001,
		0, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
		0x7ff0000000000000, 0xfff0000000000000,
	}
	f32Args = []uint64{
		0x7fc00000, 0x7fa00001, 0xffc00123, 0x7f800001,
		0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
	}
)

func (f floatFn) calls() [][]uint64 {
	args := f64Args
	if f.typ == tF32Un || f.typ == tF32Bin || f.typ == tPromo {
		args = f32Args
	}
	var out [][]uint64
	for _, a := range args {
		if f.typ == tF64Bin || f.typ == tF32Bin {
			for _, b := range args {
				out = append(out, []uint64{a, b})
			}
		} else {
			out = append(out, []uint64{a})
		}
	}
	return out
}

func isNaNBits(bits uint64, f32 bool) bool {
	if f32 {
		return math.IsNaN(float64(math.Float32frombits(uint32(bits))))
	}
	return math.IsNaN(math.Float64frombits(bits))
}

// TestNaNCanonical runs every float instruction that can make a NaN on
// NaNs with payloads and on the operands that make fresh NaNs, on both
// engines: after instrumentation the bits and the fuel agree and every
// NaN is the canonical one. Without instrumentation the engines disagree
// on amd64 when both operands are NaNs: f64.add(0x7ff8000000000000,
// 0x7ff4000000000001) is 0x7ff8000000000000 compiled and
// 0x7ffc000000000001 interpreted (which operand's payload survives), and
// likewise f32.add, f32.mul, f32.min and f32.max (60 results in all). The
// bit-exact instructions (neg, abs, copysign) keep payloads on both.
func TestNaNCanonical(t *testing.T) {
	orig := floatModule()
	m, err := Instrument(orig)
	if err != nil {
		t.Fatal(err)
	}
	before, after := onBoth(t, orig), onBoth(t, m.Wasm)
	differBefore, differOps := 0, []string(nil)
	for _, f := range floatFns {
		canonicalized := nanType(f.op) != 0
		resF32 := f.typ == tF32Un || f.typ == tF32Bin || f.typ == tDemo
		for _, args := range f.calls() {
			a, b := after[0].outcome(1<<20, testBudget, f.name, args...), after[1].outcome(1<<20, testBudget, f.name, args...)
			if a.trapped || b.trapped {
				t.Fatalf("%s%x: compiler %v, interpreter %v", f.name, args, a, b)
			}
			got := a.res[0]
			canon := uint64(CanonicalNaN64)
			if resF32 {
				// The compiler leaves the upper half of an i32 result
				// undefined (api.DecodeU32).
				got &= math.MaxUint32
				a.res[0], b.res[0] = got, b.res[0]&math.MaxUint32
				canon = CanonicalNaN32
			}
			if !a.equal(b) {
				t.Fatalf("%s%x: compiler %v, interpreter %v", f.name, args, a, b)
			}
			if canonicalized && isNaNBits(got, resF32) && got != canon {
				t.Fatalf("%s%x = %x: a NaN that is not canonical", f.name, args, got)
			}
			o0, _, err0 := before[0].call(0, 0, f.name, args...)
			o1, _, err1 := before[1].call(0, 0, f.name, args...)
			if err0 != nil || err1 != nil {
				t.Fatal(err0, err1)
			}
			if resF32 {
				o0[0], o1[0] = o0[0]&math.MaxUint32, o1[0]&math.MaxUint32
			}
			if o0[0] != o1[0] {
				differBefore++
				if !slices.Contains(differOps, f.name) {
					differOps = append(differOps, f.name)
					t.Logf("uninstrumented %s%x: compiler %x, interpreter %x", f.name, args, o0[0], o1[0])
				}
			}
			if !canonicalized && got != o0[0] {
				t.Fatalf("%s%x = %x, uninstrumented %x: a bit-exact instruction changed", f.name, args, got, o0[0])
			}
		}
	}
	t.Logf("uninstrumented: %d results differ between the engines, in %v", differBefore, differOps)
	if runtime.GOARCH == "amd64" && differBefore == 0 {
		t.Fatal("on amd64 the uninstrumented engines are known to differ on NaN payloads (f64.add); the test lost its witness")
	}
}

// Stack test module (every function (i32) -> i32, n is the recursion
// depth left):
//
//	0 nop() -> ()
//	1 small(n): n == 0 ? 0 : small(n-1) + 1
//	2 wide(n): sets `locals` i64 locals to n+1, n+2, ..., recurses,
//	  then adds them all to the result: every local is live across the
//	  call
//	3 deep(n): pushes n deepStack times, recurses, adds the copies
//	4 even(n), 5 odd(n): mutual recursion, odd with 500 locals
//	6 ind(n): recursion through call_indirect (table slot 0 = ind)
const deepStack = 2000

// stackModule's wide function has `locals` i64 locals: at most MaxLocals-1
// for a module the meter accepts; 8,000 to show, uninstrumented, the
// divergence the stack budget removes.
func stackModule(locals int) []byte {
	const i32, bt = 0x7f, 0x40
	// recurse calls f with n-1 and adds 1: n == 0 ? 0 : f(n-1) + 1.
	recurse := func(call ...byte) []byte {
		c := []byte{0x20, 0, 0x45, 0x04, i32, 0x41, 0, 0x05, 0x20, 0, 0x41, 1, 0x6b}
		c = append(c, call...)
		return append(c, 0x41, 1, 0x6a, 0x0b)
	}
	var wide []byte
	for i := 1; i <= locals; i++ { // local i = i64(n) + i
		wide = append(wide, 0x20, 0, 0xad, 0x42)
		wide = appendS64(wide, int64(i))
		wide = append(wide, 0x7c, 0x21)
		wide = appendU32(wide, uint32(i))
	}
	wide = append(wide, recurse(0x10, 2)...)
	for i := 1; i <= locals; i++ {
		wide = append(wide, 0x20)
		wide = appendU32(wide, uint32(i))
		wide = append(wide, 0xa7, 0x6a) // i32.wrap_i64, i32.add
	}
	var deep []byte
	for range deepStack {
		deep = append(deep, 0x20, 0)
	}
	deep = append(deep, recurse(0x10, 3)...)
	for range deepStack {
		deep = append(deep, 0x6a)
	}
	return testModule{
		types: vec(2, []byte{0x60, 0, 0}, []byte{0x60, 1, i32, 1, i32}),
		funcs: vec(7, []byte{0}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}),
		table: vec(1, []byte{0x70, 0, 1}),
		exports: vec(6, append(str("small"), 0, 1), append(str("wide"), 0, 2), append(str("deep"), 0, 3),
			append(str("even"), 0, 4), append(str("odd"), 0, 5), append(str("ind"), 0, 6)),
		elem: vec(1, []byte{0, 0x41, 0, 0x0b, 1, 6}),
		code: vec(7,
			body([]byte{0}, 0x0b),
			body([]byte{0}, append(recurse(0x10, 1), 0x0b)...),
			body(append([]byte{1}, append(appendU32(nil, uint32(locals)), 0x7e)...), append(wide, 0x0b)...),
			body([]byte{0}, append(deep, 0x0b)...),
			body([]byte{0}, append(recurse(0x10, 5), 0x0b)...),
			body([]byte{1, 0xf4, 0x03, i32}, append(recurse(0x10, 4), 0x0b)...),
			body([]byte{0}, append(recurse(0x41, 0, 0x11, 1, 0), 0x0b)...),
		),
	}.bytes()
}

// TestStackBudgetOnBothEngines recurses with small frames, with thousands
// of live locals (as many as MaxLocals allows), with a deep operand stack, mutually and through
// call_indirect, on both engines, with the largest budget the host
// allows and with the default: each runs exactly as deep as its frame
// costs allow (the deepest call that fits returns, one more level traps
// with the stack sentinel), and the engines agree on result, fuel and
// trap. Uninstrumented, the wide frames are where the engines part: the
// compiler's stack is bytes, the interpreter's 2,000 frames.
func TestStackBudgetOnBothEngines(t *testing.T) {
	orig := stackModule(MaxLocals - 1)
	m, err := Instrument(orig)
	if err != nil {
		t.Fatal(err)
	}
	costs := stackCosts(t, orig)
	hs := onBoth(t, m.Wasm)
	for _, budget := range []uint32{128_000, 64_000} {
		for _, c := range []struct {
			fn     string
			frames []uint32 // frame costs of the chain, repeating
		}{
			{"small", []uint32{costs[1]}},
			{"wide", []uint32{costs[2]}},
			{"deep", []uint32{costs[3]}},
			{"even", []uint32{costs[4], costs[5]}},
			{"odd", []uint32{costs[5], costs[4]}},
			{"ind", []uint32{costs[6]}},
		} {
			// fit: the deepest n whose n+1 frames fit the budget.
			used, fit := uint64(0), uint64(0)
			for i := 0; ; i++ {
				used += uint64(c.frames[i%len(c.frames)])
				if used > uint64(budget) {
					fit = uint64(i) - 1
					break
				}
			}
			for _, n := range []uint64{fit, fit + 1, 1 << 20} {
				a := hs[0].outcome(1<<40, budget, c.fn, n)
				b := hs[1].outcome(1<<40, budget, c.fn, n)
				for _, o := range []outcome{a, b} {
					for i := range o.res {
						o.res[i] &= math.MaxUint32 // i32 results
					}
				}
				if !a.equal(b) {
					t.Fatalf("%s(%d), budget %d: compiler %v, interpreter %v", c.fn, n, budget, a, b)
				}
				if (n == fit) != (a.exhausted == "") || (n != fit && a.exhausted != "stack") {
					t.Fatalf("%s(%d), budget %d (deepest fit %d): %v", c.fn, n, budget, fit, a)
				}
			}
			t.Logf("budget %d: %s fits %d frames (frame %v units)", budget, c.fn, fit+1, c.frames)
		}
	}
	// The deepest recursion of the smallest frames stays below the
	// interpreter's 2,000 frames, so the budget stops it.
	if frames := 128_000 / costs[1]; frames >= 1999 {
		t.Fatalf("the largest budget allows %d frames of %d units", frames, costs[1])
	}
	// Uninstrumented, 1,500 wide frames fit the interpreter (2,000 frames)
	// but not the compiler's stack: the divergence the budget removes.
	raw := onBoth(t, stackModule(8000))
	_, _, errC := raw[0].call(0, 0, "wide", 1500)
	_, _, errI := raw[1].call(0, 0, "wide", 1500)
	t.Logf("uninstrumented wide(1500): compiler %v, interpreter %v", firstErrLine(errC), firstErrLine(errI))
	if errI != nil || ((runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && errC == nil) {
		t.Fatalf("uninstrumented wide(1500): compiler %v, interpreter %v; want a compiler stack overflow only", errC, errI)
	}
}

func firstErrLine(err error) string {
	if err == nil {
		return "ok"
	}
	s := err.Error()
	for i := range s {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// stackCosts returns the frame cost of every function of the stack module.
func stackCosts(t *testing.T, wasm []byte) []uint32 {
	t.Helper()
	r := &reader{b: wasm, off: 8}
	var types []funcType
	var funcTypes []uint32
	var costs []uint32
	for r.off < len(r.b) {
		id, b := r.byte(), r.bytes(int(r.u32()))
		s := &reader{b: b}
		switch id {
		case secType:
			types, _ = parseTypes(b)
		case secFunction:
			for range s.u32() {
				funcTypes = append(funcTypes, s.u32())
			}
		case secCode:
			for i := range s.u32() {
				ft := types[funcTypes[i]]
				c, err := frameCost(s.bytes(int(s.u32())), uint32(len(ft.params)), len(ft.results), funcEnv{types, funcTypes})
				if err != nil {
					t.Fatal(err)
				}
				costs = append(costs, c)
			}
		}
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return costs
}

// TestNaNVectors are the float test vectors of docs/spec/wasm-abi.md:
// bits in, bits out, metered, on both engines.
func TestNaNVectors(t *testing.T) {
	m, err := Instrument(floatModule())
	if err != nil {
		t.Fatal(err)
	}
	hs := onBoth(t, m.Wasm)
	for _, v := range []struct {
		fn   string
		args []uint64
		want uint64
	}{
		{"f64.div", []uint64{0, 0}, 0x7ff8000000000000},
		{"f64.sqrt", []uint64{0xbff0000000000000}, 0x7ff8000000000000},
		{"f64.add", []uint64{0x7ff4000000000001, 0x3ff0000000000000}, 0x7ff8000000000000},
		{"f64.promote_f32", []uint64{0x7fa00001}, 0x7ff8000000000000},
		{"f32.demote_f64", []uint64{0xfff8000000000123}, 0x7fc00000},
		{"f64.neg", []uint64{0x7ff4000000000001}, 0xfff4000000000001},
	} {
		for i, h := range hs {
			res, _, err := h.call(1<<20, testBudget, v.fn, v.args...)
			got := res[0]
			if v.want <= math.MaxUint32 {
				got &= math.MaxUint32
			}
			if err != nil || got != v.want {
				t.Errorf("%s: %s%x = %x, %v; want %x", engines[i].name, v.fn, v.args, got, err, v.want)
			}
		}
	}
}
