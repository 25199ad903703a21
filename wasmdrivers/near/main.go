// Command near is the NEAR chain-grant driver. It reads the idOS access
// grant contract for NEAR (idos-access-grants, near-rs: owner and grantee
// are NEAR public keys such as "ed25519:<base58>", locked_until is compared
// with the block timestamp, so nanoseconds) at NEAR's own finality, and
// reports the contract's NEP-297 events (EVENT_JSON logs of standard
// "FractalRegistry", version "0": grant_inserted, grant_deleted), with
// Ed25519 keys as implicit account ids (64 hex), the nep413 scheme's
// addresses.
//
// NEAR's RPC has no log filter, so each poll walks the final blocks after
// its cursor: EXPERIMENTAL_changes names the receipts that wrote the
// contract's STATE key in a block (every mutating call writes it), and
// EXPERIMENTAL_light_client_proof gives each receipt's outcome and logs.
// Deletions are the contract's grant_deleted events, like insertions. The
// cursor is the last block read (height and hash); each block read must
// descend from it by prev_hash, so skipped heights are told apart from
// blocks an endpoint hides. Design notes: docs/drivers.md, "NEAR".
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o near.wasm .

func init() {
	driver.Register(driver.Metadata{
		Name:     "near-grants",
		Family:   "near",
		Finality: driver.FinalityTag,
		Config:   []string{"chain", "contract"},
	}, poll)
}

func main() {}

const (
	// maxBlocks bounds the blocks one poll reads: 2 calls each plus one
	// per receipt must fit in callBudget, the host's default MaxCalls.
	maxBlocks  = 16
	callBudget = 64
	standard   = "FractalRegistry"
	stateKey   = "U1RBVEU=" // base64 of near-sdk's "STATE"
)

// cursor is the last block whose changes were read, and how many heights
// past it the next poll reads if not maxBlocks.
type cursor struct {
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
	Span   uint64 `json:"span,omitempty"`
}

type block struct {
	Header struct {
		Height   uint64 `json:"height"`
		Hash     string `json:"hash"`
		PrevHash string `json:"prev_hash"`
	} `json:"header"`
}

var (
	calls     int
	errBudget = errors.New("near: call budget spent")
)

func call(method string, params map[string]any, cross bool, out any) error {
	calls++
	return driver.Call(method, params, cross, out)
}

func poll(req driver.Request) (driver.Response, error) {
	calls = 0
	if !strings.HasPrefix(req.Chain, "near:") {
		return driver.Response{}, fmt.Errorf("near: chain %q is not near:<network>", req.Chain)
	}
	var fin block
	if err := call("block", map[string]any{"finality": "final"}, false, &fin); err != nil {
		return driver.Response{}, err
	}
	var cur cursor
	if len(req.Cursor) == 0 {
		// No cursor: start at the current final block (docs/drivers.md).
		next, _ := json.Marshal(cursor{Height: fin.Header.Height, Hash: fin.Header.Hash})
		return driver.Response{Cursor: next}, nil
	}
	if err := json.Unmarshal(req.Cursor, &cur); err != nil || cur.Hash == "" {
		return driver.Response{}, fmt.Errorf("near: bad cursor %q: %v", req.Cursor, err)
	}
	// An outcome's proof needs later blocks up to the head the proof is
	// made against (fin): read only up to two heights below it.
	if fin.Header.Height < cur.Height+3 {
		return driver.Response{Cursor: req.Cursor}, nil
	}
	span := uint64(maxBlocks)
	if cur.Span > 0 {
		span = cur.Span
	}
	chain, err := walk(cur, min(fin.Header.Height-2, cur.Height+span))
	if err != nil {
		return driver.Response{}, err
	}
	var obs []observation.Grant
	done := cur
	for _, b := range chain {
		got, err := blockGrants(req, b, fin.Header.Hash)
		if errors.Is(err, errBudget) && done != cur {
			break // the next poll goes on from done
		}
		if errors.Is(err, errBudget) && len(chain) > 1 {
			// The walk spent the calls this block needs: the next poll
			// reads it alone.
			next, _ := json.Marshal(cursor{cur.Height, cur.Hash, b.Header.Height - cur.Height})
			return driver.Response{Cursor: next}, nil
		}
		if err != nil {
			return driver.Response{}, err
		}
		obs = append(obs, got...)
		done = cursor{Height: b.Header.Height, Hash: b.Header.Hash}
	}
	next, _ := json.Marshal(done)
	return driver.Response{Observations: obs, Cursor: next}, nil
}

// walk returns the blocks after cur up to the last one at most at height
// target, oldest first, each the parent of the next and the first a child
// of cur. Heights without a block are skipped.
func walk(cur cursor, target uint64) ([]block, error) {
	var top block
	var err error
	for h := target; h > cur.Height && h+4 > target; h-- {
		if err = call("block", map[string]any{"block_id": h}, true, &top); err == nil {
			if top.Header.Height != h {
				return nil, fmt.Errorf("near: block %d answered with height %d", h, top.Header.Height)
			}
			break
		}
		if !errors.Is(err, driver.ErrRPC) {
			return nil, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("near: no block at heights %d..%d: %w", cur.Height+1, target, err)
	}
	chain := []block{top}
	for chain[0].Header.PrevHash != cur.Hash {
		if chain[0].Header.Height <= cur.Height+1 {
			return nil, fmt.Errorf("near: block %d %s does not descend from the cursor's block %d %s",
				chain[0].Header.Height, chain[0].Header.Hash, cur.Height, cur.Hash)
		}
		var b block
		if err := call("block", map[string]any{"block_id": chain[0].Header.PrevHash}, true, &b); err != nil {
			return nil, err
		}
		if b.Header.Hash != chain[0].Header.PrevHash || b.Header.Height >= chain[0].Header.Height {
			return nil, fmt.Errorf("near: block %s answered with %d %s", chain[0].Header.PrevHash, b.Header.Height, b.Header.Hash)
		}
		chain = append([]block{b}, chain...)
	}
	return chain, nil
}

// blockGrants reads the contract's events in block b: the receipts that
// wrote its STATE, in the order they did, and their logs, proved against
// head.
func blockGrants(req driver.Request, b block, head string) ([]observation.Grant, error) {
	if calls >= callBudget {
		return nil, errBudget
	}
	var ch struct {
		BlockHash string `json:"block_hash"`
		Changes   []struct {
			Cause struct {
				Type        string `json:"type"`
				ReceiptHash string `json:"receipt_hash"`
			} `json:"cause"`
		} `json:"changes"`
	}
	// Only the STATE key, which every mutating call writes: the grant
	// index vectors can grow past the 4 MiB a response may have.
	if err := call("EXPERIMENTAL_changes", map[string]any{"changes_type": "data_changes",
		"account_ids": []string{req.Contract}, "key_prefix_base64": stateKey, "block_id": b.Header.Hash}, true, &ch); err != nil {
		return nil, err
	}
	if ch.BlockHash != b.Header.Hash {
		return nil, fmt.Errorf("near: changes of block %s answered for %q", b.Header.Hash, ch.BlockHash)
	}
	var receipts []string
	seen := map[string]bool{}
	for _, c := range ch.Changes {
		if r := c.Cause.ReceiptHash; c.Cause.Type == "receipt_processing" && !seen[r] {
			seen[r] = true
			receipts = append(receipts, r)
		}
	}
	if calls+len(receipts) > callBudget {
		return nil, fmt.Errorf("%w: block %d has %d receipts", errBudget, b.Header.Height, len(receipts))
	}
	var obs []observation.Grant
	for _, r := range receipts {
		var p struct {
			OutcomeProof struct {
				ID        string `json:"id"`
				BlockHash string `json:"block_hash"`
				Outcome   struct {
					Logs       []string                   `json:"logs"`
					ExecutorID string                     `json:"executor_id"`
					Status     map[string]json.RawMessage `json:"status"`
				} `json:"outcome"`
			} `json:"outcome_proof"`
		}
		if err := call("EXPERIMENTAL_light_client_proof", map[string]any{"type": "receipt", "receipt_id": r,
			"receiver_id": req.Contract, "light_client_head": head}, true, &p); err != nil {
			return nil, err
		}
		o := p.OutcomeProof
		_, ok1 := o.Outcome.Status["SuccessValue"]
		_, ok2 := o.Outcome.Status["SuccessReceiptId"]
		if o.ID != r || o.BlockHash != b.Header.Hash || o.Outcome.ExecutorID != req.Contract || !(ok1 || ok2) {
			return nil, fmt.Errorf("near: receipt %s: outcome of %s in block %s by %s, or not a success",
				r, o.ID, o.BlockHash, o.Outcome.ExecutorID)
		}
		for i, l := range o.Outcome.Logs {
			g, err := event(l)
			if err != nil {
				return nil, fmt.Errorf("near: receipt %s log %d: %w", r, i, err)
			}
			g.Chain, g.Contract, g.BlockNumber, g.BlockHash = req.Chain, req.Contract, b.Header.Height, b.Header.Hash
			g.TxRef = r + ":" + strconv.Itoa(i)
			// A well-formed event no idOS grant can hold (an empty or
			// over-long data id) is skipped, not a stalled driver.
			if g.Kind != "" && g.Validate() == nil {
				obs = append(obs, g)
			}
		}
	}
	return obs, nil
}

// event decodes a log line: a zero Grant if it is not one of the
// contract's events, an error if it is malformed.
func event(line string) (observation.Grant, error) {
	js, ok := strings.CutPrefix(line, "EVENT_JSON:")
	if !ok {
		return observation.Grant{}, nil
	}
	var e struct {
		Standard, Version, Event string
		Data                     json.RawMessage
	}
	if err := json.Unmarshal([]byte(js), &e); err != nil {
		return observation.Grant{}, fmt.Errorf("EVENT_JSON: %w", err)
	}
	if e.Standard != standard {
		return observation.Grant{}, nil
	}
	kind := map[string]observation.Kind{"grant_inserted": observation.Added, "grant_deleted": observation.Deleted}[e.Event]
	var d struct {
		Owner, Grantee string
		DataID         *string     `json:"data_id"`
		LockedUntil    json.Number `json:"locked_until"`
	}
	if e.Version != "0" || kind == "" {
		return observation.Grant{}, fmt.Errorf("unknown event %s %q version %q", e.Standard, e.Event, e.Version)
	}
	if err := json.Unmarshal(e.Data, &d); err != nil || d.DataID == nil {
		return observation.Grant{}, fmt.Errorf("event %s data %s: %v", e.Event, e.Data, err)
	}
	locked, err := strconv.ParseUint(string(d.LockedUntil), 10, 64)
	if err != nil {
		return observation.Grant{}, fmt.Errorf("locked_until %q: %w", d.LockedUntil, err)
	}
	owner, ok1 := account(d.Owner)
	grantee, ok2 := account(d.Grantee)
	if !ok1 || !ok2 {
		return observation.Grant{}, fmt.Errorf("owner %q or grantee %q is not a NEAR public key", d.Owner, d.Grantee)
	}
	return observation.Grant{Kind: kind, Owner: owner, Grantee: grantee, DataID: *d.DataID,
		LockedUntil: strconv.FormatUint(locked, 10)}, nil
}

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// account turns a public key as the contract writes it into the address
// the node links NEAR wallets by (the nep413 scheme's): an Ed25519 key
// "ed25519:<base58>" becomes its implicit account id, the 64 lowercase hex
// of the key. Other curves stay as written; no nep413 wallet matches them.
func account(s string) (string, bool) {
	curve, key, _ := strings.Cut(s, ":")
	if curve != "ed25519" && curve != "secp256k1" || key == "" || len(key) > 100 {
		return "", false
	}
	n := new(big.Int)
	for _, c := range key {
		i := strings.IndexRune(alphabet, c)
		if i < 0 {
			return "", false
		}
		n.Mul(n, big.NewInt(58)).Add(n, big.NewInt(int64(i)))
	}
	b := append(make([]byte, len(key)-len(strings.TrimLeft(key, "1"))), n.Bytes()...)
	switch {
	case curve == "secp256k1" && len(b) == 64:
		return s, true
	case curve == "ed25519" && len(b) == 32:
		return hex.EncodeToString(b), true
	}
	return "", false
}
