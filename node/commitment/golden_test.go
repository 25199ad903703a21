package commitment

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/changeset"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// usersRows is the users table of docs/spec/changeset.md after its example
// block.
var usersRows = [][]any{
	{int64(1), "satoshi", int64(43)},
	{int64(2), "vitalik", int64(30)},
	{int64(4), "eth_maxi", int64(44)},
}

// TestKeyAndRowEncoding pins the key and value-hash rules of
// docs/spec/commitment.md.
func TestKeyAndRowEncoding(t *testing.T) {
	k, err := Key("users", []any{int64(4)})
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "7573657273 00 01 8000000000000004"); !bytes.Equal(k, want) {
		t.Fatalf("Key = %x, want %x", k, want)
	}
	// The row encoding is the body of the changeset INSERT record of the
	// same row (docs/spec/changeset.md, record 3 of the users example).
	row, err := EncodeRow(usersRows[2])
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "0003 01 0000000000000004 02 00000008 6574685f6d617869 01 000000000000002c"); !bytes.Equal(row, want) {
		t.Fatalf("EncodeRow = %x, want %x", row, want)
	}
	cs := changeset.Changeset{Records: []changeset.Record{{Op: changeset.OpInsert, Table: "users", Values: usersRows[2]}}}
	if enc := cs.Encode(); !bytes.HasSuffix(enc, row) {
		t.Fatalf("changeset INSERT %x does not end with the row encoding %x", enc, row)
	}
	vh, _ := RowHash(usersRows[2])
	if got, want := hex.EncodeToString(vh[:]), "cae09fc2e5280e9fce7f23f64cd32ac55d8638f75ebdc75d219eadb75106da5a"; got != want {
		t.Fatalf("RowHash = %s, want %s", got, want)
	}

	// Keys of a composite primary key: the leading columns are a prefix.
	full, _ := Key("kv", []any{"alice", "color"})
	lead, _ := Key("kv", []any{"alice"})
	if !bytes.HasPrefix(full, lead) {
		t.Fatalf("%x is not a prefix of %x", lead, full)
	}
	other, _ := Key("kv", []any{"alice2", "color"})
	if bytes.HasPrefix(other, lead) {
		t.Fatalf("%x has prefix %x", other, lead)
	}

	for _, tc := range []struct {
		table string
		pk    []any
		want  error
	}{
		{"", []any{int64(1)}, ErrBadKey},
		{"a\x00b", []any{int64(1)}, ErrBadKey},
		{"t", []any{1.5}, ErrBadKey},
		{"t", []any{strings.Repeat("x", MaxKeyLen)}, ErrBadKey},
	} {
		if _, err := Key(tc.table, tc.pk); !errors.Is(err, tc.want) {
			t.Errorf("Key(%q, %v): %v, want %v", tc.table, tc.pk, err, tc.want)
		}
	}
	if _, err := RowHash([]any{float64(1)}); !errors.Is(err, changeset.ErrNondeterministicValue) {
		t.Errorf("RowHash of a REAL: %v", err)
	}
}

// TestGoldenRoot pins the hashes of a fixed workload, so any change of the
// key, leaf, inner-node or empty-root encoding fails here. The same vectors
// are in docs/spec/commitment.md.
func TestGoldenRoot(t *testing.T) {
	if got, want := hex.EncodeToString(EmptyRoot[:]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Fatalf("EmptyRoot = %s, want %s", got, want)
	}
	var ups []Update
	for _, row := range usersRows {
		k, _ := Key("users", row[:1])
		vh, _ := RowHash(row)
		ups = append(ups, Put(k, vh))
	}
	ups = append(ups, Put([]byte("kv\x00\x02alice\x00\x00\x02color\x00\x00"), Hash{}))
	tr, err := Empty().Apply(ups)
	if err != nil {
		t.Fatal(err)
	}
	root := tr.Root()
	// The startup rebuild from the sorted leaf table gives the same root.
	entries := make([]Entry, len(ups))
	for i, u := range ups {
		entries[i] = Entry{Key: u.Key, ValueHash: u.ValueHash}
	}
	slices.SortFunc(entries, func(a, b Entry) int { return bytes.Compare(a.Key, b.Key) })
	if built, err := Build(entries); err != nil || built.Root() != root {
		t.Fatalf("Build: root %x, err %v; Apply gave %x", built.Root(), err, root)
	}
	k1, _ := Key("users", []any{int64(1)})
	vh1, _ := RowHash(usersRows[0])
	leaf := leafHash(k1, &vh1)
	for _, v := range []struct{ name, got, want string }{
		{"row hash of users(1,'satoshi',43)", hex.EncodeToString(vh1[:]), "153fcd5fccb666c590611c56f754c59d9f0f19cc223e7a58dec10892c4a997a0"},
		{"leaf hash of users(1)", hex.EncodeToString(leaf[:]), "47828db6b4f95637cb0888fbe8d405a60c66e8c98ce9449b5dcd9443525e2ce3"},
		{"root", hex.EncodeToString(root[:]), "05e703c41df56622c7aa9e85705994352beaffe85bbe4b8117cf67ed2ed359d9"},
		{"first page of users, 2 rows", pageHex(t, tr, nil), "0000004a010000000100000004a4153dec3d4a784d0c36a2d5f349438aef4a89c62af723657eb6f487e07f70f302bfcbcefdd6be4dd64ce928c8b7c3b8e014e70c63454d70c725d8c1073a83fcad010000008401000000850000025cfe18669e8e3d48995c2ab2f09299cd4ea09f2e2e2f3d8a456bce000b0f7d19"},
		{"second page of users, from users(2)", pageHex(t, tr, []any{int64(2)}), "0000004a010000000100000004a4153dec3d4a784d0c36a2d5f349438aef4a89c62af723657eb6f487e07f70f302bfcbcefdd6be4dd64ce928c8b7c3b8e014e70c63454d70c725d8c1073a83fcad010000008401000000850247828db6b4f95637cb0888fbe8d405a60c66e8c98ce9449b5dcd9443525e2ce30000"},
	} {
		if v.got != v.want {
			t.Errorf("%s = %s, want %s", v.name, v.got, v.want)
		}
	}
}

// pageHex is the encoding of the page of the users table that starts at
// the key of from (nil: the first page), of 2 rows.
func pageHex(t *testing.T, tr *Trie, from []any) string {
	t.Helper()
	prefix, _ := TablePrefix("users")
	var fk []byte
	if from != nil {
		fk, _ = Key("users", from)
	}
	_, p, _, err := tr.ProvePage(prefix, fk, 2)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(p.Encode())
}
