package meter

import (
	"errors"
	"fmt"
)

// Stack budget. The host gives every call a budget in stack units (one
// unit is one 8-byte value slot) through ExportDepth; every function takes
// its static frame cost on entry and gives it back on exit. The cost is
//
//	FrameOverhead + parameters + locals + ScratchLocals
//	  + max operand stack height + insertedHeight
//
// so a deep recursion of large frames runs out of budget after fewer calls
// than one of small frames, as an engine's stack does. The overhead stands
// for what an engine keeps per frame besides the values (return address,
// frame pointer, saved registers, the interpreter's frame record) and also
// bounds the number of frames: at most budget / (FrameOverhead+1).
const (
	FrameOverhead = 64
	// ScratchLocals are the locals the rewriter may add to a function (an
	// i32 for bulk-operation charges, an f32 and an f64 for NaN
	// canonicalization); every frame pays for them, declared or not.
	ScratchLocals = 3
	// insertedHeight bounds how far the inserted code (fuel and stack
	// checks, NaN canonicalization) raises the operand stack above the
	// original code's height at that point.
	insertedHeight = 3
	// maxFrameCost is the cost given to a frame too large to count: above
	// any budget the host may set (< 2^31), so entering it always traps.
	maxFrameCost = 1<<31 - 1
)

// funcEnv is what the frame analysis needs from the module: function
// types, and the type index of every function (imports first).
type funcEnv struct {
	types     []funcType
	funcTypes []uint32
}

// ctlFrame is a block on the analysis's control stack.
type ctlFrame struct {
	base    int // operand height at block entry, below its parameters
	params  int
	results int
}

// frameCost returns the stack units a call of the function with this body
// (locals and expression, as in the code section) takes from the budget.
// It walks the expression once, tracking the operand stack height of a
// valid module; in unreachable code the height restarts from the
// enclosing block's base, as a validator's does.
func frameCost(body []byte, nParams uint32, results int, env funcEnv) (uint32, error) {
	r := &reader{b: body}
	nDecl := r.u32()
	locals := uint64(nParams)
	for i := uint32(0); i < nDecl && r.err == nil; i++ {
		locals += uint64(r.u32())
		r.byte()
	}
	if r.err != nil {
		return 0, r.err
	}
	h, maxH := 0, 0
	ctl := []ctlFrame{{results: results}}
	blockSig := func() (int, int) {
		if c := r.peek(); c == blockEmpty || isValType(c) {
			r.byte()
			if c == blockEmpty {
				return 0, 0
			}
			return 0, 1
		}
		idx := r.sleb(33)
		if r.err != nil || idx < 0 || idx >= int64(len(env.types)) {
			r.fail("block type %d out of range", idx)
			return 0, 0
		}
		t := env.types[idx]
		return len(t.params), len(t.results)
	}
	sig := func(typeIdx uint32) (int, int) {
		if int(typeIdx) >= len(env.types) {
			r.fail("type index %d out of range", typeIdx)
			return 0, 0
		}
		t := env.types[typeIdx]
		return len(t.params), len(t.results)
	}
	for len(ctl) > 0 {
		if r.off >= len(r.b) {
			return 0, errors.New("body ends without end")
		}
		start := r.off
		op := r.byte()
		pop, push := 0, 0
		switch op {
		case opBlock, opLoop, opIf:
			if op == opIf {
				pop = 1
			}
			p, res := blockSig()
			// In unreachable code the parameters come from the
			// polymorphic stack: count them as pushed there.
			outer := ctl[len(ctl)-1].base
			h = max(h-pop, outer+p)
			maxH = max(maxH, h)
			ctl = append(ctl, ctlFrame{base: h - p, params: p, results: res})
			continue
		case opElse:
			f := ctl[len(ctl)-1]
			h = f.base + f.params
			continue
		case opEnd:
			f := ctl[len(ctl)-1]
			ctl = ctl[:len(ctl)-1]
			h = f.base + f.results
			maxH = max(maxH, h)
			continue
		case opCall:
			idx := r.u32()
			if int(idx) >= len(env.funcTypes) {
				r.fail("function index %d out of range", idx)
				break
			}
			pop, push = sig(env.funcTypes[idx])
		case opCallIndirect:
			pop, push = sig(r.u32())
			pop++
			r.u32()
		case opMemoryGrow:
			r.byte()
			pop, push = 1, 1
		case opPrefixFC:
			sub := r.u32()
			r.fcImmediates(sub)
			pop, push = fcEffect(sub)
		case 0x26: // table.set
			r.u32()
			pop = 2
		default:
			r.immediates(op)
			pop, push = opEffect(op)
		}
		if r.err != nil {
			return 0, fmt.Errorf("instruction at body offset %d (0x%02x): %w", start, op, r.err)
		}
		base := ctl[len(ctl)-1].base
		h = max(h-pop, base) + push
		maxH = max(maxH, h)
		switch op {
		case opUnreachable, 0x0c, 0x0e, opReturn: // unreachable, br, br_table, return
			h = base
		}
	}
	if r.off != len(r.b) {
		return 0, errors.New("bytes after the function's end")
	}
	cost := FrameOverhead + locals + ScratchLocals + uint64(maxH) + insertedHeight
	return uint32(min(cost, maxFrameCost)), nil
}

// opEffect is the operand stack effect (values popped, pushed) of a
// one-byte opcode other than the control and call instructions that
// frameCost handles itself.
func opEffect(op byte) (pop, push int) {
	switch {
	case op == 0x01: // nop
	case op == 0x0c, op == opReturn, op == opUnreachable: // br, return: stack-polymorphic after
	case op == 0x0d, op == 0x0e, op == 0x1a: // br_if, br_table, drop
		return 1, 0
	case op == 0x1b, op == 0x1c: // select
		return 3, 1
	case op == opLocalGet, op == opGlobalGet, op == 0x3f, // memory.size
		op >= 0x41 && op <= 0x44, // constants
		op == 0xd0, op == 0xd2:   // ref.null, ref.func
		return 0, 1
	case op == 0x21, op == opGlobalSet: // local.set, global.set
		return 1, 0
	case op == opLocalTee, op == 0x25, // table.get
		op >= 0x28 && op <= 0x35,   // loads
		op == opI32Eqz, op == 0x50, // eqz
		op >= 0x67 && op <= 0x69, op >= 0x79 && op <= 0x7b, // clz, ctz, popcnt
		op >= 0x8b && op <= 0x91, op >= 0x99 && op <= 0x9f, // float unary
		op >= 0xa7 && op <= 0xc4, // conversions, reinterpretations, sign extension
		op == 0xd1:               // ref.is_null
		return 1, 1
	case op >= 0x36 && op <= 0x3e: // stores
		return 2, 0
	case op >= 0x46 && op <= 0x4f, op >= 0x51 && op <= 0x66, // comparisons
		op >= 0x6a && op <= 0x78, op >= 0x7c && op <= 0x8a, // integer binary
		op >= 0x92 && op <= 0x98, op >= 0xa0 && op <= 0xa6: // float binary
		return 2, 1
	}
	return 0, 0
}

// fcEffect is the operand stack effect of the 0xfc-prefixed instruction sub.
func fcEffect(sub uint32) (pop, push int) {
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7: // saturating truncation
		return 1, 1
	case 8, 10, 11, 12, 14, 17: // memory.init/copy/fill, table.init/copy/fill
		return 3, 0
	case 15: // table.grow
		return 2, 1
	case 16: // table.size
		return 0, 1
	}
	return 0, 0 // data.drop, elem.drop
}
