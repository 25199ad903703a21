package snapshot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/snapshot"
)

// vectorState is the state of the test vectors (docs/spec/snapshots.md):
// one kv row and the three users rows of docs/spec/commitment.md.
func vectorState(t testing.TB) (*commitment.Trie, []snapshot.Row) {
	t.Helper()
	type row struct {
		table string
		pk    []any
		vals  []any
	}
	var rows []snapshot.Row
	var entries []commitment.Entry
	for _, r := range []row{
		{"kv", []any{"alice", "color"}, []any{"alice", "color", "blue"}},
		{"users", []any{int64(1)}, []any{int64(1), "satoshi", int64(43)}},
		{"users", []any{int64(2)}, []any{int64(2), "vitalik", int64(30)}},
		{"users", []any{int64(4)}, []any{int64(4), "eth_maxi", int64(44)}},
	} {
		k, err := commitment.Key(r.table, r.pk)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := commitment.EncodeRow(r.vals)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, snapshot.Row{Key: k, Row: enc})
		entries = append(entries, commitment.Entry{Key: k, ValueHash: sha256.Sum256(enc)})
	}
	tr, err := commitment.Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	return tr, rows
}

// vectorSnapshot cuts the vector state into chunks of two rows (each after
// the first repeating the previous last row): kv+users(1), users(1)+(2),
// users(2)+(4).
func vectorSnapshot(t testing.TB) (*snapshot.Metadata, [][]byte) {
	t.Helper()
	tr, rows := vectorState(t)
	m := &snapshot.Metadata{
		Height:      7,
		ChainID:     "idos-test",
		Genesis:     []byte(`{}`),
		Schema:      []snapshot.SchemaObject{{Type: "table", Name: "users", SQL: "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL) STRICT, WITHOUT ROWID"}},
		Rows:        4,
		Changes:     3,
		StateRoot:   tr.Root(),
		PrevAppHash: [32]byte(bytes.Repeat([]byte{1}, 32)),
	}
	copy(m.ChangesetHash[:], bytes.Repeat([]byte{2}, 32))
	var chunks [][]byte
	for i, rs := range [][]snapshot.Row{rows[0:2], rows[1:3], rows[2:4]} {
		enc, info, more, err := snapshot.MakeChunk(tr, uint32(i), rs)
		if err != nil {
			t.Fatal(err)
		}
		if more != (i < 2) {
			t.Fatalf("chunk %d: more = %v", i, more)
		}
		chunks = append(chunks, enc)
		m.Chunks = append(m.Chunks, info)
	}
	return m, chunks
}

// TestVectors pins the vectors of docs/spec/snapshots.md byte for byte.
func TestVectors(t *testing.T) {
	m, chunks := vectorSnapshot(t)
	ah := m.AppHash()
	mh := m.Hash()
	want := map[string]string{
		"state root":    "9d938e52fa663f6181b49733fe5a56b3171cc79477e7950c35d1cd2c659e3d8b",
		"app hash":      "20bb2c31397c7186002ef1921c4a82632a15ad26aa834c4cc5f3c74512f88dd9",
		"metadata hash": "e73ee2cc63d3dcab0481c81b08a492a08d4228af45f0ffbeca23b8f4c9422ed0",
		"chunk 0":       "480755af4a7d642289de62e379e08c2a188e19964cbd4165320a1571b5b89172",
		"chunk 1":       "31d3c7770947bc7734e0d1a24224b5324d71e98b447d764b1e0a46276c7d94ad",
		"chunk 2":       "06b95e14d2bca4dc66c1c00cc2904b7bd9ffbcd7fcfd15587cc1396559c01cc3",
	}
	got := map[string]string{
		"state root":    hex.EncodeToString(m.StateRoot[:]),
		"app hash":      hex.EncodeToString(ah[:]),
		"metadata hash": hex.EncodeToString(mh[:]),
	}
	for i := range chunks {
		got["chunk "+string(rune('0'+i))] = hex.EncodeToString(m.Chunks[i].Hash[:])
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, pinned %s", k, got[k], w)
		}
	}
	if g := hex.EncodeToString(chunks[2]); g != chunk2Hex {
		t.Errorf("chunk 2 encoding:\n got %s\nwant %s", g, chunk2Hex)
	}
}

const chunk2Hex = "69644f53206368756e6b0000000100000002000000020000000f7573657273000180000000000000020000002000030100000000000000020200000007766974616c696b01000000000000001e0000000f75736572730001800000000000000400000021000301000000000000000402000000086574685f6d61786901000000000000002c0000007d000000260100000000029d938e52fa663f6181b49733fe5a56b3171cc79477e7950c35d1cd2c659e3d8b010000000402db4d0ec0edd0cd344a929968688fb5bb7ada423da86eaa4e01c0ec154128ad1b010000008401000000850247828db6b4f95637cb0888fbe8d405a60c66e8c98ce9449b5dcd9443525e2ce30000"

// TestVerify restores the vector snapshot chunk by chunk, as a syncing
// node does.
func TestVerify(t *testing.T) {
	m, chunks := vectorSnapshot(t)
	ah := m.AppHash()
	got, err := snapshot.VerifyMetadata(7, ah[:], m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	var keys [][]byte
	for i, c := range chunks {
		rows, err := snapshot.VerifyChunk(got, uint32(i), prev, c)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		for _, r := range rows {
			keys = append(keys, r.Key)
		}
		prev = rows[len(rows)-1].Key
	}
	_, rows := vectorState(t)
	if len(keys) != len(rows) {
		t.Fatalf("restored %d rows, want %d (each once)", len(keys), len(rows))
	}
	for i := range rows {
		if !bytes.Equal(keys[i], rows[i].Key) {
			t.Fatalf("row %d: %x, want %x", i, keys[i], rows[i].Key)
		}
	}
}

// TestVerifyMetadataRefuses: one case per check of VerifyMetadata.
func TestVerifyMetadataRefuses(t *testing.T) {
	m, _ := vectorSnapshot(t)
	ah := m.AppHash()
	enc := m.Encode()
	for i, c := range []struct {
		height int64
		hash   []byte
		meta   []byte
		want   error
	}{
		0: {7, ah[:], append(bytes.Clone(enc), 0), snapshot.ErrMalformed},             // a) trailing byte
		1: {7, ah[:], enc[:len(enc)-1], snapshot.ErrMalformed},                        // a) short
		2: {8, ah[:], enc, snapshot.ErrMalformed},                                     // b) offered as another height
		3: {7, bytes.Repeat([]byte{9}, 32), enc, snapshot.ErrAppHash},                 // c) another app hash
		4: {7, ah[:], []byte("idOS snapshot\x00\x00\x00\x02"), snapshot.ErrMalformed}, // a) another format
	} {
		if _, err := snapshot.VerifyMetadata(c.height, c.hash, c.meta); !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
	// A forged state root with the same other fields composes to another
	// app hash.
	f := *m
	f.StateRoot[0] ^= 1
	if _, err := snapshot.VerifyMetadata(7, ah[:], f.Encode()); !errors.Is(err, snapshot.ErrAppHash) {
		t.Errorf("forged root: %v", err)
	}
}

// TestVerifyChunkRefuses: one case per check of VerifyChunk, each against
// metadata that lists the chunk given (or the true chunks).
func TestVerifyChunkRefuses(t *testing.T) {
	m, chunks := vectorSnapshot(t)
	tr, rows := vectorState(t)
	// relist returns m with chunk i listed as enc.
	relist := func(i int, enc []byte) *snapshot.Metadata {
		f := *m
		f.Chunks = append([]snapshot.ChunkInfo(nil), m.Chunks...)
		f.Chunks[i].Hash = sha256.Sum256(enc)
		return &f
	}
	decoded, err := snapshot.DecodeChunk(chunks[1])
	if err != nil {
		t.Fatal(err)
	}
	altered := *decoded
	altered.Rows = append([]snapshot.Row(nil), decoded.Rows...)
	altered.Rows[1].Row = bytes.Clone(altered.Rows[1].Row)
	altered.Rows[1].Row[len(altered.Rows[1].Row)-1] ^= 1
	alteredEnc := altered.Encode()
	dropped := *decoded
	dropped.Rows = decoded.Rows[:1]
	droppedEnc := dropped.Encode()
	// Two chunks that do not chain: the second does not repeat the
	// first's last row, so nothing shows that no row lies between them.
	_, gapInfo0, _, _ := snapshot.MakeChunk(tr, 0, rows[0:2])
	gap1, gapInfo1, _, _ := snapshot.MakeChunk(tr, 1, rows[2:4])
	gapMeta := *m
	gapMeta.Chunks = []snapshot.ChunkInfo{gapInfo0, gapInfo1}
	repeatOnly := relist(1, droppedEnc)
	repeatOnly.Chunks[1].Last = rows[1].Key
	short := *m
	short.Chunks = m.Chunks[:2] // the state goes on after the last listed chunk
	wrongRange := *m
	wrongRange.Chunks = append([]snapshot.ChunkInfo(nil), m.Chunks...)
	wrongRange.Chunks[1].Last = rows[3].Key

	for i, c := range []struct {
		m     *snapshot.Metadata
		index uint32
		prev  []byte
		data  []byte
		want  error
		also  error
	}{
		0:  {m, 3, rows[3].Key, chunks[2], snapshot.ErrChunkHash, nil},                                                 // a) no such index
		1:  {m, 1, rows[1].Key, chunks[2], snapshot.ErrChunkHash, nil},                                                 // a) another chunk
		2:  {m, 1, rows[1].Key, alteredEnc, snapshot.ErrChunkHash, nil},                                                // a) corrupted, not listed
		3:  {relist(1, chunks[1][:10]), 1, rows[1].Key, chunks[1][:10], snapshot.ErrChunkProof, snapshot.ErrMalformed}, // b) listed, malformed
		4:  {relist(2, chunks[1]), 2, rows[2].Key, chunks[1], snapshot.ErrChunkProof, nil},                             // b) says it is chunk 1
		5:  {relist(1, alteredEnc), 1, rows[1].Key, alteredEnc, snapshot.ErrChunkProof, commitment.ErrIncomplete},      // c) altered row, listed
		6:  {repeatOnly, 1, rows[1].Key, droppedEnc, snapshot.ErrChunkProof, nil},                                      // d) the repeated row alone: no progress
		7:  {&gapMeta, 1, rows[1].Key, gap1, snapshot.ErrChunkProof, nil},                                              // d) does not start with the previous last key
		8:  {m, 1, rows[0].Key, chunks[1], snapshot.ErrChunkProof, nil},                                                // d) previous chunk ended elsewhere
		9:  {&short, 1, rows[1].Key, chunks[1], snapshot.ErrChunkProof, nil},                                           // d) last listed chunk is not the state's end
		10: {&wrongRange, 1, rows[1].Key, chunks[1], snapshot.ErrChunkProof, nil},                                      // e) key range not the listed one
	} {
		_, err := snapshot.VerifyChunk(c.m, c.index, c.prev, c.data)
		if !errors.Is(err, c.want) || (c.also != nil && !errors.Is(err, c.also)) {
			t.Errorf("case %d: %v, want %v (and %v)", i, err, c.want, c.also)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	m, chunks := vectorSnapshot(t)
	back, err := snapshot.DecodeMetadata(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Encode(), m.Encode()) {
		t.Fatal("metadata does not round-trip")
	}
	for i, c := range chunks {
		d, err := snapshot.DecodeChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Encode(), c) {
			t.Fatalf("chunk %d does not round-trip", i)
		}
		if _, err := snapshot.DecodeChunk(append(bytes.Clone(c), 0)); !errors.Is(err, snapshot.ErrMalformed) {
			t.Fatalf("chunk %d with a trailing byte: %v", i, err)
		}
	}
	// A forged row count cannot make the decoder allocate for it.
	bad := bytes.Clone(chunks[0])
	copy(bad[len("idOS chunk")+8:], []byte{0xff, 0xff, 0xff, 0xff})
	if _, err := snapshot.DecodeChunk(bad); !errors.Is(err, snapshot.ErrMalformed) {
		t.Fatalf("forged count: %v", err)
	}
}
