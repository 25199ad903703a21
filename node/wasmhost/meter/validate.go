package meter

import (
	"errors"
	"fmt"
)

// Check is the pre-pass Instrument runs on the original bytes before it
// rewrites anything. In one linear pass, allocating nothing per function,
// local or instruction, it
//
//	a) enforces the static limits (limits.go), each before the thing it
//	   bounds is read: a count is checked before its items are, so a
//	   module declaring 2^28 locals or a million functions is refused
//	   after reading a few bytes; it returns a *LimitError (ErrLimit);
//	b) checks that every index in the original code and constant
//	   expressions refers to something the original module declares:
//	   globals (global.get, global.set, exports, constant expressions),
//	   types (block types, call_indirect, functions, imports), locals
//	   (local.get, local.set, local.tee), labels (br, br_if, br_table),
//	   functions (call, ref.func, exports, element segments) and tables
//	   (call_indirect, table.get, table.set). It returns an error wrapping
//	   ErrUnsupported.
//
// Why b) and not a full validation of the original: the rewrite adds two
// globals (fuel and call depth, at the first indices after the module's
// own), possibly types (block types for multi-value functions, after the
// module's), one local per function (after its own) and one label (the
// block wrapping each body). A module that is invalid only because it
// refers to one of these would become valid after rewriting, and could
// then set its own fuel. With b) the original code can reach none of them,
// and every other rule of WebAssembly validation is enforced by wazero when
// it compiles the rewritten module: the inserted code is stack-neutral and
// changes no other index, so the rewritten module is valid exactly when the
// original is. Validating the original with wazero as well would cost a
// second full compilation of every proposed module; b) costs one pass.
func Check(wasm []byte) error {
	_, err := scan(wasm)
	return err
}

// stats are the maxima scan measured, for the limits' headroom test.
type stats struct {
	functions, types, params, results, locals, nesting, instructions     uint64
	codeBytes, globals, tables, tableEntries, elemSegments, dataSegments uint64
	elements, dataBytes, imports, exports                                uint64
	control, controlWeight                                               uint64
}

// moduleScan is the state of one scan.
type moduleScan struct {
	st         stats
	typeParams []uint32 // parameter count of each type (at most MaxTypes)
	funcTypes  []uint32 // type of each function (at most MaxFunctions)
	nImpFuncs  int
	nGlobals   uint32
	nImpGlobal uint32
	nTables    uint32
	// growable: a table without a maximum; growsTable: the code has
	// table.grow. Both together are refused (the growth would be bounded
	// by nothing but fuel).
	growable, growsTable bool
}

func scan(wasm []byte) (stats, error) {
	s := &moduleScan{}
	err := s.module(wasm)
	var le *LimitError
	switch {
	case errors.As(err, &le):
		return s.st, err
	case err != nil:
		return s.st, fmt.Errorf("%w: %w", ErrUnsupported, err)
	case s.growable && s.growsTable:
		return s.st, fmt.Errorf("%w: a table without a maximum size, and table.grow", ErrUnsupported)
	}
	return s.st, nil
}

func (s *moduleScan) module(wasm []byte) error {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return errors.New("not a WebAssembly 1.0 binary module")
	}
	r := &reader{b: wasm, off: 8}
	prev := 0
	for r.off < len(r.b) {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if r.err != nil {
			return fmt.Errorf("section table: %w", r.err)
		}
		if id == secCustom {
			continue
		}
		// The indices below are only well defined if each section comes
		// once and in order (Instrument refuses the rest with detail).
		if o, ok := order[id]; !ok || o <= prev {
			return fmt.Errorf("section id %d unknown, out of order or repeated", id)
		} else {
			prev = o
		}
		sr := &reader{b: body}
		var err error
		switch id {
		case secType:
			err = s.typeSection(sr)
		case secImport:
			err = s.importSection(sr)
		case secFunction:
			err = s.functionSection(sr)
		case secTable:
			err = s.tableSection(sr)
		case secGlobal:
			err = s.globalSection(sr)
		case secExport:
			err = s.exportSection(sr)
		case secElement:
			err = s.elementSection(sr)
		case secCode:
			if err = over("MaxCodeBytes", uint64(len(body)), MaxCodeBytes); err == nil {
				s.st.codeBytes = uint64(len(body))
				err = s.codeSection(sr)
			}
		case secData:
			err = s.dataSection(sr)
		default: // memory, start, data count: Instrument and wazero check them
			continue
		}
		if err == nil {
			err = sr.done()
		}
		if err != nil {
			return fmt.Errorf("section %d: %w", id, err)
		}
	}
	return nil
}

// count reads a vector length and checks it against a limit.
func count(r *reader, limit string, have, max uint64) (uint32, error) {
	n := r.u32()
	if r.err != nil {
		return 0, r.err
	}
	return n, over(limit, have+uint64(n), max)
}

func (s *moduleScan) typeSection(r *reader) error {
	n, err := count(r, "MaxTypes", 0, MaxTypes)
	if err != nil {
		return err
	}
	s.st.types = uint64(n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 {
			return fmt.Errorf("type form 0x%x", form)
		}
		np, err := count(r, "MaxParams", 0, MaxParams)
		if err != nil {
			return err
		}
		r.bytes(int(np))
		nr, err := count(r, "MaxParams", 0, MaxParams)
		if err != nil {
			return err
		}
		r.bytes(int(nr))
		s.typeParams = append(s.typeParams, np)
		s.st.params, s.st.results = max(s.st.params, uint64(np)), max(s.st.results, uint64(nr))
	}
	return r.err
}

func (s *moduleScan) typeIndex(t uint32) error {
	if int(t) >= len(s.typeParams) {
		return fmt.Errorf("type index %d out of range (%d types)", t, len(s.typeParams))
	}
	return nil
}

func (s *moduleScan) addFunction(t uint32) error {
	if err := s.typeIndex(t); err != nil {
		return err
	}
	s.funcTypes = append(s.funcTypes, t)
	s.st.functions = uint64(len(s.funcTypes))
	return nil
}

func (s *moduleScan) importSection(r *reader) error {
	n, err := count(r, "MaxImports", 0, MaxImports)
	if err != nil {
		return err
	}
	s.st.imports = uint64(n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0:
			if err := over("MaxFunctions", uint64(len(s.funcTypes))+1, MaxFunctions); err != nil {
				return err
			}
			if err := s.addFunction(r.u32()); err != nil && r.err == nil {
				return err
			}
			s.nImpFuncs++
		case 1:
			r.byte() // reftype
			if err := s.table(r); err != nil {
				return err
			}
		case 2:
			r.limits()
		case 3:
			r.byte() // valtype
			r.byte() // mutability
			if err := over("MaxGlobals", uint64(s.nGlobals)+1, MaxGlobals); err != nil {
				return err
			}
			s.nGlobals++
			s.nImpGlobal++
			s.st.globals = uint64(s.nGlobals)
		default:
			return fmt.Errorf("import kind %d", kind)
		}
	}
	return r.err
}

func (s *moduleScan) functionSection(r *reader) error {
	n, err := count(r, "MaxFunctions", uint64(len(s.funcTypes)), MaxFunctions)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		if err := s.addFunction(r.u32()); err != nil && r.err == nil {
			return err
		}
	}
	return r.err
}

// table reads a table type's limits (after its reftype).
func (s *moduleScan) table(r *reader) error {
	if err := over("MaxTables", uint64(s.nTables)+1, MaxTables); err != nil {
		return err
	}
	s.nTables++
	s.st.tables = uint64(s.nTables)
	flags, min := r.byte(), r.u32()
	size := min
	switch flags {
	case 0x00:
		s.growable = true
	case 0x01:
		size = max(min, r.u32())
	default:
		return fmt.Errorf("table limits flags 0x%x", flags)
	}
	s.st.tableEntries = max(s.st.tableEntries, uint64(size))
	return over("MaxTableEntries", uint64(size), MaxTableEntries)
}

func (s *moduleScan) tableSection(r *reader) error {
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.byte() // reftype
		if err := s.table(r); err != nil {
			return err
		}
	}
	return r.err
}

func (s *moduleScan) globalSection(r *reader) error {
	n, err := count(r, "MaxGlobals", uint64(s.nGlobals), MaxGlobals)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.byte() // valtype
		r.byte() // mutability
		// The module's globals, all of them, are the bound: wazero
		// applies the stricter rules of constant expressions.
		if err := s.constExpr(r, s.nImpGlobal+n); err != nil {
			return err
		}
	}
	s.nGlobals += n
	s.st.globals = uint64(s.nGlobals)
	return r.err
}

// constExpr reads a constant expression through its end, checking its
// global and function indices against the first nGlobals globals.
func (s *moduleScan) constExpr(r *reader, nGlobals uint32) error {
	start := r.off
	r.constExpr()
	if r.err != nil {
		return r.err
	}
	// Read it again for the indices: constant expressions are a few bytes.
	e := &reader{b: r.b[start:r.off]}
	for e.err == nil && e.off < len(e.b) {
		switch op := e.byte(); op {
		case opGlobalGet:
			if g := e.u32(); g >= nGlobals {
				return fmt.Errorf("constant expression: global index %d out of range (%d globals)", g, nGlobals)
			}
		case 0xd2:
			if err := s.funcIndex(e.u32()); err != nil {
				return err
			}
		case opI32Const:
			e.sleb(32)
		case opI64Const:
			e.sleb(64)
		case 0x43:
			e.bytes(4)
		case 0x44:
			e.bytes(8)
		case 0xd0:
			e.byte()
		}
	}
	return e.err
}

func (s *moduleScan) funcIndex(f uint32) error {
	if int(f) >= len(s.funcTypes) {
		return fmt.Errorf("function index %d out of range (%d functions)", f, len(s.funcTypes))
	}
	return nil
}

func (s *moduleScan) exportSection(r *reader) error {
	n, err := count(r, "MaxExports", 0, MaxExports)
	if err != nil {
		return err
	}
	s.st.exports = uint64(n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.name()
		kind, idx := r.byte(), r.u32()
		switch {
		case r.err != nil:
		case kind == 0:
			err = s.funcIndex(idx)
		case kind == 1 && idx >= s.nTables:
			err = fmt.Errorf("export of table %d out of range", idx)
		case kind == 3 && idx >= s.nGlobals:
			err = fmt.Errorf("export of global %d out of range (%d globals)", idx, s.nGlobals)
		}
		if err != nil {
			return err
		}
	}
	return r.err
}

func (s *moduleScan) elementSection(r *reader) error {
	n, err := count(r, "MaxElemSegments", 0, MaxElemSegments)
	if err != nil {
		return err
	}
	s.st.elemSegments = uint64(n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		if flags > 7 {
			return fmt.Errorf("element segment flags %d", flags)
		}
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			r.u32()
		}
		if flags&1 == 0 { // active: offset
			if err := s.constExpr(r, s.nGlobals); err != nil {
				return err
			}
		}
		if flags&3 != 0 { // elemkind or reftype
			r.byte()
		}
		m, err := count(r, "MaxElements", s.st.elements, MaxElements)
		if err != nil {
			return err
		}
		s.st.elements += uint64(m)
		for j := uint32(0); j < m && r.err == nil; j++ {
			if flags&4 == 0 {
				err = s.funcIndex(r.u32())
			} else {
				err = s.constExpr(r, s.nGlobals)
			}
			if err != nil && r.err == nil {
				return err
			}
		}
	}
	return r.err
}

func (s *moduleScan) dataSection(r *reader) error {
	n, err := count(r, "MaxDataSegments", 0, MaxDataSegments)
	if err != nil {
		return err
	}
	s.st.dataSegments = uint64(n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		switch flags := r.u32(); flags {
		case 0, 2:
			if flags == 2 {
				r.u32() // memory index
			}
			if err := s.constExpr(r, s.nGlobals); err != nil {
				return err
			}
		case 1:
		default:
			return fmt.Errorf("data segment flags %d", flags)
		}
		size, err := count(r, "MaxDataBytes", s.st.dataBytes, MaxDataBytes)
		if err != nil {
			return err
		}
		s.st.dataBytes += uint64(size)
		r.bytes(int(size))
	}
	return r.err
}

func (s *moduleScan) codeSection(r *reader) error {
	n := r.u32()
	if r.err == nil && int(n) != len(s.funcTypes)-s.nImpFuncs {
		return fmt.Errorf("%d function bodies, %d functions declared", n, len(s.funcTypes)-s.nImpFuncs)
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		f := s.nImpFuncs + int(i)
		b := r.bytes(int(r.u32()))
		if r.err != nil {
			break
		}
		if err := s.body(b, s.typeParams[s.funcTypes[f]]); err != nil {
			return fmt.Errorf("function %d: %w", f, err)
		}
	}
	return r.err
}

// body checks one function body: its locals, nesting, instruction count
// and every index in it.
func (s *moduleScan) body(b []byte, nParams uint32) error {
	r := &reader{b: b}
	nLocals := uint64(nParams)
	nDecl := r.u32()
	for i := uint32(0); i < nDecl && r.err == nil; i++ {
		nLocals += uint64(r.u32())
		r.byte()
		if err := over("MaxLocals", nLocals, MaxLocals); err != nil {
			return err
		}
	}
	s.st.locals = max(s.st.locals, nLocals)
	var open, nInstr, nCtl uint64 // blocks open inside the function; instructions; control
	for r.err == nil {
		if nInstr++; nInstr > MaxInstructions {
			return over("MaxInstructions", nInstr, MaxInstructions)
		}
		start := r.off
		op := r.byte()
		var err error
		switch op {
		case opBlock, opLoop, opIf, opElse, opEnd, 0x0c, 0x0d, 0x0e, opReturn:
			if nCtl++; nCtl > MaxControl {
				return over("MaxControl", nCtl, MaxControl)
			}
		}
		switch op {
		case opBlock, opLoop, opIf:
			if open++; open > MaxNesting {
				return over("MaxNesting", open, MaxNesting)
			}
			s.st.nesting = max(s.st.nesting, open)
			if c := r.peek(); r.err == nil && c != blockEmpty && !isValType(c) {
				if t := r.sleb(33); r.err == nil && (t < 0 || t >= int64(len(s.typeParams))) {
					err = fmt.Errorf("block type index %d out of range", t)
				}
			} else {
				r.byte()
			}
		case opEnd:
			if open == 0 {
				if r.err == nil && r.off != len(r.b) {
					return errors.New("bytes after the function's end")
				}
				s.st.instructions = max(s.st.instructions, nInstr)
				s.st.control = max(s.st.control, nCtl)
				s.st.controlWeight += nCtl * nCtl
				if r.err == nil {
					return over("MaxControlWeight", s.st.controlWeight, MaxControlWeight)
				}
				return r.err
			}
			open--
		case 0x0c, 0x0d: // br, br_if
			err = label(r.u32(), open)
		case 0x0e: // br_table: n+1 labels, each at least a byte
			n := r.u32()
			for i := uint32(0); i <= n && r.err == nil && err == nil; i++ {
				err = label(r.u32(), open)
			}
		case opCall, 0xd2: // call, ref.func
			if f := r.u32(); r.err == nil {
				err = s.funcIndex(f)
			}
		case opCallIndirect:
			if t, tab := r.u32(), r.u32(); r.err == nil {
				if err = s.typeIndex(t); err == nil && tab >= s.nTables {
					err = fmt.Errorf("table index %d out of range", tab)
				}
			}
		case opLocalGet, 0x21, opLocalTee:
			if l := r.u32(); r.err == nil && uint64(l) >= nLocals {
				err = fmt.Errorf("local index %d out of range (%d locals)", l, nLocals)
			}
		case opGlobalGet, opGlobalSet:
			if g := r.u32(); r.err == nil && g >= s.nGlobals {
				err = fmt.Errorf("global index %d out of range (%d globals)", g, s.nGlobals)
			}
		case 0x25, 0x26: // table.get, table.set
			if tab := r.u32(); r.err == nil && tab >= s.nTables {
				err = fmt.Errorf("table index %d out of range", tab)
			}
		case opMemoryGrow:
			r.byte()
		case opPrefixFC:
			sub := r.u32()
			s.growsTable = s.growsTable || sub == 15
			r.fcImmediates(sub)
		default:
			r.immediates(op)
		}
		if err != nil {
			return fmt.Errorf("instruction at body offset %d (0x%02x): %w", start, op, err)
		}
	}
	return r.err
}

// label checks a branch target: with open blocks, labels 0..open exist
// (open is the function's own).
func label(l uint32, open uint64) error {
	if uint64(l) > open {
		return fmt.Errorf("label %d out of range (%d enclosing blocks)", l, open)
	}
	return nil
}
