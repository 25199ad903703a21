package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/readproof"
)

// `get --table plugins` printed a plugin's whole module, megabytes of hex:
// without --full a BLOB is its first getBlobBytes bytes and its length; the
// other columns and small BLOBs are whole; --full (no cut) prints it all.
func TestGetCutsLongBlobs(t *testing.T) {
	module := bytes.Repeat([]byte{0xab}, 1<<20)
	copy(module, "\x00asm\x01\x00\x00\x00")
	hash := bytes.Repeat([]byte{0x11}, 32)
	row := readproof.VerifiedRow{Key: []byte("plugins\x00k"), Values: []any{"solana", hash, hash, module, "ed25519", "base58", int64(1),
		"validator", int64(3), int64(0), int64(3), int64(0), int64(13), ""}}
	key := append([]byte("plugins"), 0)
	for _, full := range []bool{false, true} {
		ans, err := answerOf(7, readproof.KindRange, key, []readproof.VerifiedRow{row})
		if err != nil {
			t.Fatal(err)
		}
		if !full {
			ans.cutBlobs(getBlobBytes)
		}
		out, err := json.Marshal(ans)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Rows []map[string]any }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		r := got.Rows[0]
		if r["scheme"] != "solana" || r["module_hash"] != hex.EncodeToString(hash) {
			t.Errorf("full=%v: other columns changed: %v %v", full, r["scheme"], r["module_hash"])
		}
		m, _ := r["module"].(string)
		switch {
		case full && m != hex.EncodeToString(module):
			t.Errorf("--full: module is %d characters, want the whole %d bytes in hex", len(m), len(module))
		case !full && (len(out) > 2000 || !strings.HasPrefix(m, hex.EncodeToString(module[:getBlobBytes])+"…") ||
			!strings.Contains(m, "(1048576 bytes; --full prints them all)")):
			t.Errorf("cut: %d bytes of output, module %q", len(out), m)
		}
	}
}
