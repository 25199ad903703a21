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
// its cursor (the SDK's blockwalk): EXPERIMENTAL_changes names the receipts that wrote the
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
	"fmt"
	"strconv"
	"strings"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
	"github.com/idos-network/idos-node/sdk-wasm/driver/blockwalk"
	"github.com/mr-tron/base58"
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
	standard = "FractalRegistry"
	stateKey = "U1RBVEU=" // base64 of near-sdk's "STATE"
)

// header reads a block's header.
func header(w *blockwalk.Walker, params map[string]any, cross bool) (blockwalk.Block, error) {
	var b struct {
		Header struct {
			Height   uint64 `json:"height"`
			Hash     string `json:"hash"`
			PrevHash string `json:"prev_hash"`
		} `json:"header"`
	}
	err := w.Call("block", params, cross, &b)
	return blockwalk.Block{Height: b.Header.Height, Hash: b.Header.Hash, Parent: b.Header.PrevHash}, err
}

func poll(req driver.Request) (driver.Response, error) {
	if !strings.HasPrefix(req.Chain, "near:") {
		return driver.Response{}, fmt.Errorf("near: chain %q is not near:<network>", req.Chain)
	}
	// At most 16 blocks a poll: 2 calls each plus one per receipt must fit
	// in the host's default MaxCalls. An outcome's proof needs later
	// blocks up to the head the proof is made against (fin): read only up
	// to two heights below it. A height may have no block.
	w := &blockwalk.Walker{MaxBlocks: 16, MaxCalls: 64, Lag: 2, Tries: 4}
	w.Header = func(id any) (blockwalk.Block, error) { return header(w, map[string]any{"block_id": id}, true) }
	fin, err := header(w, map[string]any{"finality": "final"}, false)
	if err != nil {
		return driver.Response{}, err
	}
	// No cursor: the walk starts at the current final block (docs/drivers.md).
	return w.Poll(req.Cursor, fin, func(b blockwalk.Block) ([]observation.Grant, error) {
		return blockGrants(w, req, b, fin.Hash)
	})
}

// blockGrants reads the contract's events in block b: the receipts that
// wrote its STATE, in the order they did, and their logs, proved against
// head.
func blockGrants(w *blockwalk.Walker, req driver.Request, b blockwalk.Block, head string) ([]observation.Grant, error) {
	if err := w.Afford(1); err != nil {
		return nil, err
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
	if err := w.Call("EXPERIMENTAL_changes", map[string]any{"changes_type": "data_changes",
		"account_ids": []string{req.Contract}, "key_prefix_base64": stateKey, "block_id": b.Hash}, true, &ch); err != nil {
		return nil, err
	}
	if ch.BlockHash != b.Hash {
		return nil, fmt.Errorf("near: changes of block %s answered for %q", b.Hash, ch.BlockHash)
	}
	var receipts []string
	seen := map[string]bool{}
	for _, c := range ch.Changes {
		if r := c.Cause.ReceiptHash; c.Cause.Type == "receipt_processing" && !seen[r] {
			seen[r] = true
			receipts = append(receipts, r)
		}
	}
	if err := w.Afford(len(receipts)); err != nil {
		return nil, err
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
		if err := w.Call("EXPERIMENTAL_light_client_proof", map[string]any{"type": "receipt", "receipt_id": r,
			"receiver_id": req.Contract, "light_client_head": head}, true, &p); err != nil {
			return nil, err
		}
		o := p.OutcomeProof
		_, ok1 := o.Outcome.Status["SuccessValue"]
		_, ok2 := o.Outcome.Status["SuccessReceiptId"]
		if o.ID != r || o.BlockHash != b.Hash || o.Outcome.ExecutorID != req.Contract || !(ok1 || ok2) {
			return nil, fmt.Errorf("near: receipt %s: outcome of %s in block %s by %s, or not a success",
				r, o.ID, o.BlockHash, o.Outcome.ExecutorID)
		}
		for i, l := range o.Outcome.Logs {
			g, err := event(l)
			if err != nil {
				return nil, fmt.Errorf("near: receipt %s log %d: %w", r, i, err)
			}
			g.Chain, g.Contract, g.BlockNumber, g.BlockHash = req.Chain, req.Contract, b.Height, b.Hash
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

// account turns a public key as the contract writes it into the address
// the node links NEAR wallets by (the nep413 scheme's): an Ed25519 key
// "ed25519:<base58>" becomes its implicit account id, the 64 lowercase hex
// of the key. Other curves stay as written; no nep413 wallet matches them.
func account(s string) (string, bool) {
	curve, key, _ := strings.Cut(s, ":")
	if curve != "ed25519" && curve != "secp256k1" || key == "" || len(key) > 100 {
		return "", false
	}
	b, err := base58.Decode(key)
	switch {
	case err != nil:
		return "", false
	case curve == "secp256k1" && len(b) == 64:
		return s, true
	case curve == "ed25519" && len(b) == 32:
		return hex.EncodeToString(b), true
	}
	return "", false
}
