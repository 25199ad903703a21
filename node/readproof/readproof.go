// Package readproof is the wire form of a verifiable read (docs/spec/read-proofs.md):
// the rows a node returns, the state commitment proof that they are exactly
// the rows under a key or prefix, and the fields that bind the commitment
// root to the app hash of a block header. The node builds bundles; the light
// client verifies them (Verify) against the app hash of a header it has
// verified itself, trusting nothing the node said.
package readproof

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Kind is what a bundle claims.
type Kind string

const (
	// KindRow: the row with this key is in the state (Rows holds it).
	KindRow Kind = "row"
	// KindAbsent: no row has this key (also the proof of a deletion).
	KindAbsent Kind = "absent"
	// KindRange: Rows are all the rows whose key starts with this prefix.
	KindRange Kind = "range"
	// KindPage: Rows are a contiguous run of the rows under this prefix,
	// starting at After (the previous page's last row, repeated) or at
	// the range's first row; pages chain to the complete range
	// (VerifyPage).
	KindPage Kind = "page"
)

// Bundle is one proven read.
type Bundle struct {
	// Height is the block after which the state was read. Its app hash
	// is in the header of block Height+1.
	Height int64 `json:"height"`
	// PrevAppHash, ChangesetHash and StateRoot are the inputs of
	// app_hash(Height) (node/apphash.Block).
	PrevAppHash   Hex  `json:"prev_app_hash"`
	ChangesetHash Hex  `json:"changeset_hash"`
	StateRoot     Hex  `json:"state_root"`
	Kind          Kind `json:"kind"`
	// Key is the row key (KindRow, KindAbsent) or the prefix (KindRange),
	// as commitment.Key builds it.
	Key Hex `json:"key"`
	// Rows: KindRow exactly one, KindAbsent none, KindRange every row
	// under the prefix in key order.
	Rows []Row `json:"rows"`
	// Proof is the commitment proof (commitment.Proof.Encode; for
	// KindPage commitment.PageProof.Encode).
	Proof Hex `json:"proof"`
	// After is, for KindPage, the key the page starts at: the previous
	// page's last row key; absent on the first page.
	After Hex `json:"after,omitempty"`
}

// Row is one row of a bundle: its commitment key and its canonical encoding
// (commitment.EncodeRow), whose SHA-256 is the leaf's value hash.
type Row struct {
	Key Hex `json:"key"`
	Row Hex `json:"row"`
}

// Hex is bytes written as lowercase hex in JSON.
type Hex []byte

// MarshalJSON implements json.Marshaler.
func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("readproof: hex field: %w", err)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("readproof: hex field: %w", err)
	}
	*h = v
	return nil
}

// String returns the lowercase hex form.
func (h Hex) String() string { return hex.EncodeToString(h) }
