// Package hostile generates WebAssembly modules that attack the Wasm
// sandbox (node/wasmhost and its meter): modules that try to reach the
// metering globals, to run forever, or to make validation, compilation or
// instantiation expensive. Each function returns the bytes of one case;
// the tests of node/wasmhost and node/app run them (issue 10).
//
// The modules are built here, byte by byte, rather than by a toolchain, so
// that they can be exactly as malformed as an attacker likes.
package hostile

import (
	"bytes"
	"strconv"
)

// Value types and other encodings.
const (
	i32     = 0x7f
	i64     = 0x7e
	funcRef = 0x70
	empty   = 0x40 // empty block type
)

// Opcodes used below.
const (
	opUnreachable = 0x00
	opNop         = 0x01
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0b
	opBr          = 0x0c
	opCall        = 0x10
	opLocalGet    = 0x20
	opGlobalSet   = 0x24
	opDrop        = 0x1a
	opI32Const    = 0x41
	opI64Const    = 0x42
	opI32Add      = 0x6a
	opI32Load     = 0x28
	opI32Store    = 0x36
	opPrefixFC    = 0xfc
)

// Section ids.
const (
	secType     = 1
	secImport   = 2
	secFunction = 3
	secTable    = 4
	secMemory   = 5
	secGlobal   = 6
	secExport   = 7
	secElement  = 9
	secCode     = 10
	secData     = 11
)

func u32(v uint32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func s64(v int64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// vec is a vector of n items already encoded back to back.
func vec(n int, items ...[]byte) []byte { return cat(u32(uint32(n)), cat(items...)) }

func name(s string) []byte { return cat(u32(uint32(len(s))), []byte(s)) }

// funcType encodes (params) -> (results).
func funcType(params, results []byte) []byte {
	return cat([]byte{0x60}, u32(uint32(len(params))), params, u32(uint32(len(results))), results)
}

// code encodes a function body: local declarations and instructions, which
// must include the final end.
func code(locals []byte, instrs ...[]byte) []byte {
	b := cat(locals, cat(instrs...))
	return cat(u32(uint32(len(b))), b)
}

var noLocals = []byte{0}

// module assembles sections given by id; nil bodies are left out.
type module map[byte][]byte

func (m module) bytes() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, id := range []byte{secType, secImport, secFunction, secTable, secMemory, secGlobal, secExport, secElement, secCode, secData} {
		if b, ok := m[id]; ok {
			out = append(out, id)
			out = append(out, u32(uint32(len(b)))...)
			out = append(out, b...)
		}
	}
	return out
}

// Plugin ABI types and the index of each in plugin's type section.
const (
	tVoid     = 0 // () -> ()
	tI32      = 1 // () -> i32
	tAlloc    = 2 // (i32) -> i32
	tFree     = 3 // (i32, i32) -> ()
	tI64      = 4 // () -> i64
	tVerify   = 5 // (i32 x 6) -> i64
	nABITypes = 6
	tHash     = 6 // (i32, i32, i32) -> (), after the ABI's types
)

// Metadata is the idos_metadata document of the plugins built here
// (scheme "hostile").
const Metadata = `{"abi":1,"kind":"signature","scheme":"hostile","key_type":"ed25519","address_format":"none"}`

// Where plugin's data segment puts the metadata and the result of
// idos_verify (status 1, invalid signature), and where idos_alloc's one
// buffer starts.
const (
	metadataAt = 16
	resultAt   = 512
	result     = "\x01spun"
	allocAt    = 1024
)

func packed(ptr, n int) []byte {
	return cat([]byte{opI64Const}, s64(int64(ptr)<<32|int64(n)))
}

// plugin is a module with every export the plugin ABI requires, so that
// registration gets as far as running it: _initialize runs init (a body
// with its locals), idos_verify runs verify, idos_abi_version returns 1,
// idos_metadata returns Metadata, idos_alloc returns a buffer at 1024 in
// the one page of memory. extra adds or replaces sections.
func plugin(init, verify []byte, extra module) []byte {
	return pluginImporting("", init, verify, extra)
}

// pluginImporting is plugin with one host function imported, if host is
// not empty: idos.host of type (i32, i32, i32) -> () (the hash functions),
// function 0, which moves the module's own functions up by one.
func pluginImporting(host string, init, verify []byte, extra module) []byte {
	abi := [][]byte{
		funcType(nil, nil), funcType(nil, []byte{i32}), funcType([]byte{i32}, []byte{i32}),
		funcType([]byte{i32, i32}, nil), funcType(nil, []byte{i64}), funcType(bytes.Repeat([]byte{i32}, 6), []byte{i64})}
	var first uint32 // index of _initialize
	var imports []byte
	if host != "" {
		abi = append(abi, funcType([]byte{i32, i32, i32}, nil))
		first = 1
		imports = vec(1, cat(name("idos"), name(host), []byte{0}, u32(tHash)))
	}
	types := vec(len(abi), abi...)
	if verify == nil {
		verify = code(noLocals, packed(resultAt, len(result)), []byte{opEnd})
	}
	data := vec(2,
		cat([]byte{0, opI32Const}, s64(metadataAt), []byte{opEnd}, name(Metadata)),
		cat([]byte{0, opI32Const}, s64(resultAt), []byte{opEnd}, name(result)))
	m := module{
		secType:     types,
		secFunction: vec(6, u32(tVoid), u32(tI32), u32(tAlloc), u32(tFree), u32(tI64), u32(tVerify)),
		secMemory:   vec(1, []byte{0, 1}),
		secExport: vec(7,
			cat(name("_initialize"), []byte{0}, u32(first)),
			cat(name("idos_abi_version"), []byte{0}, u32(first+1)),
			cat(name("idos_alloc"), []byte{0}, u32(first+2)),
			cat(name("idos_free"), []byte{0}, u32(first+3)),
			cat(name("idos_metadata"), []byte{0}, u32(first+4)),
			cat(name("idos_verify"), []byte{0}, u32(first+5)),
			cat(name("memory"), []byte{2}, u32(0))),
		secCode: vec(6,
			init,
			code(noLocals, []byte{opI32Const, 1, opEnd}),
			code(noLocals, []byte{opI32Const}, s64(allocAt), []byte{opEnd}),
			code(noLocals, []byte{opEnd}),
			code(noLocals, packed(metadataAt, len(Metadata)), []byte{opEnd}),
			verify),
		secData: data,
	}
	if imports != nil {
		m[secImport] = imports
	}
	for id, b := range extra {
		m[id] = b
	}
	return m.bytes()
}

var emptyInit = code(noLocals, []byte{opEnd})

// Valid is a well-behaved plugin: its idos_verify answers "invalid
// signature" at once.
func Valid() []byte { return plugin(emptyInit, nil, nil) }

// Spin is a valid plugin whose idos_verify loops msg_len * 2^16 times
// before it answers "invalid signature", or forever if the signature is
// not empty: a message of a few bytes costs millions of fuel units, so the
// same module tests exact fuel, fuel exhaustion and the wall-clock safety
// net.
func Spin() []byte {
	const (
		opIf      = 0x04
		opI32Shl  = 0x74
		opI32LtU  = 0x49
		opBrIf    = 0x0d
		opLocalTe = 0x22
	)
	verify := code([]byte{1, 1, i32}, // local 6: i
		[]byte{opLocalGet, 5, opIf, empty, opLoop, empty, opBr, 0, opEnd, opEnd},
		[]byte{opLoop, empty,
			opLocalGet, 6, opI32Const, 1, opI32Add, opLocalTe, 6,
			opLocalGet, 3, opI32Const, 16, opI32Shl, opI32LtU, opBrIf, 0,
			opEnd},
		packed(resultAt, len(result)), []byte{opEnd})
	return plugin(emptyInit, verify, nil)
}

// EndlessLoop is a valid plugin whose _initialize loops forever: the fuel
// must stop it, the same way on every engine.
func EndlessLoop() []byte {
	return plugin(code(noLocals, []byte{opLoop, empty, opBr, 0, opEnd, opEnd}), nil, nil)
}

// RefillFuel is item 1 of issue 10: a module with no globals of its own
// whose _initialize loops forever, refilling the global at index 0 with
// 2^40 on every iteration. Global 0 does not exist, so the module is
// invalid; after metering, global 0 would be the fuel counter.
func RefillFuel() []byte {
	return plugin(code(noLocals, []byte{opLoop, empty, opI64Const}, s64(1<<40), []byte{opGlobalSet, 0, opBr, 0, opEnd, opEnd}), nil, nil)
}

// RefillDepth sets the global after the module's one mutable global (the
// depth counter after metering) to 2^30 and recurses forever.
func RefillDepth() []byte {
	globals := vec(1, []byte{i32, 1, opI32Const, 0, opEnd})
	return plugin(code(noLocals, []byte{opI32Const}, s64(1<<30), []byte{opGlobalSet, 2, opCall, 0, opEnd}),
		nil, module{secGlobal: globals})
}

// ExportFuelGlobal exports global 0 of a module without globals under an
// innocent name: after metering that would be the fuel counter.
func ExportFuelGlobal() []byte {
	m := module{
		secType:     vec(1, funcType(nil, nil)),
		secFunction: vec(1, u32(0)),
		secExport:   vec(1, cat(name("g"), []byte{3}, u32(0))),
		secCode:     vec(1, code(noLocals, []byte{opEnd})),
	}
	return m.bytes()
}

// ScratchLocal reads the local after a function's own: the meter adds an
// i32 scratch local to a function that uses memory.fill.
func ScratchLocal() []byte {
	fill := []byte{opI32Const, 0, opI32Const, 0, opI32Const, 0, opPrefixFC, 11, 0}
	return plugin(code(noLocals, fill, []byte{opLocalGet, 0, opDrop, opEnd}), nil, nil)
}

// WrapperLabel branches to label 1 from the top level of a function,
// where only label 0 (the function) exists; the meter wraps each body in a
// block, after which label 1 would skip the call-depth bookkeeping.
func WrapperLabel() []byte {
	return plugin(code(noLocals, []byte{opBr, 1, opEnd}), nil, nil)
}

// BlockTypeIndex uses a block type index one past the module's types: the
// meter appends a type () -> (i32, i32) for a function returning two
// values, which would make that index valid.
func BlockTypeIndex() []byte {
	m := module{
		secType:     vec(1, funcType(nil, []byte{i32, i32})),
		secFunction: vec(1, u32(0)),
		secCode: vec(1, code(noLocals,
			[]byte{opBlock, 1, opI32Const, 1, opI32Const, 2, opEnd, opEnd})),
	}
	return m.bytes()
}

// ManyLocals declares n i32 locals in one function in a few bytes
// (issue 10: 2^28 killed a node by OOM).
func ManyLocals(n uint32) []byte {
	return plugin(code(cat(u32(1), u32(n), []byte{i32}), []byte{opEnd}), nil, nil)
}

// DeepNesting nests n empty blocks in _initialize.
func DeepNesting(n int) []byte {
	body := cat(bytes.Repeat([]byte{opBlock, empty}, n), bytes.Repeat([]byte{opEnd}, n), []byte{opEnd})
	return plugin(code(noLocals, body), nil, nil)
}

// NestedLoops nests n loops in _initialize, each with a little work, the
// shape that took minutes to compile in issue 10 (about 30 KB for n =
// 2,000). The loops run once each.
func NestedLoops(n int) []byte {
	open := bytes.Repeat([]byte{opLoop, empty, opI32Const, 1, opDrop}, n)
	return plugin(code(noLocals, open, bytes.Repeat([]byte{opEnd}, n), []byte{opEnd}), nil, nil)
}

// ManyFunctions defines n functions (issue 10: a million took 26 s and
// 857 MB to compile).
func ManyFunctions(n int) []byte {
	m := module{
		secType:     vec(1, funcType(nil, nil)),
		secFunction: cat(u32(uint32(n)), bytes.Repeat([]byte{0}, n)),
		secCode:     cat(u32(uint32(n)), bytes.Repeat([]byte{2, 0, opEnd}, n)),
	}
	return m.bytes()
}

// HugeTable declares a funcref table of n entries (issue 10: 2^27 entries
// reserve 1 GiB outside the memory cap).
func HugeTable(n uint32) []byte {
	return plugin(emptyInit, nil, module{secTable: vec(1, cat([]byte{funcRef, 1}, u32(n), u32(n)))})
}

// GrowableTable declares a table without a maximum and grows it by n
// entries in _initialize: one instruction, any amount of host memory.
func GrowableTable(n uint32) []byte {
	grow := cat([]byte{0xd0, funcRef, opI32Const}, s64(int64(int32(n))), []byte{opPrefixFC, 15, 0, opDrop, opEnd})
	return plugin(code(noLocals, grow), nil, module{secTable: vec(1, []byte{funcRef, 0, 0})})
}

// LongFunction is one function of n nop instructions.
func LongFunction(n int) []byte {
	return plugin(code(noLocals, bytes.Repeat([]byte{opNop}, n), []byte{opEnd}), nil, nil)
}

// HugeData has one data segment of n bytes.
func HugeData(n int) []byte {
	data := vec(1, cat([]byte{0, opI32Const, 0, opEnd}, u32(uint32(n)), make([]byte, n)))
	return plugin(emptyInit, nil, module{secData: data})
}

// ManyDataSegments has n one-byte data segments.
func ManyDataSegments(n int) []byte {
	seg := []byte{0, opI32Const, 0, opEnd, 1, 0}
	return plugin(emptyInit, nil, module{secData: cat(u32(uint32(n)), bytes.Repeat(seg, n))})
}

// ManyGlobals defines n immutable i32 globals.
func ManyGlobals(n int) []byte {
	g := []byte{i32, 0, opI32Const, 0, opEnd}
	return plugin(emptyInit, nil, module{secGlobal: cat(u32(uint32(n)), bytes.Repeat(g, n))})
}

// ManyTypes declares n function types.
func ManyTypes(n int) []byte {
	m := module{secType: cat(u32(uint32(n)), bytes.Repeat(funcType(nil, nil), n))}
	return m.bytes()
}

// ManyParams declares a function type with n i32 parameters.
func ManyParams(n int) []byte {
	m := module{secType: vec(1, funcType(bytes.Repeat([]byte{i32}, n), nil))}
	return m.bytes()
}

// ManyImports imports the same host function n times.
func ManyImports(n int) []byte {
	imp := cat(name("idos"), name("sha256"), []byte{0}, u32(0))
	m := module{
		secType:   vec(1, funcType([]byte{i32, i32, i32}, nil)),
		secImport: cat(u32(uint32(n)), bytes.Repeat(imp, n)),
	}
	return m.bytes()
}

// ManyExports exports one function under n names.
func ManyExports(n int) []byte {
	var exps [][]byte
	for i := range n {
		exps = append(exps, cat(name("f"+strconv.Itoa(i)), []byte{0}, u32(0)))
	}
	m := module{
		secType:     vec(1, funcType(nil, nil)),
		secFunction: vec(1, u32(0)),
		secExport:   vec(n, exps...),
		secCode:     vec(1, code(noLocals, []byte{opEnd})),
	}
	return m.bytes()
}

// ManyElements has one element segment of n references to function 0,
// into a table of size entries.
func ManyElements(n int, size uint32) []byte {
	elem := cat(u32(1), []byte{0, opI32Const, 0, opEnd}, u32(uint32(n)), bytes.Repeat([]byte{0}, n))
	return plugin(emptyInit, nil, module{
		secTable:   vec(1, cat([]byte{funcRef, 1}, u32(size), u32(size))),
		secElement: elem,
	})
}

// HugeCode is about size bytes of code in functions of 100,000 nops each.
func HugeCode(size int) []byte {
	const per = 100_000
	n := size/per + 1
	body := code(noLocals, bytes.Repeat([]byte{opNop}, per), []byte{opEnd})
	m := module{
		secType:     vec(1, funcType(nil, nil)),
		secFunction: cat(u32(uint32(n)), bytes.Repeat([]byte{0}, n)),
		secCode:     cat(u32(uint32(n)), bytes.Repeat(body, n)),
	}
	return m.bytes()
}

// SequentialLoops is one function of n empty loops in a row: 2n control
// instructions in 3n bytes, the shape the optimizing compiler handles
// worst (quadratic in the number of loops; see meter.MaxControl).
func SequentialLoops(n int) []byte {
	return plugin(code(noLocals, bytes.Repeat([]byte{opLoop, empty, opEnd}, n), []byte{opEnd}), nil, nil)
}

// RepeatedLoops is k functions of SequentialLoops(n) each.
func RepeatedLoops(n, k int) []byte {
	body := code(noLocals, bytes.Repeat([]byte{opLoop, empty, opEnd}, n), []byte{opEnd})
	m := module{
		secType:     vec(1, funcType(nil, nil)),
		secFunction: cat(u32(uint32(k)), bytes.Repeat([]byte{0}, k)),
		secCode:     cat(u32(uint32(k)), bytes.Repeat(body, k)),
	}
	return m.bytes()
}

// SequentialIfs is a plugin whose _initialize, idos_verify and
// idos_metadata (as far as ns goes, at most three) each start with ns[i]
// empty ifs in a row (i32.const 0, if, end): 2n+1 control instructions,
// the shape the optimizing compiler handles worst per control instruction
// (see meter.MaxControl and MaxControlWeight).
func SequentialIfs(ns ...int) []byte {
	if len(ns) > 3 {
		panic("hostile: SequentialIfs takes at most three counts")
	}
	ifs := func(i int) []byte {
		if i >= len(ns) {
			return nil
		}
		return bytes.Repeat([]byte{opI32Const, 0, opIf, empty, opEnd}, ns[i])
	}
	return plugin(nil, nil, module{secCode: vec(6,
		code(noLocals, ifs(0), []byte{opEnd}),
		code(noLocals, []byte{opI32Const, 1, opEnd}),
		code(noLocals, []byte{opI32Const}, s64(allocAt), []byte{opEnd}),
		code(noLocals, []byte{opEnd}),
		code(noLocals, ifs(2), packed(metadataAt, len(Metadata)), []byte{opEnd}),
		code(noLocals, ifs(1), packed(resultAt, len(result)), []byte{opEnd}))})
}

// DenseCode is about size bytes of code in functions of at most instrs
// instructions each, of memory traffic the compiler cannot drop (i32.const
// 4, i32.const 8, i32.load, local.get 0, i32.add, i32.store): the shape
// that compiles slowest per byte among those tried, and more slowly per
// byte the longer the function (see meter.MaxInstructions and
// MaxCodeBytes). It is a module, not a plugin: it is only compiled.
func DenseCode(size, instrs int) []byte {
	unit := []byte{opI32Const, 4, opI32Const, 8, opI32Load, 2, 0, opLocalGet, 0, opI32Add, opI32Store, 2, 0}
	body := code([]byte{1, 1, i32}, bytes.Repeat(unit, (instrs-1)/6), []byte{opEnd})
	n := max(size/len(body), 1)
	m := module{
		secType:     vec(1, funcType(nil, nil)),
		secFunction: cat(u32(uint32(n)), bytes.Repeat([]byte{0}, n)),
		secMemory:   vec(1, []byte{0, 1}),
		secCode:     cat(u32(uint32(n)), bytes.Repeat(body, n)),
	}
	return m.bytes()
}

// HashLoop is item 3 of issue 10: a valid plugin with pages pages of
// memory whose _initialize calls the host function idos.fn (keccak256,
// sha256, sha512 or ripemd160) on its whole memory in an endless loop.
// Priced by the byte, each call costs millions of fuel units, so the
// init fuel limit ends it after a few calls, the same on every node; were
// the host functions nearly free, it would run until the wall-clock safety
// net, which halts a node.
func HashLoop(fn string, pages uint32) []byte {
	size := int64(pages) << 16
	hash := cat([]byte{opI32Const, 0, opI32Const}, s64(int64(int32(size))), []byte{opI32Const}, s64(allocAt), []byte{opCall, 0})
	init := code(noLocals, []byte{opLoop, empty}, hash, []byte{opBr, 0, opEnd, opEnd})
	return pluginImporting(fn, init, nil, module{secMemory: vec(1, cat([]byte{0}, u32(pages)))})
}
