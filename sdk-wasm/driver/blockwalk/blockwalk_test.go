//go:build !wasip1

package blockwalk

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
)

// chain is an in-memory chain answering the method "header" {"id": height
// or hash} through driver.Transport, as a host would answer rpc_call: a
// height or hash without a block is a JSON-RPC error.
type chain struct {
	blocks []Block
	forge  func(id any, b Block) Block // an endpoint's lie, if set
	hide   uint64                      // a height an endpoint says has no block
}

func newChain(from, to uint64, skip ...uint64) *chain {
	c := &chain{}
	parent := "genesis"
	for h := from; h <= to; h++ {
		if slices.Contains(skip, h) {
			continue
		}
		b := Block{Height: h, Hash: fmt.Sprintf("h%d", h), Parent: parent}
		c.blocks, parent = append(c.blocks, b), b.Hash
	}
	return c
}

func (c *chain) at(h uint64) Block {
	for _, b := range c.blocks {
		if b.Height == h {
			return b
		}
	}
	panic(h)
}

func (c *chain) serve(t *testing.T) {
	t.Cleanup(func() { driver.Transport = nil })
	driver.Transport = func(req []byte, crossCheck bool) ([]byte, int) {
		var r struct {
			Method string
			Params struct{ ID any }
		}
		if err := json.Unmarshal(req, &r); err != nil || r.Method != "header" || !crossCheck {
			t.Errorf("request %s cross-checked %v", req, crossCheck)
			return nil, -1
		}
		for _, b := range c.blocks {
			if h, ok := r.Params.ID.(float64); ok && uint64(h) == b.Height && b.Height != c.hide || r.Params.ID == b.Hash {
				if c.forge != nil {
					b = c.forge(r.Params.ID, b)
				}
				out, _ := json.Marshal(b)
				return out, 0
			}
		}
		return []byte(`{"code":-32000,"message":"UNKNOWN_BLOCK"}`), 1
	}
}

func walker(maxBlocks uint64, maxCalls int, tries uint64) *Walker {
	w := &Walker{MaxBlocks: maxBlocks, MaxCalls: maxCalls, Lag: 1, Tries: tries}
	w.Header = func(id any) (Block, error) {
		var b Block
		err := w.Call("header", map[string]any{"id": id}, true, &b)
		return b, err
	}
	return w
}

// reader reads one observation per block, its data id the block's height,
// spending cost[height] more calls after asking Afford for them.
func reader(w *Walker, cost map[uint64]int, read *[]uint64) func(Block) ([]observation.Grant, error) {
	return func(b Block) ([]observation.Grant, error) {
		if err := w.Afford(cost[b.Height]); err != nil {
			return nil, err
		}
		for range cost[b.Height] {
			var x Block
			if err := w.Call("header", map[string]any{"id": b.Hash}, true, &x); err != nil {
				return nil, err
			}
		}
		*read = append(*read, b.Height)
		return []observation.Grant{{DataID: fmt.Sprint(b.Height), BlockHash: b.Hash}}, nil
	}
}

func cursor(b Block, span uint64) []byte {
	out, _ := json.Marshal(Cursor{b.Height, b.Hash, span})
	return out
}

// TestPoll: polls follow the chain from no cursor up to Lag below the
// final block, at most MaxBlocks heights each, across a height without a
// block, oldest first, and a poll with nothing new returns its cursor's
// bytes unchanged.
func TestPoll(t *testing.T) {
	c := newChain(10, 30, 13)
	c.serve(t)
	final := c.at(20)
	res, err := walker(4, 64, 1).Poll(nil, final, nil)
	if err != nil || string(res.Cursor) != `{"height":20,"hash":"h20"}` || res.Observations != nil {
		t.Fatalf("no cursor: %s %v", res.Cursor, err)
	}
	cur := cursor(c.at(10), 0)
	for _, want := range [][]uint64{{11, 12, 14}, {15, 16, 17, 18}, {19}} {
		w := walker(4, 64, 1)
		var read []uint64
		res, err := w.Poll(cur, final, reader(w, nil, &read))
		if err != nil || !slices.Equal(read, want) || len(res.Observations) != len(want) ||
			res.Observations[0].DataID != fmt.Sprint(want[0]) || string(res.Cursor) != string(cursor(c.at(want[len(want)-1]), 0)) {
			t.Fatalf("from %s: read %v, %+v, cursor %s, %v", cur, read, res.Observations, res.Cursor, err)
		}
		// One call per block: the top by height, the others by parent hash.
		if w.Calls() != len(want) {
			t.Fatalf("from %s: %d calls for %d blocks", cur, w.Calls(), len(want))
		}
		cur = res.Cursor
	}
	same := []byte(`{ "hash": "h19", "height": 19 }`)
	if res, err := walker(4, 64, 1).Poll(same, final, nil); err != nil || string(res.Cursor) != string(same) {
		t.Fatalf("nothing new: %s %v", res.Cursor, err)
	}
	for _, bad := range []string{`{"height":3}`, `[`} {
		if _, err := walker(4, 64, 1).Poll([]byte(bad), final, nil); err == nil {
			t.Errorf("cursor %s accepted", bad)
		}
	}
}

// TestTries: the walk tries Tries heights down from the top of the range
// for its first block, and no more.
func TestTries(t *testing.T) {
	c := newChain(10, 30, 13, 14)
	c.serve(t)
	if _, err := walker(4, 64, 2).Poll(cursor(c.at(10), 0), c.at(20), nil); !errors.Is(err, driver.ErrRPC) {
		t.Fatalf("two heights without a block, two tries: %v", err)
	}
	w := walker(4, 64, 3)
	var read []uint64
	if res, err := w.Poll(cursor(c.at(10), 0), c.at(20), reader(w, nil, &read)); err != nil || !slices.Equal(read, []uint64{11, 12}) ||
		string(res.Cursor) != `{"height":12,"hash":"h12"}` {
		t.Fatalf("three tries: %v %s %v", read, res.Cursor, err)
	}
	// A block an endpoint hides by height is read through its child's
	// parent hash by the next poll.
	c = newChain(10, 30)
	c.hide = 14
	c.serve(t)
	cur := cursor(c.at(10), 0)
	for _, want := range [][]uint64{{11, 12, 13}, {14, 15, 16, 17}} {
		w, read := walker(4, 64, 2), []uint64(nil)
		res, err := w.Poll(cur, c.at(20), reader(w, nil, &read))
		if err != nil || !slices.Equal(read, want) {
			t.Fatalf("14 hidden by height, from %s: %v %v", cur, read, err)
		}
		cur = res.Cursor
	}
}

// TestLies: a block that does not descend from the cursor's, or a block
// answered for another height or hash fails the poll before anything is
// read, with the walk's error (not an endpoint's).
func TestLies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cur   Block
		forge func(id any, b Block) Block
	}{
		{"fork below the cursor", Block{Height: 10, Hash: "other"}, nil},
		{"another height", Block{Height: 10, Hash: "h10"}, func(id any, b Block) Block {
			if id == float64(14) {
				b.Height = 15
			}
			return b
		}},
		{"another block for a hash", Block{Height: 10, Hash: "h10"}, func(id any, b Block) Block {
			if id == "h12" {
				b.Hash = "h12x"
			}
			return b
		}},
		{"a parent higher than its child", Block{Height: 10, Hash: "h10"}, func(id any, b Block) Block {
			if id == "h12" {
				b.Height = 14
			}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(10, 30)
			c.forge = tc.forge
			c.serve(t)
			w := walker(4, 64, 1)
			var read []uint64
			if res, err := w.Poll(cursor(tc.cur, 0), c.at(20), reader(w, nil, &read)); err == nil || errors.Is(err, driver.ErrRPC) || read != nil {
				t.Fatalf("read %v, cursor %s, %v", read, res.Cursor, err)
			} else {
				t.Log(err)
			}
		})
	}
}

// TestBudget: a block whose calls do not fit ends the poll before it; when
// it is the first block of the walk, the cursor's span makes the next poll
// read it alone; a block that does not fit alone fails the poll.
func TestBudget(t *testing.T) {
	c := newChain(10, 30, 13)
	c.serve(t)
	final := c.at(20)
	poll := func(cur []byte, cost int) ([]uint64, []byte, error) {
		w := walker(4, 12, 1)
		var read []uint64
		res, err := w.Poll(cur, final, reader(w, map[uint64]int{12: cost}, &read))
		return read, res.Cursor, err
	}
	// The walk 11..14 costs 3 calls; 12's 10 more do not fit after it.
	read, next, err := poll(cursor(c.at(10), 0), 10)
	if err != nil || !slices.Equal(read, []uint64{11}) || string(next) != `{"height":11,"hash":"h11"}` {
		t.Fatalf("first poll: %v %s %v", read, next, err)
	}
	read, next, err = poll(next, 10)
	if err != nil || read != nil || string(next) != `{"height":11,"hash":"h11","span":1}` {
		t.Fatalf("second poll: %v %s %v", read, next, err)
	}
	read, next, err = poll(next, 10)
	if err != nil || !slices.Equal(read, []uint64{12}) || string(next) != `{"height":12,"hash":"h12"}` {
		t.Fatalf("third poll: %v %s %v", read, next, err)
	}
	if read, next, err = poll(cursor(c.at(11), 1), 12); !errors.Is(err, ErrBudget) || read != nil || next != nil {
		t.Fatalf("a block too large alone: %v %s %v", read, next, err)
	}
}
