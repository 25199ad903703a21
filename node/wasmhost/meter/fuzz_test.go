package meter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/idos-network/idos-node/sigplugins"
)

// FuzzInstrument checks Instrument on each input two ways:
//
//  1. On the input's bytes as they are: Instrument never panics, every
//     refusal wraps ErrUnsupported, and if wazero compiles the input, it
//     compiles the instrumented output too. (Inputs that wazero refuses
//     but Instrument accepts are left to the validation pre-pass.)
//  2. On a valid module generated from the input (genModule): Instrument
//     accepts it, the output compiles, and with ample fuel every exported
//     function gives the same results, the same trap-or-not, and leaves
//     the same memory and globals as the original.
//
// Seeds: the bundled plugins (real Go modules; only in the seed run, where
// big inputs are compiled), the hand-assembled test module, and a few
// generator programs.
func FuzzInstrument(f *testing.F) {
	seeds := map[[32]byte]bool{}
	for _, b := range sigplugins.All() {
		w := b.Wasm()
		seeds[sha256.Sum256(w)] = true
		f.Add(w)
	}
	f.Add(testModuleBytes())
	for _, s := range []string{"", "\x00asm\x01\x00\x00\x00", "\x01\x02\x03", "\x07\x01\x07\x05\x06\x08\x00\x06\x0a\x07\x03\x02\x01",
		"\x0d\x00\x0c\x07\x04\x08\x05\x05\x05\x05\x09\x0b\x0a\x02\x0e\x03\x02\x01\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// 1. Arbitrary bytes. Compiling a multi-megabyte module takes a
		// second, so big mutated inputs are only instrumented.
		m, err := Instrument(data)
		if err != nil && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("refusal %v does not wrap ErrUnsupported", err)
		}
		if err == nil && (len(data) <= 1<<16 || seeds[sha256.Sum256(data)]) {
			// Big modules are validated by the interpreter engine: the
			// same validation, without native code generation, which
			// takes seconds and would trip the fuzzer's hang detector.
			interp := len(data) > 1<<16
			if compiles(data, interp) && !compiles(m.Wasm, interp) {
				t.Fatalf("wazero compiles the input but not its instrumented form")
			}
		}

		// 2. A valid module generated from the bytes.
		orig := genModule(data)
		gm, err := Instrument(orig)
		if err != nil {
			t.Fatalf("generated module refused: %v\n%x", err, orig)
		}
		a, b := load(t, orig), load(t, gm.Wasm)
		args := [][2]uint64{{0, 0}, {1, 3}, {7, 0xFFFFFFFF}}
		if len(data) >= 8 {
			args = append(args, [2]uint64{uint64(le32(data)), uint64(le32(data[4:]))})
		}
		for _, fn := range []string{"f0", "f1"} {
			for _, arg := range args {
				r1, _, err1 := a.call(0, 0, fn, arg[0], arg[1])
				r2, _, err2 := b.call(1<<40, 1<<20, fn, arg[0], arg[1])
				if (err1 == nil) != (err2 == nil) || !slicesEqual(r1, r2) {
					t.Fatalf("%s(%d, %d): original %v %v, instrumented %v %v\n%x", fn, arg[0], arg[1], r1, err1, r2, err2, orig)
				}
			}
		}
		if !bytes.Equal(memoryOf(a.m), memoryOf(b.m)) {
			t.Fatalf("memory differs after the calls\n%x", orig)
		}
		if g1, g2 := a.m.ExportedGlobal("g").Get(), b.m.ExportedGlobal("g").Get(); g1 != g2 {
			t.Fatalf("global g: original %d, instrumented %d\n%x", g1, g2, orig)
		}
	})
}

func compiles(wasm []byte, interpreter bool) bool {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigCompiler()
	if interpreter {
		cfg = wazero.NewRuntimeConfigInterpreter()
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg.WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	_, err := rt.CompileModule(ctx, wasm)
	return err == nil
}

func memoryOf(m api.Module) []byte {
	mem := m.ExportedMemory("mem")
	b, _ := mem.Read(0, mem.Size())
	return b
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// genModule builds a valid module from program bytes: two functions
// f0, f1 : (i32, i32) -> i32 (f1 may call f0), from the first and the
// second half of the bytes, two bytes (opcode choice, argument) each; a memory of 1 to 4 pages
// exported as "mem", and a mutable i32 global exported as "g". Each byte
// picks an instruction that is valid at that point, so every input gives a
// module that validates; loops count down a counter of their own, so every
// call ends (or traps: division by zero, an out-of-range load).
func genModule(prog []byte) []byte {
	half := len(prog) / 2 &^ 1 // each instruction takes two bytes
	f0 := (&gen{prog: prog[:half]}).function(false)
	f1 := (&gen{prog: prog[half:]}).function(true)
	m := testModule{
		types:   vec(1, []byte{0x60, 2, i32, i32, 1, i32}),
		funcs:   vec(2, []byte{0}, []byte{0}),
		memory:  vec(1, []byte{0x01, 1, 4}),
		globals: vec(1, []byte{i32, 1, 0x41, 5, 0x0b}),
		exports: vec(4, append(str("f0"), 0, 0), append(str("f1"), 0, 1), append(str("mem"), 2, 0), append(str("g"), 3, 0)),
		code:    vec(2, f0, f1),
	}
	return m.bytes()
}

const (
	i32       = 0x7f
	genLocals = 2 + 1 + genMaxDepth // params, a scratch local, one loop counter per nesting level
	scratch   = 2
	// genMaxDepth bounds the nesting of blocks, loops and ifs.
	genMaxDepth = 4
	// genMaxOps bounds one function's instructions.
	genMaxOps = 200
)

type gen struct {
	prog []byte
	pos  int
	ops  int
}

func (g *gen) next() (byte, bool) {
	if g.pos >= len(g.prog) || g.ops >= genMaxOps {
		return 0, false
	}
	g.ops++
	g.pos++
	return g.prog[g.pos-1], true
}

// function returns a code-section entry.
func (g *gen) function(canCall bool) []byte {
	g.ops = 0
	code := g.frame(nil, 0, false, canCall, 1)
	return body([]byte{1, genLocals - 2, i32}, append(code, 0x0b)...)
}

// frame appends instructions for one block body and leaves exactly want
// values on its stack. inBlock: a br_if 0 leaves a block or if (never a
// loop, whose label is its start).
func (g *gen) frame(code []byte, depth int, inBlock, canCall bool, want int) []byte {
	h := 0 // values on this frame's stack
	for {
		b, ok := g.next()
		if !ok {
			break
		}
		arg := byte(0)
		if a, ok := g.next(); ok {
			arg = a
		}
		switch b % 16 {
		case 0: // i32.const
			code = appendS64(append(code, 0x41), int64(int8(arg)))
			h++
		case 1: // local.get
			code = append(code, 0x20, arg%genLocals)
			h++
		case 2: // a binary operator
			if h >= 2 {
				ops := []byte{0x6a, 0x6b, 0x6c, 0x71, 0x72, 0x73, 0x74, 0x76, 0x77, 0x46, 0x48, 0x4b}
				code = append(code, ops[int(arg)%len(ops)])
				h--
			}
		case 3: // local.set of a param or the scratch local, never a counter
			if h >= 1 {
				code = append(code, 0x21, arg%3)
				h--
			}
		case 4: // global.get / global.set
			if arg%2 == 0 || h == 0 {
				code = append(code, 0x23, 0)
				h++
			} else {
				code = append(code, 0x24, 0)
				h--
			}
		case 5: // i32.load at a masked address (may be out of range after a shrink: never, memory only grows)
			if h >= 1 {
				code = append(code, 0x41)
				code = appendS64(code, 0xfffc)
				code = append(code, 0x71, 0x28, 2, 0)
			}
		case 6: // i32.store: value to scratch, mask the address, store
			if h >= 2 {
				code = append(code, 0x21, scratch, 0x41)
				code = appendS64(code, 0xfffc)
				code = append(code, 0x71, 0x20, scratch, 0x36, 2, 0)
				h -= 2
			}
		case 7: // block
			if depth < genMaxDepth {
				code = append(code, 0x02, 0x40)
				code = append(g.frame(code, depth+1, true, canCall, 0), 0x0b)
			}
		case 8: // a loop that runs arg%8 + 1 times on its own counter
			if depth < genMaxDepth {
				c := byte(3 + depth)
				code = append(code, 0x41, arg%8, 0x21, c, 0x03, 0x40)
				code = g.frame(code, depth+1, false, canCall, 0)
				code = append(code, 0x20, c, 0x41, 1, 0x6b, 0x22, c, 0x41, 0, 0x4a, 0x0d, 0, 0x0b)
			}
		case 9: // if / else
			if h >= 1 && depth < genMaxDepth {
				h--
				code = append(code, 0x04, 0x40)
				code = g.frame(code, depth+1, true, canCall, 0)
				code = append(code, 0x05)
				code = append(g.frame(code, depth+1, true, canCall, 0), 0x0b)
			}
		case 10: // br_if out of the enclosing block
			if h >= 1 && inBlock {
				code = append(code, 0x0d, 0)
				h--
			}
		case 11: // call f0
			if canCall && h >= 2 {
				code = append(code, 0x10, 0)
				h--
			}
		case 12: // drop
			if h >= 1 {
				code = append(code, 0x1a)
				h--
			}
		case 13: // i32.div_u or rem_s: traps on zero
			if h >= 2 {
				code = append(code, []byte{0x6e, 0x6f}[arg%2])
				h--
			}
		case 14: // memory.fill of a small range, or memory.grow by 0 or 1 page
			if arg%2 == 0 {
				code = append(code, 0x41)
				code = appendS64(code, int64(arg)*100)
				code = append(code, 0x41, arg&0x3f, 0x41)
				code = appendS64(code, int64(arg)*3)
				code = append(code, 0xfc, 11, 0)
			} else {
				code = append(code, 0x41, arg/2%2, 0x40, 0)
				h++
			}
		case 15: // return from the function
			if h >= 1 {
				return append(code, 0x0f) // the rest of the frame is unreachable
			}
		}
	}
	for ; h > want; h-- {
		code = append(code, 0x1a)
	}
	for ; h < want; h++ {
		code = append(code, 0x41, 0)
	}
	return code
}
