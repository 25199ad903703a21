package meter

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLimitsHeadroom measures the shipped Go plugins (sigplugins/*/*.wasm)
// and requires every static limit to be at least four times their maximum,
// so a larger Go program or a newer Go toolchain does not hit one.
func TestLimitsHeadroom(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "sigplugins", "*", "*.wasm"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no plugins found: %v", err)
	}
	var m stats
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := scan(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m = stats{
			functions: max(m.functions, s.functions), types: max(m.types, s.types),
			params: max(m.params, s.params), results: max(m.results, s.results),
			locals: max(m.locals, s.locals), nesting: max(m.nesting, s.nesting),
			instructions: max(m.instructions, s.instructions), codeBytes: max(m.codeBytes, s.codeBytes),
			globals: max(m.globals, s.globals), tables: max(m.tables, s.tables),
			tableEntries: max(m.tableEntries, s.tableEntries), elemSegments: max(m.elemSegments, s.elemSegments),
			dataSegments: max(m.dataSegments, s.dataSegments), elements: max(m.elements, s.elements),
			dataBytes: max(m.dataBytes, s.dataBytes), imports: max(m.imports, s.imports), exports: max(m.exports, s.exports),
			control: max(m.control, s.control), controlWeight: max(m.controlWeight, s.controlWeight),
		}
	}
	t.Logf("maxima over %d plugins: %+v", len(files), m)
	for _, c := range []struct {
		name          string
		measured, max uint64
	}{
		{"MaxFunctions", m.functions, MaxFunctions}, {"MaxTypes", m.types, MaxTypes},
		{"MaxParams", max(m.params, m.results), MaxParams}, {"MaxLocals", m.locals, MaxLocals},
		{"MaxNesting", m.nesting, MaxNesting}, {"MaxGlobals", m.globals, MaxGlobals},
		{"MaxTables", m.tables, MaxTables}, {"MaxTableEntries", m.tableEntries, MaxTableEntries},
		{"MaxElemSegments", m.elemSegments, MaxElemSegments}, {"MaxDataSegments", m.dataSegments, MaxDataSegments}, {"MaxElements", m.elements, MaxElements},
		{"MaxDataBytes", m.dataBytes, MaxDataBytes}, {"MaxImports", m.imports, MaxImports},
		{"MaxExports", m.exports, MaxExports},
	} {
		if c.measured*4 > c.max {
			t.Errorf("%s = %d: less than 4x the shipped plugins' %d", c.name, c.max, c.measured)
		}
	}
	// The limits that bound the compiler's time (quadratic in control
	// flow, superlinear in a function's instructions, linear in code
	// bytes) have less headroom (see limits.go).
	for _, c := range []struct {
		name          string
		measured, max uint64
	}{
		{"MaxControl", m.control, MaxControl}, {"MaxControlWeight", m.controlWeight, MaxControlWeight},
		{"MaxInstructions", m.instructions, MaxInstructions}, {"MaxCodeBytes", m.codeBytes, MaxCodeBytes},
	} {
		if c.measured*2 > c.max {
			t.Errorf("%s = %d: less than 2x the shipped plugins' %d", c.name, c.max, c.measured)
		}
	}
}
