package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcons "github.com/cometbft/cometbft/consensus"
	"github.com/cometbft/cometbft/state/txindex/kv"
	"github.com/cometbft/cometbft/types"
)

// TestPruneTxIndex indexes transactions with CometBFT's own kv indexer and
// checks that pruning below height 4 leaves no key of heights 1-3, keeps
// everything of 4-5, and keeps a result whose bytes were included again
// at a kept height.
func TestPruneTxIndex(t *testing.T) {
	db := dbm.NewMemDB()
	idx := kv.NewTxIndex(db)
	res := func(h int64, i uint32, tx string, code uint32) *abci.TxResult {
		return &abci.TxResult{Height: h, Index: i, Tx: []byte(tx), Result: abci.ExecTxResult{Code: code,
			Events: []abci.Event{{Type: "tx", Attributes: []abci.EventAttribute{
				{Key: "action", Value: "idos.add_credential", Index: true},
				{Key: "sender", Value: "ed25519:ab", Index: true},
				{Key: "nonce", Value: "1"},
			}}}}}
	}
	all := []*abci.TxResult{res(1, 0, "secret-1", 0), res(2, 0, "secret-2a", 0), res(2, 1, "secret-2b", 0),
		res(3, 0, "again", 1), res(4, 0, "kept-4", 0), res(5, 0, "again", 0), res(5, 1, "kept-5", 0)}
	for _, r := range all {
		if err := idx.Index(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := pruneTxIndex(db, 4); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		got, err := idx.Get(types.Tx(r.Tx).Hash())
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case string(r.Tx) == "again":
			if got == nil || got.Height != 5 {
				t.Errorf("re-included tx: %v, want its height-5 result", got)
			}
		case r.Height < 4 && got != nil:
			t.Errorf("height %d tx %q still indexed", r.Height, r.Tx)
		case r.Height >= 4 && got == nil:
			t.Errorf("height %d tx %q pruned", r.Height, r.Tx)
		}
	}
	it, err := db.Iterator(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		for h := 1; h < 4; h++ {
			if bytes.Contains(it.Key(), fmt.Appendf(nil, "/%d/", h)) || bytes.Contains(it.Value(), []byte("secret")) {
				t.Errorf("left behind: %q = %q", it.Key(), it.Value())
			}
		}
	}
	// A second pass below the same height has nothing to do; a later one
	// goes on from where the first stopped.
	if err := pruneTxIndex(db, 4); err != nil {
		t.Fatal(err)
	}
	if err := pruneTxIndex(db, 6); err != nil {
		t.Fatal(err)
	}
	for _, tx := range []string{"kept-4", "kept-5", "again"} {
		if got, _ := idx.Get(types.Tx(tx).Hash()); got != nil {
			t.Errorf("%q indexed after pruning below 6", tx)
		}
	}
}

// writeWAL writes consensus WAL records with CometBFT's encoder; a round
// state's step carries the test's bytes.
func writeWAL(t *testing.T, path string, msgs ...cmtcons.WALMessage) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := cmtcons.NewWALEncoder(&buf)
	for _, m := range msgs {
		if err := enc.Encode(&cmtcons.TimedWALMessage{Time: time.Unix(1, 0).UTC(), Msg: m}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTrimConsensusWAL(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "wal")
	writeWAL(t, head+".000", types.EventDataRoundState{Height: 4, Step: "rotated-secret"}, cmtcons.EndHeightMessage{Height: 4})
	writeWAL(t, head, types.EventDataRoundState{Height: 5, Step: "secret"}, cmtcons.EndHeightMessage{Height: 5},
		types.EventDataRoundState{Height: 6, Step: "current"})
	// A torn last record (a crash mid-write) stays as it is.
	f, err := os.OpenFile(head, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{1, 2, 3})
	f.Close()

	if err := trimConsensusWAL(head); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(head)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("secret")) || !bytes.HasSuffix(data, []byte{1, 2, 3}) {
		t.Errorf("trimmed head %q", data)
	}
	dec := cmtcons.NewWALDecoder(bytes.NewReader(data))
	first, err := dec.Decode()
	if err != nil || first.Msg != (cmtcons.EndHeightMessage{Height: 5}) {
		t.Fatalf("first record %v, %v; want #ENDHEIGHT 5, where replay starts", first, err)
	}
	if next, err := dec.Decode(); err != nil || next.Msg != (types.EventDataRoundState{Height: 6, Step: "current"}) {
		t.Errorf("second record %v, %v", next, err)
	}
	if _, err := os.Stat(head + ".000"); !os.IsNotExist(err) {
		t.Errorf("rotated file kept: %v", err)
	}

	// A head without a marker (just rotated) is left alone, and so are
	// the rotated files that hold the marker.
	before := writeWAL(t, head, types.EventDataRoundState{Height: 7, Step: "new head"})
	writeWAL(t, head+".001", cmtcons.EndHeightMessage{Height: 6})
	if err := trimConsensusWAL(head); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(head); !bytes.Equal(data, before) {
		t.Error("head without a marker changed")
	}
	if _, err := os.Stat(head + ".001"); err != nil {
		t.Errorf("rotated file with the last marker deleted: %v", err)
	}
}
