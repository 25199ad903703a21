package meter

import (
	"errors"
	"fmt"
)

// Static limits on the original module, checked by Check before anything
// that costs more than one linear pass over the bytes (instrumenting,
// compiling, instantiating). They are consensus rules: a module over one
// is refused on every node, so changing one is a consensus change (like
// Version, but the output for accepted modules stays the same).
//
// Each limit has headroom over the largest value in the Go wasip1 plugins
// this repository ships (sigplugins/*/*.wasm, Go 1.26; the measured
// maximum is in the comment, TestLimitsHeadroom checks it) while keeping
// the worst case bounded: at least 4x, but only 2x for the four that bound
// the optimizing compiler's time (MaxControl, MaxControlWeight,
// MaxInstructions, MaxCodeBytes), because compiling a proposed module runs
// inside block execution on every node.
//
// Why the control-flow limits: wazero's optimizing compiler (wazevo) is
// quadratic in the basic blocks of a function (its loop detection and loop
// nesting forest walk the dominator tree from every block, and straight
// code makes that tree a chain), and metering added an if block per
// segment (meter version 3; since version 4 the checks are branchless and
// add no block). 5,000 loops in a row (15 KB) took 50 s to compile metered
// with version 3, 10,000 took 145 s, while the interpreter and the meter
// itself are linear. The count of control instructions (block, loop, if,
// else, end, br, br_if, br_table, return) of a function is the static
// measure of its blocks:
// MaxControl bounds it per function and MaxControlWeight bounds the sum of
// its squares over the module, so the compiler's work is bounded for the
// whole module, not just per function.
const (
	// MaxFunctions bounds imported plus defined functions (measured 1,868).
	MaxFunctions = 20_000
	// MaxTypes bounds the type section (measured 16).
	MaxTypes = 1_000
	// MaxParams bounds the parameters, and separately the results, of a
	// function type (measured 6 and 1).
	MaxParams = 64
	// MaxLocals bounds the locals of a function, parameters included
	// (measured 18). wazero keeps a byte per local per function.
	MaxLocals = 1_000
	// MaxNesting bounds the block, loop and if nesting of a function
	// (measured 549: Go's resumable functions open a block per call
	// site).
	MaxNesting = 2_400
	// MaxInstructions bounds the instructions of one function (measured
	// 13,335). The compiler is superlinear in it: 8 MiB of code compiled
	// 3.4 times slower in functions of 96,000 instructions than of 9,600.
	MaxInstructions = 30_000
	// MaxControl bounds the control instructions of one function
	// (measured 2,088).
	MaxControl = 5_000
	// MaxControlWeight bounds the sum over all functions of the square
	// of their control instructions (measured 34,621,156).
	MaxControlWeight = 70_000_000
	// MaxCodeBytes bounds the code section (measured 1,711,272). Compile
	// time is linear in it, and the densest code tried compiles about 3
	// times slower per byte than the plugins' (docs/BENCHMARKS.md).
	MaxCodeBytes = 4 << 20
	// MaxGlobals bounds imported plus defined globals (measured 8).
	MaxGlobals = 1_000
	// MaxTableEntries bounds a table's initial and maximum size (measured
	// 5,945 entries, min = max). A table without a maximum is refused if
	// the module can grow a table (table.grow).
	MaxTableEntries = 100_000
	// MaxTables bounds imported plus defined tables (measured 1).
	MaxTables = 10
	// MaxElemSegments bounds the element segments (measured 1).
	MaxElemSegments = 1_000
	// MaxDataSegments bounds the data segments (measured 31,906: Go
	// emits one per initialised variable).
	MaxDataSegments = 200_000
	// MaxElements bounds the entries of all element segments together
	// (measured 1,849).
	MaxElements = 100_000
	// MaxDataBytes bounds the bytes of all data segments together
	// (measured 790,711).
	MaxDataBytes = 8 << 20
	// MaxImports bounds the import section (measured 21), MaxExports the
	// export section (measured 7).
	MaxImports = 1_000
	MaxExports = 1_000
)

// ErrLimit is wrapped by every refusal of a module that exceeds a static
// limit (a *LimitError says which); such a refusal wraps ErrUnsupported too.
var ErrLimit = errors.New("meter: module exceeds a static limit")

// LimitError reports the limit a module exceeds. Value is the module's
// value, or the first value found over the limit while reading (Check
// stops there, so it may be less than the module's total).
type LimitError struct {
	Limit string // the constant's name, e.g. "MaxLocals"
	Value uint64
	Max   uint64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v: %s is %d, at most %d", ErrLimit, e.Limit, e.Value, e.Max)
}

// Unwrap makes a limit refusal both ErrLimit (which rule) and
// ErrUnsupported (every refusal of the meter is).
func (e *LimitError) Unwrap() []error { return []error{ErrLimit, ErrUnsupported} }

// over returns a *LimitError if v > max.
func over(limit string, v, max uint64) error {
	if v > max {
		return &LimitError{Limit: limit, Value: v, Max: max}
	}
	return nil
}
