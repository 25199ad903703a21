package driverhost

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mr-tron/base58"
)

// No NEAR node can run on our machines (nearcore is a Rust node with its own
// network and genesis tooling, and there is no in-process simulator like
// go-ethereum's). nearChain is the smallest model of one that answers the
// four RPC calls the NEAR driver makes exactly as the NEAR JSON-RPC spec
// shapes them: block (by finality, height or hash; UNKNOWN_BLOCK for a
// height without a block or above the node's head), EXPERIMENTAL_changes
// (data_changes of a block under a key prefix, causes receipt_processing,
// sorted by key; every mutating call of a near-sdk contract writes its
// STATE key), and EXPERIMENTAL_light_client_proof (a receipt's
// outcome with its logs, available once the head is two blocks past it).
// The events are those of the idOS near-rs contract (its integration tests:
// NEP-297 EVENT_JSON, standard FractalRegistry, version 0). It records the
// NEAR sessions committed in wasmdrivers/near/testdata, which the tests
// then serve from a recorded server (replayServer).
type nearChain struct {
	mu       sync.Mutex
	contract string
	blocks   []*nearBlock // ascending heights, some heights skipped
	head     uint64       // the node's optimistic head
	final    uint64       // its final block
}

type nearBlock struct {
	height         uint64
	hash, prevHash string
	receipts       []nearReceipt
}

type nearReceipt struct {
	id   string
	logs []string
}

func nearHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base58.Encode(h[:])
}

// nearKey is a test Ed25519 public key as NEAR writes it, and
// nearAccount its implicit account id (what the driver reports). The key
// of "zero" starts with a zero byte (a leading "1" in base58).
func nearKey(s string) string { return "ed25519:" + base58.Encode(nearKeyBytes(s)) }

func nearAccount(s string) string { return hex.EncodeToString(nearKeyBytes(s)) }

func nearKeyBytes(s string) []byte {
	h := sha256.Sum256([]byte("key " + s))
	if s == "zero" {
		h[0] = 0
	}
	return h[:]
}

// grantLog is the log line near-rs's FractalRegistryEvents emit.
func grantLog(event, owner, grantee, dataID string, locked uint64) string {
	type data struct {
		Owner       string `json:"owner"`
		Grantee     string `json:"grantee"`
		DataID      string `json:"data_id"`
		LockedUntil uint64 `json:"locked_until"`
	}
	b, _ := json.Marshal(struct {
		Standard string `json:"standard"`
		Version  string `json:"version"`
		Event    string `json:"event"`
		Data     data   `json:"data"`
	}{"FractalRegistry", "0", event, data{owner, grantee, dataID, locked}})
	return "EVENT_JSON:" + string(b)
}

// newNearChain makes blocks at heights from..to except those in skip, with
// the receipts of rs at their heights.
func newNearChain(contract string, from, to uint64, skip map[uint64]bool, rs map[uint64][]nearReceipt) *nearChain {
	c := &nearChain{contract: contract, head: to, final: to}
	prev := nearHash("genesis")
	for h := from; h <= to; h++ {
		if skip[h] {
			continue
		}
		b := &nearBlock{height: h, hash: nearHash(fmt.Sprint("block ", h)), prevHash: prev, receipts: rs[h]}
		c.blocks = append(c.blocks, b)
		prev = b.hash
	}
	return c
}

func (c *nearChain) set(head, final uint64) {
	c.mu.Lock()
	c.head, c.final = head, final
	c.mu.Unlock()
}

// find returns the block at height h (or with hash id) that the node has,
// nil if none.
func (c *nearChain) find(id any) *nearBlock {
	for _, b := range c.blocks {
		if b.height > c.head {
			break
		}
		if n, ok := id.(float64); ok && uint64(n) == b.height || id == b.hash {
			return b
		}
	}
	return nil
}

// at returns the block at height h whatever the node's head, for tests.
func (c *nearChain) at(h uint64) *nearBlock {
	for _, b := range c.blocks {
		if b.height == h {
			return b
		}
	}
	return nil
}

func (c *nearChain) last(max uint64) *nearBlock {
	var last *nearBlock
	for _, b := range c.blocks {
		if b.height <= max {
			last = b
		}
	}
	return last
}

func nearError(name string, data string) map[string]any {
	return map[string]any{"name": "HANDLER_ERROR", "cause": map[string]any{"name": name, "info": map[string]any{}},
		"code": -32000, "message": "Server error", "data": data}
}

func (c *nearChain) answer(method string, p map[string]any) (any, map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch method {
	case "block":
		var b *nearBlock
		switch p["finality"] {
		case "final":
			b = c.last(c.final)
		case "optimistic":
			b = c.last(c.head)
		case nil:
			b = c.find(p["block_id"])
		}
		if b == nil {
			return nil, nearError("UNKNOWN_BLOCK", fmt.Sprintf("DB Not Found Error: BLOCK: %v", p["block_id"]))
		}
		return map[string]any{"author": "node0", "chunks": []any{}, "header": map[string]any{
			"height": b.height, "hash": b.hash, "prev_hash": b.prevHash, "epoch_id": nearHash("epoch"),
			"timestamp": 1767225600000000000 + b.height*1000000000, "timestamp_nanosec": fmt.Sprint(1767225600000000000 + b.height*1000000000),
		}}, nil
	case "EXPERIMENTAL_changes":
		b := c.find(p["block_id"])
		if b == nil {
			return nil, nearError("UNKNOWN_BLOCK", fmt.Sprintf("DB Not Found Error: BLOCK: %v", p["block_id"]))
		}
		prefix, err := base64.StdEncoding.DecodeString(fmt.Sprint(p["key_prefix_base64"]))
		if err != nil {
			return nil, nearError("PARSE_ERROR", err.Error())
		}
		var state, grants []any
		for i, r := range b.receipts {
			cause := map[string]any{"type": "receipt_processing", "receipt_hash": r.id}
			state = append(state, map[string]any{"cause": cause, "type": "data_update", "change": map[string]any{
				"account_id": c.contract, "key_base64": base64.StdEncoding.EncodeToString([]byte("STATE")), "value_base64": "AAAAAA=="}})
			grants = append(grants, map[string]any{"cause": cause, "type": "data_update", "change": map[string]any{
				"account_id": c.contract, "key_base64": base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "g%d", i)), "value_base64": "AQ=="}})
		}
		var changes []any
		for _, c := range append(state, grants...) {
			key, _ := base64.StdEncoding.DecodeString(c.(map[string]any)["change"].(map[string]any)["key_base64"].(string))
			if bytes.HasPrefix(key, prefix) {
				changes = append(changes, c)
			}
		}
		if changes == nil {
			changes = []any{}
		}
		return map[string]any{"block_hash": b.hash, "changes": changes}, nil
	case "EXPERIMENTAL_light_client_proof":
		head := c.find(p["light_client_head"])
		for _, b := range c.blocks {
			for _, r := range b.receipts {
				if r.id != p["receipt_id"] || p["receiver_id"] != c.contract {
					continue
				}
				if head == nil || head.height < b.height+2 {
					return nil, nearError("NOT_CONFIRMED", "receipt not confirmed by the light client head")
				}
				logs := r.logs
				if logs == nil {
					logs = []string{}
				}
				return map[string]any{
					"outcome_proof": map[string]any{"proof": []any{}, "block_hash": b.hash, "id": r.id, "outcome": map[string]any{
						"logs": logs, "receipt_ids": []string{nearHash("refund " + r.id)}, "gas_burnt": 2428068571644,
						"tokens_burnt": "242806857164400000000", "executor_id": c.contract, "status": map[string]any{"SuccessValue": ""},
						"metadata": map[string]any{"version": 3, "gas_profile": []any{}}}},
					"outcome_root_proof": []any{}, "block_header_lite": map[string]any{"prev_block_hash": b.hash}, "block_proof": []any{},
				}, nil
			}
		}
		return nil, nearError("UNKNOWN_RECEIPT", fmt.Sprintf("receipt %v", p["receipt_id"]))
	}
	return nil, map[string]any{"name": "REQUEST_VALIDATION_ERROR", "cause": map[string]any{"name": "METHOD_NOT_FOUND", "info": map[string]any{"method_name": method}},
		"code": -32601, "message": "Method not found", "data": method}
}

func (c *nearChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  map[string]any  `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.JSONRPC != "2.0" {
		http.Error(w, "not JSON-RPC 2.0", http.StatusBadRequest)
		return
	}
	res, rpcErr := c.answer(req.Method, req.Params)
	out := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if rpcErr != nil {
		out["error"] = rpcErr
	} else {
		out["result"] = res
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// replayServer is the recorded server: it serves the fixtures in dir over
// HTTP JSON-RPC, each request getting the next answer recorded for it.
func replayServer(t testing.TB, dir string) string {
	t.Helper()
	tr, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, err := tr(r.Context(), "", body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
