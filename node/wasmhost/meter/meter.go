// Package meter rewrites a WebAssembly module so that it meters its own
// execution deterministically: instruction fuel and stack, and so that
// float results do not depend on the engine (NaNs are canonical).
//
// Instrument adds two mutable globals and exports them, together with every
// mutable global the module defines:
//
//   - ExportFuel (i64): the fuel left, an unsigned count the host sets
//     before a call and reads after it. At the start of every function body
//     and of every code segment that a branch can enter (a loop body, the
//     two arms of an if, the code after an end) the module subtracts the
//     static cost of that segment (Cost). If the fuel left is smaller than
//     the cost, the module sets the global to FuelExhausted and traps (an
//     integer division by zero, so that the check has no branch): the
//     trap is deterministic and the host tells it from the guest's own
//     traps by that value, not by the trap's kind.
//   - ExportDepth (i32): the stack budget left, in stack units (8-byte
//     value slots). Every function takes its static frame cost (frame.go:
//     FrameOverhead plus its parameters, locals and maximum operand stack
//     height) on entry and gives it back on exit (its end, a return, or a
//     branch to its outermost label); entering with less left than the
//     cost sets it to DepthExhausted and traps.
//   - ExportGlobalPrefix + index for each mutable global of the module, so
//     that the host can save and restore an instance's globals.
//
// After every float instruction that may produce a NaN it inserts code
// that replaces any NaN with the canonical one (nan.go), so float results
// are bit-identical on every engine and CPU.
//
// The instrumented module is a deterministic function of the original
// bytes and Version: the same input gives the same output on every machine.
// It changes no function, global, type, table, memory or data index of the
// original module, so imports, exports, element and data segments keep
// their meaning.
//
// Supported: the WebAssembly 2.0 core instruction set without SIMD
// (multi-value block types, sign extension, saturating conversions, bulk
// memory, reference types). Refused: SIMD, threads, tail calls, exception
// handling, GC types, memory64, and start sections (a start function would
// run before the host can give it fuel; reactors export _initialize).
package meter

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Version identifies the instrumentation. Any change to the output of
// Instrument for some input, including a change of the cost table, must
// increment it: the instrumented bytes are consensus-critical.
//
// Version 2: host functions, bulk operations and memory.grow priced by
// size. Version 3: the depth global is a stack budget charged by frame cost
// (earlier versions counted calls), and NaNs are canonicalized. Version 4:
// the fuel and stack checks are branchless (the same accounting, traps and
// sentinels, but no if block, so no basic block for the compiler).
const Version = 4

// Export names added by Instrument. The prefix "idos_meter_" is reserved:
// a module that already exports a name with it is refused.
const (
	ExportFuel         = "idos_meter_fuel"
	ExportDepth        = "idos_meter_depth"
	ExportGlobalPrefix = "idos_meter_global_"
	reservedPrefix     = "idos_meter_"
)

// Sentinels the instrumented code writes before it traps. The host sets
// fuel below 1<<63 and the stack budget below 1<<31, so neither value can
// be left over from an ordinary call.
const (
	FuelExhausted  = ^uint64(0)
	DepthExhausted = ^uint32(0)
)

// Cost table (fuel units). Every instruction of the original module costs
// CostDefault except those listed; the inserted metering code is free.
// Bulk operations also pay for their length n (bytes or table elements),
// read from the operand stack when they run: ⌊n / 16⌋ more units.
// memory.grow pays for the pages it asks for, read likewise, whether or not
// the growth succeeds. The per-byte and per-page rates keep the time per
// fuel unit of these instructions at or below that of ordinary code
// (wasmhost's BenchmarkFuelCost, docs/BENCHMARKS.md).
const (
	CostDefault        = 1
	CostCall           = 3       // call
	CostCallIndirect   = 5       // call_indirect: a table lookup and a type check
	CostMemoryGrow     = 100     // memory.grow, static part
	CostMemoryGrowPage = 1 << 18 // memory.grow, per page of 64 KiB asked for: 4 per byte
	CostBulk           = 64      // memory.copy/fill/init, table.copy/fill/init, static part
	BulkShift          = 4       // dynamic part of a bulk operation: n >> BulkShift
)

// ErrUnsupported wraps every refusal: the module is malformed or uses a
// feature the meter does not handle.
var ErrUnsupported = errors.New("meter: unsupported or malformed module")

// Module is an instrumented module.
type Module struct {
	// Wasm is the instrumented binary.
	Wasm []byte
	// Globals are the export names of the original module's mutable
	// globals, in index order (not the fuel and depth globals).
	Globals []string
	// Stateful reports that the module has instructions whose effects
	// live outside linear memory and globals (table.set, table.grow,
	// table.fill, table.copy, table.init, elem.drop, data.drop). An
	// instance of such a module cannot be reset by restoring its memory
	// and globals.
	Stateful bool
}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// order is a section's position in the binary format's required order.
var order = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11,
	secCode: 12, secData: 13,
}

type section struct {
	id   byte
	body []byte
}

type funcType struct{ params, results []byte }

// Instrument returns the metered form of wasm. See the package comment.
// It first runs Check on the original bytes: a module over a static limit
// is refused with a *LimitError (ErrLimit and ErrUnsupported), one that refers to an index
// it does not declare with ErrUnsupported.
func Instrument(wasm []byte) (*Module, error) {
	if err := Check(wasm); err != nil {
		return nil, err
	}
	out, err := instrument(wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return out, nil
}

func instrument(wasm []byte) (*Module, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	r := &reader{b: wasm, off: 8}
	var secs []section
	last := 0
	for r.off < len(r.b) {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("section table: %w", r.err)
		}
		if id != secCustom {
			o, ok := order[id]
			switch {
			case id == secStart:
				return nil, errors.New("start section: a start function cannot be metered; export _initialize instead")
			case id == secTag:
				return nil, errors.New("tag section: exception handling is not supported")
			case !ok:
				return nil, fmt.Errorf("unknown section id %d", id)
			case o <= last:
				return nil, fmt.Errorf("section id %d out of order or repeated", id)
			}
			last = o
		}
		secs = append(secs, section{id, body})
	}

	var (
		types       []funcType
		funcTypes   []uint32 // type index of every function, imported first
		nImpFuncs   int
		nImpGlobals uint32
		globals     []byte // valtype, mutability of each defined global ...
		nGlobals    uint32
		exportNames = map[string]bool{}
		codeBodies  [][]byte
		hasFuncSec  bool
	)
	find := func(id byte) []byte {
		for _, s := range secs {
			if s.id == id {
				return s.body
			}
		}
		return nil
	}
	if b := find(secType); b != nil {
		var err error
		if types, err = parseTypes(b); err != nil {
			return nil, fmt.Errorf("type section: %w", err)
		}
	}
	if b := find(secImport); b != nil {
		r := &reader{b: b}
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.name()
			r.name()
			switch kind := r.byte(); kind {
			case 0:
				funcTypes = append(funcTypes, r.u32())
				nImpFuncs++
			case 1:
				r.byte() // reftype
				r.limits()
			case 2:
				r.limits()
			case 3:
				r.byte() // valtype
				r.byte() // mutability
				nImpGlobals++
			default:
				r.fail("import kind %d", kind)
			}
		}
		if err := r.done(); err != nil {
			return nil, fmt.Errorf("import section: %w", err)
		}
	}
	if b := find(secFunction); b != nil {
		hasFuncSec = true
		r := &reader{b: b}
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			funcTypes = append(funcTypes, r.u32())
		}
		if err := r.done(); err != nil {
			return nil, fmt.Errorf("function section: %w", err)
		}
	}
	for _, t := range funcTypes {
		if int(t) >= len(types) {
			return nil, fmt.Errorf("function type index %d out of range", t)
		}
	}
	if b := find(secGlobal); b != nil {
		r := &reader{b: b}
		nGlobals = r.u32()
		for i := uint32(0); i < nGlobals && r.err == nil; i++ {
			vt, mut := r.byte(), r.byte()
			r.constExpr()
			globals = append(globals, vt, mut)
		}
		if err := r.done(); err != nil {
			return nil, fmt.Errorf("global section: %w", err)
		}
	}
	if b := find(secExport); b != nil {
		r := &reader{b: b}
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			name := string(r.name())
			r.byte()
			r.u32()
			if len(name) >= len(reservedPrefix) && name[:len(reservedPrefix)] == reservedPrefix {
				return nil, fmt.Errorf("export %q uses the reserved prefix %q", name, reservedPrefix)
			}
			exportNames[name] = true
		}
		if err := r.done(); err != nil {
			return nil, fmt.Errorf("export section: %w", err)
		}
	}
	if b := find(secCode); b != nil {
		r := &reader{b: b}
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			size := r.u32()
			codeBodies = append(codeBodies, r.bytes(int(size)))
		}
		if err := r.done(); err != nil {
			return nil, fmt.Errorf("code section: %w", err)
		}
	}
	if !hasFuncSec && len(codeBodies) > 0 || len(codeBodies) != len(funcTypes)-nImpFuncs {
		return nil, fmt.Errorf("%d function declarations, %d bodies", len(funcTypes)-nImpFuncs, len(codeBodies))
	}

	fuelIdx := nImpGlobals + nGlobals
	depthIdx := fuelIdx + 1
	m := &Module{}

	// Block types of the wrapper blocks: functions with several results
	// need a type [] -> results, added at the end of the type section if
	// the module has none.
	blockTypes := make([][]byte, len(types))
	var newTypes []funcType
	for i, t := range types {
		switch len(t.results) {
		case 0:
			blockTypes[i] = []byte{0x40}
		case 1:
			blockTypes[i] = []byte{t.results[0]}
		default:
			idx := slices.IndexFunc(types, func(u funcType) bool {
				return len(u.params) == 0 && string(u.results) == string(t.results)
			})
			if idx < 0 {
				j := slices.IndexFunc(newTypes, func(u funcType) bool { return string(u.results) == string(t.results) })
				if j < 0 {
					j = len(newTypes)
					newTypes = append(newTypes, funcType{results: t.results})
				}
				idx = len(types) + j
			}
			blockTypes[i] = appendS33(nil, int64(idx))
		}
	}

	// Code.
	code := appendU32(nil, uint32(len(codeBodies)))
	{
		for i, body := range codeBodies {
			t := types[funcTypes[nImpFuncs+i]]
			nb, stateful, err := instrumentBody(body, t, blockTypes[funcTypes[nImpFuncs+i]], fuelIdx, depthIdx, funcEnv{types, funcTypes})
			if err != nil {
				return nil, fmt.Errorf("function %d: %w", nImpFuncs+i, err)
			}
			m.Stateful = m.Stateful || stateful
			code = appendU32(code, uint32(len(nb)))
			code = append(code, nb...)
		}
	}

	// Globals: the module's, then fuel and depth.
	var globalSec []byte
	{
		old := find(secGlobal)
		globalSec = appendU32(globalSec, nGlobals+2)
		if old != nil {
			r := &reader{b: old}
			r.u32()
			globalSec = append(globalSec, old[r.off:]...)
		}
		globalSec = append(globalSec, 0x7e, 0x01, 0x42, 0x00, 0x0b) // mut i64 = 0
		globalSec = append(globalSec, 0x7f, 0x01, 0x41, 0x00, 0x0b) // mut i32 = 0
	}
	// Exports: the module's, then ours.
	var exportSec []byte
	{
		var entries []byte
		n := uint32(0)
		if old := find(secExport); old != nil {
			r := &reader{b: old}
			n = r.u32()
			entries = append(entries, old[r.off:]...)
		}
		add := func(name string, idx uint32) {
			entries = appendU32(entries, uint32(len(name)))
			entries = append(entries, name...)
			entries = append(entries, 0x03)
			entries = appendU32(entries, idx)
			n++
		}
		add(ExportFuel, fuelIdx)
		add(ExportDepth, depthIdx)
		for i := uint32(0); i < nGlobals; i++ {
			if globals[2*i+1] == 1 {
				name := ExportGlobalPrefix + strconv.FormatUint(uint64(nImpGlobals+i), 10)
				add(name, nImpGlobals+i)
				m.Globals = append(m.Globals, name)
			}
		}
		exportSec = appendU32(exportSec, n)
		exportSec = append(exportSec, entries...)
	}
	var typeSec []byte
	if len(newTypes) > 0 {
		old := find(secType)
		typeSec = appendU32(typeSec, uint32(len(types)+len(newTypes)))
		if old != nil {
			r := &reader{b: old}
			r.u32()
			typeSec = append(typeSec, old[r.off:]...)
		}
		for _, t := range newTypes {
			typeSec = append(typeSec, 0x60, 0x00)
			typeSec = appendU32(typeSec, uint32(len(t.results)))
			typeSec = append(typeSec, t.results...)
		}
	}

	// Emit, inserting sections the module lacks at their place.
	replaced := map[byte][]byte{secGlobal: globalSec, secExport: exportSec, secCode: code}
	if typeSec != nil {
		replaced[secType] = typeSec
	}
	emitted := map[byte]bool{}
	out := append(make([]byte, 0, len(wasm)+len(wasm)/4), wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
		emitted[id] = true
	}
	insertMissing := func(before int) {
		for _, id := range []byte{secType, secGlobal, secExport} {
			if body, ok := replaced[id]; ok && !emitted[id] && order[id] < before && find(id) == nil {
				emit(id, body)
			}
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			insertMissing(order[s.id])
		}
		if body, ok := replaced[s.id]; ok && s.id != secCustom {
			emit(s.id, body)
			continue
		}
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.body)))
		out = append(out, s.body...)
	}
	insertMissing(1 << 30)
	m.Wasm = out
	return m, nil
}

func parseTypes(b []byte) ([]funcType, error) {
	r := &reader{b: b}
	n := r.u32()
	var types []funcType
	for i := uint32(0); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 {
			r.fail("type form 0x%x (only function types are supported)", form)
			break
		}
		var t funcType
		t.params = r.bytes(int(r.u32()))
		t.results = r.bytes(int(r.u32()))
		types = append(types, t)
	}
	return types, r.done()
}

// Instruction opcodes the instrumentation emits or treats specially.
const (
	opUnreachable  = 0x00
	opBlock        = 0x02
	opLoop         = 0x03
	opIf           = 0x04
	opElse         = 0x05
	opEnd          = 0x0b
	opReturn       = 0x0f
	opCall         = 0x10
	opCallIndirect = 0x11
	opLocalGet     = 0x20
	opLocalTee     = 0x22
	opGlobalGet    = 0x23
	opGlobalSet    = 0x24
	opMemoryGrow   = 0x40
	opI32Const     = 0x41
	opI64Const     = 0x42
	opDrop         = 0x1a
	opI32Eqz       = 0x45
	opI32Ne        = 0x47
	opI64Ne        = 0x52
	opI32Add       = 0x6a
	opI32Sub       = 0x6b
	opI32DivU      = 0x6e
	opI32Or        = 0x72
	opI32ShrS      = 0x75
	opI64Sub       = 0x7d
	opI64Mul       = 0x7e
	opI64Or        = 0x84
	opI64ShrS      = 0x87
	opI64ShrU      = 0x88
	opI64ExtendU   = 0xad
	opPrefixFC     = 0xfc
	blockEmpty     = 0x40
)

// instrumentBody rewrites one function body (locals and expression) of
// type t. It returns whether the body has stateful instructions
// (Module.Stateful).
func instrumentBody(body []byte, t funcType, blockType []byte, fuel, depth uint32, env funcEnv) ([]byte, bool, error) {
	nParams := uint32(len(t.params))
	frame, err := frameCost(body, nParams, len(t.results), env)
	if err != nil {
		return nil, false, err
	}
	r := &reader{b: body}
	nDecl := r.u32()
	declStart := r.off
	nLocals := uint64(nParams)
	for i := uint32(0); i < nDecl && r.err == nil; i++ {
		nLocals += uint64(r.u32())
		r.byte()
	}
	if r.err != nil {
		return nil, false, r.err
	}
	if nLocals > 1<<32-1-ScratchLocals {
		return nil, false, errors.New("too many locals")
	}
	localsEnd := r.off
	// Scratch locals, declared only as far as used: an i32 for bulk
	// charges, an f32 and an f64 for NaN canonicalization.
	scratch := uint32(nLocals)
	nScratch, stateful := uint32(0), false

	// settle finishes a charge whose difference d = old - cost the code
	// before it stored in the global g (fuel, or the stack budget if
	// i32): it stores d | d>>63 (>>31), which is d if d >= 0 and the
	// exhausted sentinel (all ones) if the subtraction went below zero,
	// then traps if the global holds the sentinel, by dividing 1 by
	// (g != sentinel). No branch: the check adds no basic block, which
	// the optimizing compiler's time is quadratic in (limits.go). The
	// host keeps the fuel below 2^62 and the budget below 2^31 and a cost
	// is below both, so d < 0 exactly when old < cost.
	settle := func(dst []byte, g uint32, i64 bool) []byte {
		get := appendU32([]byte{opGlobalGet}, g)
		dst = append(dst, get...)
		dst = append(dst, get...)
		if i64 {
			dst = append(dst, opI64Const, 63, opI64ShrS, opI64Or, opGlobalSet)
		} else {
			dst = append(dst, opI32Const, 31, opI32ShrS, opI32Or, opGlobalSet)
		}
		dst = appendU32(dst, g)
		dst = append(dst, opI32Const, 1)
		dst = append(dst, get...)
		if i64 {
			dst = append(dst, opI64Const, 0x7f, opI64Ne)
		} else {
			dst = append(dst, opI32Const, 0x7f, opI32Ne)
		}
		return append(dst, opI32DivU, opDrop)
	}
	charge := func(dst []byte, cost uint64) []byte {
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, fuel)
		dst = append(dst, opI64Const)
		dst = appendS64(dst, int64(cost))
		dst = append(dst, opI64Sub, opGlobalSet)
		dst = appendU32(dst, fuel)
		return settle(dst, fuel, true)
	}
	// dynCharge charges f(n), where n is the i32 on top of the operand
	// stack, leaving it there: n >> BulkShift for a bulk operation, n ·
	// CostMemoryGrowPage for memory.grow (below 2^50, no overflow).
	dynCharge := func(dst []byte, grow bool) []byte {
		dst = append(dst, opLocalTee)
		dst = appendU32(dst, scratch)
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, fuel)
		dst = append(dst, opLocalGet)
		dst = appendU32(dst, scratch)
		if grow {
			dst = append(dst, opI64ExtendU, opI64Const)
			dst = appendS64(dst, CostMemoryGrowPage)
			dst = append(dst, opI64Mul)
		} else {
			dst = append(dst, opI64ExtendU, opI64Const, BulkShift, opI64ShrU)
		}
		dst = append(dst, opI64Sub, opGlobalSet)
		dst = appendU32(dst, fuel)
		return settle(dst, fuel, true)
	}
	// adjustStack adds op (i32.add or i32.sub) frame to the stack budget.
	adjustStack := func(dst []byte, op byte) []byte {
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, depth)
		dst = append(dst, opI32Const)
		dst = appendS64(dst, int64(frame))
		dst = append(dst, op, opGlobalSet)
		return appendU32(dst, depth)
	}
	depthExit := func(dst []byte) []byte { return adjustStack(dst, opI32Add) }

	// Entry: check and take the frame's cost from the stack budget, open
	// the wrapper block whose end is the single exit of the function (a
	// branch to the function's outermost label now lands there).
	var out []byte
	out = adjustStack(out, opI32Sub)
	out = settle(out, depth, false)
	out = append(out, opBlock)
	out = append(out, blockType...)

	var seg []byte
	var cost uint64
	flush := func() {
		if cost > 0 {
			out = charge(out, cost)
		}
		out = append(out, seg...)
		seg, cost = seg[:0], 0
	}
	level := 0
	for {
		if r.off >= len(r.b) {
			return nil, false, errors.New("body ends without end")
		}
		start := r.off
		op := r.byte()
		var sub uint32
		c := uint64(CostDefault)
		switch {
		case op == opBlock || op == opLoop || op == opIf:
			r.blockType()
			level++
		case op == opEnd:
			level--
		case op == opCall:
			r.u32()
			c = CostCall
		case op == opCallIndirect:
			r.u32()
			r.u32()
			c = CostCallIndirect
		case op == opMemoryGrow:
			r.byte()
			c = CostMemoryGrow
		case op == opPrefixFC:
			sub = r.u32()
			switch sub {
			case 8, 10, 11, 12, 14, 17: // memory.init/copy/fill, table.init/copy/fill
				c = CostBulk
			}
			switch sub {
			case 9, 12, 13, 14, 15, 17: // data.drop, table.init, elem.drop, table.copy/grow/fill
				stateful = true
			}
			r.fcImmediates(sub)
		case op == 0x26: // table.set
			stateful = true
			r.u32()
		default:
			r.immediates(op)
		}
		if r.err != nil {
			return nil, false, fmt.Errorf("instruction at body offset %d (0x%02x): %w", start, op, r.err)
		}
		switch {
		case op == opReturn:
			seg = depthExit(seg)
		case op == opPrefixFC && c == CostBulk:
			seg = dynCharge(seg, false)
			nScratch = max(nScratch, 1)
		case op == opMemoryGrow:
			seg = dynCharge(seg, true)
			nScratch = max(nScratch, 1)
		}
		seg = append(seg, body[start:r.off]...)
		if vt := nanType(op); vt != 0 {
			i := uint32(1) // f32 scratch
			if vt == 0x7c {
				i = 2 // f64 scratch
			}
			seg = appendCanonNaN(seg, vt, scratch+i)
			nScratch = max(nScratch, i+1)
		}
		cost += c
		switch op {
		case opLoop, opIf, opElse:
			flush()
		case opEnd:
			flush()
			if level < 0 {
				if r.off != len(r.b) {
					return nil, false, errors.New("bytes after the function's end")
				}
				out = depthExit(out)
				out = append(out, opEnd)
				// Locals, with the scratch locals used.
				nb := appendU32(nil, nDecl+nScratch)
				nb = append(nb, body[declStart:localsEnd]...)
				nb = append(nb, []byte{0x01, 0x7f, 0x01, 0x7d, 0x01, 0x7c}[:2*nScratch]...)
				return append(nb, out...), stateful, nil
			}
		}
	}
}
