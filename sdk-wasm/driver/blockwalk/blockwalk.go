// Package blockwalk is the block walk of a chain-grant driver for a chain
// whose RPC has no log filter (NEAR; Substrate or Bitcoin-like chains
// alike): each poll reads the final blocks after its cursor one by one,
// found by walking back by parent hash from the top of the range to the
// cursor's block. Every block read thus descends from the last one read:
// heights without a block are told apart from a block an endpoint does not
// give for its height, and a fork below the cursor fails the poll. The walk
// does not recompute hashes: headers forged consistently are for the
// host's cross-check of the endpoints and the validators' 2/3 agreement to
// catch. It keeps the poll inside the host's call budget: a block whose
// reads do not fit is left to the next poll, alone if need be.
//
// A driver gives the Walker a Header function (a block's height, hash and
// parent hash, by height or by hash) and, per poll, the final block and a
// read function (the observations of one block). Design notes:
// docs/drivers.md, "A driver for another chain family".
package blockwalk

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
)

// Block is what the walk needs of a block.
type Block struct {
	Height uint64
	Hash   string
	Parent string // the parent block's hash
}

// Cursor is a walk's cursor: the last block read, and how many heights past
// it the next poll reads when not Walker.MaxBlocks. Its JSON is the cursor
// the driver returns.
type Cursor struct {
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
	Span   uint64 `json:"span,omitempty"`
}

// ErrBudget means the calls a block needs do not fit in what is left of
// the poll's budget (Walker.Afford).
var ErrBudget = errors.New("blockwalk: call budget spent")

// Walker walks one poll's blocks. Use a new one per poll: it counts the
// poll's calls.
type Walker struct {
	// MaxBlocks is the most blocks a poll reads (at least 1).
	MaxBlocks uint64
	// MaxCalls is the poll's call budget: the host's (64 by default) or
	// less.
	MaxCalls int
	// Lag is how many heights below the final block a poll reads up to
	// (NEAR: 2, since an outcome is proved against a later head); 0 reads
	// up to the final block.
	Lag uint64
	// Tries is how many heights, from the top of the range down, the walk
	// tries for its first block on a chain where a height may have no
	// block (NEAR: 4); 0 or 1 tries the top only.
	Tries uint64
	// Header reads a block by id, a height (uint64) or a hash (string),
	// through w.Call, cross-checked. For a height without a block it
	// returns an error wrapping driver.ErrRPC.
	Header func(id any) (Block, error)

	calls int
}

// Call is driver.Call, counted against the budget. Make every call of the
// poll through it, the final block's included.
func (w *Walker) Call(method string, params any, crossCheck bool, out any) error {
	w.calls++
	return driver.Call(method, params, crossCheck, out)
}

// Calls is the number of calls made so far.
func (w *Walker) Calls() int { return w.calls }

// Afford returns an error wrapping ErrBudget unless n more calls fit in the
// budget. A read function calls it before calls it can count (a block's
// receipts): Poll then ends the poll before that block.
func (w *Walker) Afford(n int) error {
	if w.calls+n > w.MaxCalls {
		return fmt.Errorf("%w: %d calls made, %d more needed", ErrBudget, w.calls, n)
	}
	return nil
}

// Poll reads the blocks after cursor up to final's height less Lag, at
// most MaxBlocks (or the cursor's span) of them, oldest first, with read,
// and returns their observations in that order and the cursor of the last
// block read. With no cursor it reads nothing and returns final's; when
// nothing is new it returns cursor unchanged. When read returns ErrBudget
// for a block after the first, the poll ends before it; for the first, the
// poll returns the cursor with a span that reads that block alone, or the
// error if the walk was that block alone.
func (w *Walker) Poll(cursor []byte, final Block, read func(Block) ([]observation.Grant, error)) (driver.Response, error) {
	if len(cursor) == 0 {
		next, _ := json.Marshal(Cursor{Height: final.Height, Hash: final.Hash})
		return driver.Response{Cursor: next}, nil
	}
	var cur Cursor
	if err := json.Unmarshal(cursor, &cur); err != nil || cur.Hash == "" {
		return driver.Response{}, fmt.Errorf("blockwalk: bad cursor %q: %v", cursor, err)
	}
	if final.Height < cur.Height+1+w.Lag {
		return driver.Response{Cursor: cursor}, nil
	}
	span := w.MaxBlocks
	if cur.Span > 0 {
		span = cur.Span
	}
	chain, err := w.walk(cur, min(final.Height-w.Lag, cur.Height+span))
	if err != nil {
		return driver.Response{}, err
	}
	var obs []observation.Grant
	done := cur
	for _, b := range chain {
		got, err := read(b)
		if errors.Is(err, ErrBudget) && done != cur {
			break // the next poll goes on from done
		}
		if errors.Is(err, ErrBudget) && len(chain) > 1 {
			// The walk spent the calls this block needs: the next poll
			// reads it alone.
			next, _ := json.Marshal(Cursor{cur.Height, cur.Hash, b.Height - cur.Height})
			return driver.Response{Cursor: next}, nil
		}
		if err != nil {
			return driver.Response{}, fmt.Errorf("block %d: %w", b.Height, err)
		}
		obs = append(obs, got...)
		done = Cursor{Height: b.Height, Hash: b.Hash}
	}
	next, _ := json.Marshal(done)
	return driver.Response{Observations: obs, Cursor: next}, nil
}

// walk returns the blocks after cur up to the last one at most at height
// target, oldest first, each the parent of the next and the first a child
// of cur. Heights without a block are skipped.
func (w *Walker) walk(cur Cursor, target uint64) ([]Block, error) {
	var top Block
	var err error
	for h := target; h > cur.Height && h+max(w.Tries, 1) > target; h-- {
		if top, err = w.Header(h); err == nil {
			if top.Height != h {
				return nil, fmt.Errorf("blockwalk: block %d answered with height %d", h, top.Height)
			}
			break
		}
		if !errors.Is(err, driver.ErrRPC) {
			return nil, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("blockwalk: no block at heights %d..%d: %w", cur.Height+1, target, err)
	}
	chain := []Block{top}
	for chain[0].Parent != cur.Hash {
		if chain[0].Height <= cur.Height+1 {
			return nil, fmt.Errorf("blockwalk: block %d %s does not descend from the cursor's block %d %s",
				chain[0].Height, chain[0].Hash, cur.Height, cur.Hash)
		}
		b, err := w.Header(chain[0].Parent)
		if err != nil {
			return nil, err
		}
		if b.Hash != chain[0].Parent || b.Height >= chain[0].Height {
			return nil, fmt.Errorf("blockwalk: block %s answered with %d %s", chain[0].Parent, b.Height, b.Hash)
		}
		chain = append([]Block{b}, chain...)
	}
	return chain, nil
}
