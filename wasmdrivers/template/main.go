// Command template is the skeleton of a chain-grant driver: copy this
// directory, rename it, and fill in poll (docs/drivers.md). As shipped it
// reads nothing but the chain's head and reports no grants, advancing its
// cursor to the final block, so it loads and polls against any EVM
// JSON-RPC endpoint.
package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o template.wasm .

func init() {
	driver.Register(driver.Metadata{
		Name:     "template",
		Family:   "evm", // the chain family your driver reads
		Finality: driver.FinalityConfirmations,
		Config:   []string{"chain", "contract", "confirmations"},
	}, poll)
}

func main() {}

// cursor is where the next poll starts. Keep it small (the host caps it at
// 1 KiB) and make it enough to resume after a restart: the host keeps no
// other state between polls.
type cursor struct {
	Next uint64 `json:"next"`
}

func poll(req driver.Request) (driver.Response, error) {
	var c cursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &c); err != nil {
			return driver.Response{}, fmt.Errorf("template: bad cursor: %w", err)
		}
	}
	// 1. Find the final block: here head minus the confirmations.
	var head string
	if err := driver.Call("eth_blockNumber", nil, false, &head); err != nil {
		return driver.Response{}, err
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(head, "0x"), 16, 64)
	if err != nil {
		return driver.Response{}, fmt.Errorf("template: head %q: %w", head, err)
	}
	if n < req.Confirmations || n-req.Confirmations < c.Next {
		return driver.Response{Cursor: req.Cursor}, nil
	}
	final := n - req.Confirmations
	// 2. Read the grant contract's changes in [c.Next, final] with
	//    driver.Call(..., true, ...) (cross-checked across endpoints),
	//    and turn each into an observation.Grant of req.Chain and
	//    req.Contract with the block number and hash it happened in.
	var obs []observation.Grant
	// 3. Return them with the cursor of the next poll.
	next, _ := json.Marshal(cursor{Next: final + 1})
	return driver.Response{Observations: obs, Cursor: next}, nil
}
