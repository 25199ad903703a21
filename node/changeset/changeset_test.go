package changeset

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"testing"
)

var usersTable = &Table{Name: "users", Columns: []string{"id", "username", "age"}, PK: []int{0}}

func row(vals ...any) []any { return vals }

// The users example of docs/spec/changeset.md, fed to the tracker in
// statement order, yields the documented records, bytes and hash.
func TestUsersExample(t *testing.T) {
	tr := NewTracker([]*Table{usersTable})
	// INSERT INTO users VALUES (4,'eth_maxi',44)
	tr.Track(OpInsert, "users", nil, row(int64(4), "eth_maxi", int64(44)))
	// UPDATE users SET age = age + 1 WHERE username = 'satoshi'
	tr.Track(OpUpdate, "users", row(int64(1), "satoshi", int64(42)), row(int64(1), "satoshi", int64(43)))
	// DELETE FROM users WHERE age > 50 (SQLite visits rows in key order)
	tr.Track(OpDelete, "users", row(int64(3), "hal", int64(78)), nil)
	tr.Track(OpDelete, "users", row(int64(5), "nick", int64(61)), nil)

	cs, err := tr.Changeset()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cs.String(), UsersExample().String(); got != want {
		t.Fatalf("records:\n%s\nwant:\n%s", got, want)
	}
	if got := hex.EncodeToString(cs.Encode()); got != UsersExampleHex {
		t.Fatalf("encoding:\n%s\nwant:\n%s", got, UsersExampleHex)
	}
	h := cs.Hash()
	if got := hex.EncodeToString(h[:]); got != UsersExampleHash {
		t.Fatalf("hash %s, want %s", got, UsersExampleHash)
	}
}

// The empty changeset has a fixed encoding and hash (an idle block).
func TestEmptyChangeset(t *testing.T) {
	cs, err := NewTracker(nil).Changeset()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(cs.Encode()), "494443530100000000"; got != want {
		t.Fatalf("empty encoding %s, want %s", got, want)
	}
	h := cs.Hash()
	if got, want := hex.EncodeToString(h[:]), "977797851086b371d79c1ae2fa0d0b8e8fd2bc3707c46e241b158324e465c542"; got != want {
		t.Fatalf("empty hash %s, want %s", got, want)
	}
}

// The order of writes within a block does not change the changeset.
func TestOrderIndependence(t *testing.T) {
	writes := []func(*Tracker){
		func(tr *Tracker) { tr.Track(OpInsert, "users", nil, row(int64(4), "eth_maxi", int64(44))) },
		func(tr *Tracker) {
			tr.Track(OpUpdate, "users", row(int64(1), "satoshi", int64(42)), row(int64(1), "satoshi", int64(43)))
		},
		func(tr *Tracker) { tr.Track(OpDelete, "users", row(int64(3), "hal", int64(78)), nil) },
		func(tr *Tracker) { tr.Track(OpDelete, "users", row(int64(5), "nick", int64(61)), nil) },
	}
	for _, perm := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
		tr := NewTracker([]*Table{usersTable})
		for _, i := range perm {
			writes[i](tr)
		}
		cs, err := tr.Changeset()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(cs.Encode()); got != UsersExampleHex {
			t.Fatalf("order %v gave %s", perm, got)
		}
	}
}

// Rolling back to a mark forgets exactly the writes after it.
func TestRollbackTo(t *testing.T) {
	tr := NewTracker([]*Table{usersTable})
	tr.Track(OpUpdate, "users", row(int64(1), "satoshi", int64(42)), row(int64(1), "satoshi", int64(43)))
	m := tr.Mark()
	tr.Track(OpUpdate, "users", row(int64(1), "satoshi", int64(43)), row(int64(1), "sato", int64(50)))
	tr.Track(OpInsert, "users", nil, row(int64(9), "x", int64(1)))
	tr.RollbackTo(m)
	cs, _ := tr.Changeset()
	if got, want := cs.String(), "UPDATE users [1] [2]=43\n"; got != want {
		t.Fatalf("after rollback %q, want %q", got, want)
	}
}

// Values that have no place in state make the changeset fail instead of
// being silently encoded.
func TestRejectsFloat(t *testing.T) {
	tr := NewTracker([]*Table{usersTable})
	tr.Track(OpInsert, "users", nil, row(int64(1), "a", 1.5))
	if _, err := tr.Changeset(); !errors.Is(err, ErrNondeterministicValue) {
		t.Fatalf("err = %v, want ErrNondeterministicValue", err)
	}
}

// EncodeKey orders like SQLite: integers numerically (negatives first),
// storage classes NULL < INTEGER < TEXT < BLOB, text bytewise with a shorter
// prefix first, composite keys column by column.
func TestEncodeKeyOrder(t *testing.T) {
	ordered := [][]any{
		{nil},
		{int64(math.MinInt64)},
		{int64(-1)},
		{int64(0)},
		{int64(1)},
		{int64(math.MaxInt64)},
		{""},
		{"a"},
		{"a\x00"},
		{"a\x00\x00"},
		{"ab"},
		{"b"},
		{[]byte{}},
		{[]byte{0}},
		{[]byte{0xff}},
	}
	var keys [][]byte
	for _, k := range ordered {
		b, err := EncodeKey(k)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, b)
	}
	if !slices.IsSortedFunc(keys, bytes.Compare) {
		t.Fatalf("keys not in order: %x", keys)
	}
	composite := [][]any{
		{"a", int64(2)},
		{"a", int64(10)},
		{"a\x00", int64(1)},
		{"ab", int64(0)},
	}
	keys = keys[:0]
	for _, k := range composite {
		b, _ := EncodeKey(k)
		keys = append(keys, b)
	}
	if !slices.IsSortedFunc(keys, bytes.Compare) {
		t.Fatalf("composite keys not in order: %x", keys)
	}
}

func BenchmarkEncodeHashPerRow(b *testing.B) {
	const rows = 1000
	tr := NewTracker([]*Table{usersTable})
	for i := range int64(rows) {
		tr.Track(OpInsert, "users", nil, row(i, "user-with-a-name", i%100))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cs, err := tr.Changeset()
		if err != nil {
			b.Fatal(err)
		}
		_ = cs.Hash()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

func TestDecodeKey(t *testing.T) {
	keys := [][]any{
		nil,
		{int64(1)},
		{int64(-5), "alice", []byte{0, 1, 0xff}, nil},
		{"", []byte{}, "a\x00b"},
		{int64(math.MinInt64), int64(math.MaxInt64)},
	}
	for _, k := range keys {
		enc, err := EncodeKey(k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeKey(enc)
		if err != nil {
			t.Fatalf("DecodeKey(%x): %v", enc, err)
		}
		if len(got) != len(k) {
			t.Fatalf("DecodeKey(%x) = %v, want %v", enc, got, k)
		}
		for i := range k {
			if !valuesEqual(got[i], k[i]) {
				t.Fatalf("DecodeKey(%x)[%d] = %#v, want %#v", enc, i, got[i], k[i])
			}
		}
	}
	for _, bad := range []string{"01", "0100000000000000", "02616263", "026100", "0261000100", "09", "0300"} {
		b, _ := hex.DecodeString(bad)
		if vals, err := DecodeKey(b); err == nil {
			t.Errorf("DecodeKey(%s) = %v, want an error", bad, vals)
		}
	}
}
