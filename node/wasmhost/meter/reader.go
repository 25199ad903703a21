package meter

import (
	"errors"
	"fmt"
)

// reader walks a byte slice. The first error sticks: later reads return
// zero values, so callers check err once after a group of reads.
type reader struct {
	b   []byte
	off int
	err error
}

var errEOF = errors.New("unexpected end of data")

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// done reports the sticky error, or an error if bytes are left over.
func (r *reader) done() error {
	if r.err == nil && r.off != len(r.b) {
		r.err = fmt.Errorf("%d bytes left over", len(r.b)-r.off)
	}
	return r.err
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.err = errEOF
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) peek() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("%w", errEOF)
		return 0
	}
	return r.b[r.off]
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = errEOF
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

// u32 reads an unsigned LEB128 value of at most 32 bits.
func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift == 28 && c > 0x0f {
			r.fail("u32 LEB128 overflows")
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("u32 LEB128 too long")
	return 0
}

// sleb reads a signed LEB128 value of at most bits bits and returns it.
func (r *reader) sleb(bits int) int64 {
	var v int64
	maxBytes := (bits + 6) / 7
	for i, shift := 0, 0; i < maxBytes; i, shift = i+1, shift+7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			if shift+7 < 64 && c&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v
		}
	}
	r.fail("signed LEB128 too long")
	return 0
}

func (r *reader) name() []byte { return r.bytes(int(r.u32())) }

func (r *reader) limits() {
	switch flags := r.byte(); flags {
	case 0x00:
		r.u32()
	case 0x01, 0x03: // 0x03: shared, for threads; wazero decides
		r.u32()
		r.u32()
	default:
		r.fail("limits flags 0x%x (memory64 and custom page sizes are not supported)", flags)
	}
}

// constExpr skips a constant expression through its end.
func (r *reader) constExpr() {
	for r.err == nil {
		switch op := r.byte(); op {
		case opEnd:
			return
		case opI32Const:
			r.sleb(32)
		case opI64Const:
			r.sleb(64)
		case 0x43:
			r.bytes(4)
		case 0x44:
			r.bytes(8)
		case opGlobalGet, 0xd2: // global.get, ref.func
			r.u32()
		case 0xd0: // ref.null
			r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constant expressions
		default:
			r.fail("opcode 0x%x in a constant expression", op)
		}
	}
}

func isValType(c byte) bool {
	return c >= 0x7b && c <= 0x7f || c == 0x70 || c == 0x6f
}

// blockType skips a block type: empty, one value type or a type index.
func (r *reader) blockType() {
	if c := r.peek(); c == blockEmpty || isValType(c) {
		r.byte()
		return
	}
	if idx := r.sleb(33); r.err == nil && idx < 0 {
		r.fail("block type %d", idx)
	}
}

// memarg skips a memory argument (alignment, offset).
func (r *reader) memarg() {
	if align := r.u32(); align >= 0x40 {
		r.fail("memarg with a memory index (multi-memory is not supported)")
	}
	r.u32()
}

// immediates skips the immediates of op, which is not block, loop, if,
// call, call_indirect, memory.grow, table.set or the 0xfc prefix.
func (r *reader) immediates(op byte) {
	switch {
	case op == 0x00, op == 0x01, op == opElse, op == opEnd, op == opReturn,
		op == 0x1a, op == 0x1b, // drop, select
		op >= 0x45 && op <= 0xc4, // numeric, sign extension
		op == 0xd1:               // ref.is_null
	case op == 0x0c, op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x1c: // select t*
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			if !isValType(r.byte()) {
				r.fail("select type")
			}
		}
	case op >= 0x20 && op <= 0x25: // local.*, global.*, table.get
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f: // memory.size
		r.byte()
	case op == opI32Const:
		r.sleb(32)
	case op == opI64Const:
		r.sleb(64)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0: // ref.null
		r.byte()
	case op == 0xd2: // ref.func
		r.u32()
	case op == 0x12, op == 0x13:
		r.fail("tail calls are not supported")
	case op == 0xfd:
		r.fail("SIMD is not supported")
	case op == 0xfe:
		r.fail("threads (atomics) are not supported")
	default:
		r.fail("unknown or unsupported opcode")
	}
}

// fcImmediates skips the immediates of the 0xfc-prefixed instruction sub.
func (r *reader) fcImmediates(sub uint32) {
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7: // saturating truncation
	case 8: // memory.init data, mem
		r.u32()
		r.u32()
	case 9, 13: // data.drop, elem.drop
		r.u32()
	case 10: // memory.copy mem, mem
		r.u32()
		r.u32()
	case 11: // memory.fill mem
		r.u32()
	case 12, 14: // table.init elem table, table.copy table table
		r.u32()
		r.u32()
	case 15, 16, 17: // table.grow, table.size, table.fill
		r.u32()
	default:
		r.fail("0xfc %d is not supported", sub)
	}
}

func appendU32(dst []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

func appendS64(dst []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

func appendS33(dst []byte, v int64) []byte { return appendS64(dst, v) }
