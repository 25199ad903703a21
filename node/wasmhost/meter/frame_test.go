package meter

import (
	"testing"
)

// TestFrameCost checks the static frame cost (FrameOverhead + params +
// locals + ScratchLocals + greatest operand stack height +
// insertedHeight) against hand-counted heights.
func TestFrameCost(t *testing.T) {
	const i32, bt = 0x7f, 0x40
	env := funcEnv{
		types: []funcType{
			{},                              // 0: () -> ()
			{[]byte{i32}, []byte{i32, i32}}, // 1: (i32) -> (i32, i32)
			{nil, []byte{i32, i32, i32}},    // 2: () -> (i32, i32, i32)
		},
		funcTypes: []uint32{0, 2},
	}
	const fixed = FrameOverhead + ScratchLocals + insertedHeight
	cases := []struct {
		name    string
		params  uint32
		results int
		body    []byte // locals and expression
		height  uint32 // greatest operand stack height
		locals  uint32
	}{
		// 1. Nothing on the stack.
		{"empty", 0, 0, []byte{0, 0x0b}, 0, 0},
		// 2. Three constants, then dropped; parameters and locals count.
		{"params and locals", 2, 0, []byte{1, 5, i32, 0x41, 1, 0x41, 2, 0x41, 3, 0x1a, 0x1a, 0x1a, 0x0b}, 3, 5},
		// 3. A block with a parameter and two results: its end leaves the
		//    height below its parameter plus two.
		{"multi-value block", 0, 0, []byte{0, 0x41, 0, 0x02, 1, 0x41, 1, 0x0b, 0x1a, 0x1a, 0x0b}, 2, 0},
		// 4. Unreachable code pops from the empty polymorphic stack.
		{"unreachable", 0, 0, []byte{0, 0x00, 0x6a, 0x1a, 0x41, 1, 0x1a, 0x0b}, 1, 0},
		// 5. br leaves extra values behind; the block's end has one.
		{"br", 0, 0, []byte{0, 0x02, i32, 0x41, 1, 0x41, 2, 0x0c, 0, 0x0b, 0x1a, 0x0b}, 2, 0},
		// 6. A call pushes its callee's three results.
		{"multi-result call", 0, 0, []byte{0, 0x10, 1, 0x1a, 0x1a, 0x1a, 0x0b}, 3, 0},
		// 7. if/else: each arm starts from the height below the condition.
		{"if else", 0, 0, []byte{0, 0x41, 1, 0x04, i32, 0x41, 2, 0x41, 3, 0x6a, 0x05, 0x41, 4, 0x0b, 0x1a, 0x0b}, 2, 0},
		// 8. select pops three and pushes one; a store pops two.
		{"select, store", 0, 0, []byte{0, 0x41, 0, 0x41, 1, 0x41, 2, 0x41, 3, 0x1b, 0x36, 2, 0, 0x0b}, 4, 0},
		// 9. A loop with a br_if back edge.
		{"loop", 1, 0, []byte{0, 0x03, bt, 0x20, 0, 0x0d, 0, 0x0b, 0x0b}, 1, 0},
	}
	for i, c := range cases {
		got, err := frameCost(c.body, c.params, c.results, env)
		if want := fixed + c.params + c.locals + c.height; err != nil || got != want {
			t.Errorf("%d. %s: cost %d, %v; want %d (height %d)", i+1, c.name, got, err, want, c.height)
		}
	}
	// Locals beyond any budget: the cost saturates, so entry always traps.
	huge := []byte{2, 0x80, 0x80, 0x80, 0x80, 0x08, i32, 0x80, 0x80, 0x80, 0x80, 0x08, i32, 0x0b}
	if got, err := frameCost(huge, 0, 0, env); err != nil || got != maxFrameCost {
		t.Errorf("2^32 locals: cost %d, %v; want %d", got, err, maxFrameCost)
	}
	// Out-of-range indices are refused, not guessed.
	for _, b := range [][]byte{{0, 0x10, 9, 0x0b}, {0, 0x11, 9, 0, 0x0b}, {0, 0x02, 9, 0x0b, 0x0b}} {
		if _, err := frameCost(b, 0, 0, env); err == nil {
			t.Errorf("% x: no error", b)
		}
	}
}
