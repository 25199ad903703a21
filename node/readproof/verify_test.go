package readproof_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/readproof/prooftest"
)

// state is an honest node's state after one block (prooftest.State),
// with test-fatal helpers.
type state struct{ *prooftest.State }

type row struct {
	table    string
	pk, vals []any
}

func key(t testing.TB, table string, pk ...any) []byte {
	t.Helper()
	k, err := commitment.Key(table, pk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func prefix(t testing.TB, table string) []byte {
	t.Helper()
	p, err := commitment.TablePrefix(table)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newState builds the state of rows at height, chained on prev.
func newState(t testing.TB, height int64, prev apphash.Hash, rows []row) *state {
	t.Helper()
	prs := make([]prooftest.Row, len(rows))
	for i, r := range rows {
		prs[i] = prooftest.Row{Table: r.table, PK: r.pk, Values: r.vals}
	}
	s, err := prooftest.New(height, prev, prs)
	if err != nil {
		t.Fatal(err)
	}
	return &state{s}
}

// bundle is what an honest node serves for the question (kind, key).
func (s *state) bundle(t testing.TB, kind readproof.Kind, k []byte) *readproof.Bundle {
	t.Helper()
	b, err := s.Bundle(kind, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var genesis = sha256.Sum256([]byte("genesis"))

// fixtureRows: users of docs/spec/commitment.md, kv rows of two owners,
// and a credential with a BLOB and a NULL.
func fixtureRows() []row {
	return []row{
		{"users", []any{int64(1)}, []any{int64(1), "satoshi", int64(43)}},
		{"users", []any{int64(2)}, []any{int64(2), "vitalik", int64(30)}},
		{"users", []any{int64(4)}, []any{int64(4), "eth_maxi", int64(44)}},
		{"kv", []any{"alice", "color"}, []any{"alice", "color", []byte("blue")}},
		{"kv", []any{"alice", "size"}, []any{"alice", "size", []byte("L")}},
		{"kv", []any{"bob", "color"}, []any{"bob", "color", []byte("red")}},
		{"idos_credentials", []any{int64(7), "c1"}, []any{int64(7), "c1", nil, []byte{0, 1, 2}}},
	}
}

// chain is two consecutive heights: at 11 vitalik's row is deleted and a
// kv row of carol added.
func chain(t testing.TB) (s10, s11 *state) {
	t.Helper()
	rows := fixtureRows()
	s10 = newState(t, 10, genesis, rows)
	rows11 := append(slices.Clone(rows[:1]), rows[2:]...)
	rows11 = append(rows11, row{"kv", []any{"carol", "color"}, []any{"carol", "color", []byte("green")}})
	s11 = newState(t, 11, s10.AppHash, rows11)
	return s10, s11
}

func TestVerifyHonest(t *testing.T) {
	s10, s11 := chain(t)
	empty := newState(t, 3, genesis, nil)
	cases := []struct {
		name string
		s    *state
		kind readproof.Kind
		key  []byte
		want int // rows
	}{
		{"row", s10, readproof.KindRow, key(t, "users", int64(2)), 1},
		{"row with BLOB and NULL", s10, readproof.KindRow, key(t, "idos_credentials", int64(7), "c1"), 1},
		{"absent key", s10, readproof.KindAbsent, key(t, "users", int64(3)), 0},
		{"deleted row is absent at the next height", s11, readproof.KindAbsent, key(t, "users", int64(2)), 0},
		{"absent: a key that is a prefix of present keys", s10, readproof.KindAbsent, key(t, "kv", "alice"), 0},
		{"range of one owner", s10, readproof.KindRange, key(t, "kv", "alice"), 2},
		{"range of a whole table", s10, readproof.KindRange, prefix(t, "users"), 3},
		{"range after a deletion", s11, readproof.KindRange, prefix(t, "users"), 2},
		{"empty range", s10, readproof.KindRange, key(t, "kv", "carol"), 0},
		{"empty range of an unknown table", s10, readproof.KindRange, prefix(t, "nope"), 0},
		{"range of the whole state", s10, readproof.KindRange, nil, 7},
		{"empty state: absent", empty, readproof.KindAbsent, key(t, "users", int64(1)), 0},
		{"empty state: empty range", empty, readproof.KindRange, prefix(t, "users"), 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.s.bundle(t, c.kind, c.key)
			// Through JSON, as a gateway serves it.
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			var got readproof.Bundle
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			rows, err := readproof.Verify(c.s.AppHash[:], c.kind, c.key, &got)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if len(rows) != c.want {
				t.Fatalf("case %d: %d rows, want %d", i, len(rows), c.want)
			}
			if want := c.s.Truth(c.kind, c.key); len(rows) > 0 && !reflect.DeepEqual(rows, want) {
				t.Fatalf("case %d: rows %v, want %v", i, rows, want)
			}
		})
	}
}

// TestVerifyRowValues pins that the values come back typed by position.
func TestVerifyRowValues(t *testing.T) {
	s10, _ := chain(t)
	k := key(t, "idos_credentials", int64(7), "c1")
	rows, err := readproof.Verify(s10.AppHash[:], readproof.KindRow, k, s10.bundle(t, readproof.KindRow, k))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(7), "c1", nil, []byte{0, 1, 2}}
	if !reflect.DeepEqual(rows[0].Values, want) || !bytes.Equal(rows[0].Key, k) {
		t.Fatalf("got %v %x, want %v %x", rows[0].Values, rows[0].Key, want, k)
	}
}

// TestVerifyLies: each case is a node lying in one way; Verify must refuse
// it with the error class of the step that catches the lie.
func TestVerifyLies(t *testing.T) {
	s10, s11 := chain(t)
	satoshi := key(t, "users", int64(1))
	vitalik := key(t, "users", int64(2))
	alice := key(t, "kv", "alice")
	users := prefix(t, "users")
	enc := func(vals ...any) []byte {
		b, err := commitment.EncodeRow(vals)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type lie struct {
		name string
		next apphash.Hash // the verified header's app hash
		kind readproof.Kind
		key  []byte
		b    func() *readproof.Bundle
		errs []error // every class the error must wrap
	}
	cases := []lie{
		// 1) the question
		{"no bundle", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle { return nil },
			[]error{readproof.ErrWrongAnswer}},
		{"wrong kind: absent for a row question", s10.AppHash, readproof.KindRow, vitalik,
			func() *readproof.Bundle { return s11.bundle(t, readproof.KindAbsent, vitalik) },
			[]error{readproof.ErrWrongAnswer}},
		{"wrong kind: row for a range question", s10.AppHash, readproof.KindRange, satoshi,
			func() *readproof.Bundle { return s10.bundle(t, readproof.KindRow, satoshi) },
			[]error{readproof.ErrWrongAnswer}},
		{"unknown kind asked", s10.AppHash, "rows", satoshi,
			func() *readproof.Bundle { b := s10.bundle(t, readproof.KindRow, satoshi); b.Kind = "rows"; return b },
			[]error{readproof.ErrWrongAnswer}},
		{"answer about another key", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle { return s10.bundle(t, readproof.KindRow, vitalik) },
			[]error{readproof.ErrWrongAnswer}},
		{"range of another prefix", s10.AppHash, readproof.KindRange, alice,
			func() *readproof.Bundle { return s10.bundle(t, readproof.KindRange, key(t, "kv", "bob")) },
			[]error{readproof.ErrWrongAnswer}},
		{"height 0", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle { b := s10.bundle(t, readproof.KindRow, satoshi); b.Height = 0; return b },
			[]error{readproof.ErrWrongAnswer}},

		// 2) the app hash
		{"root from another height", s11.AppHash, readproof.KindRow, vitalik,
			func() *readproof.Bundle {
				// vitalik's row, proven against the earlier root, labelled as height 11
				b := s10.bundle(t, readproof.KindRow, vitalik)
				b.Height, b.PrevAppHash, b.ChangesetHash = 11, s10.AppHash[:], s11.ChangesetHash[:]
				return b
			},
			[]error{readproof.ErrAppHashMismatch}},
		{"whole bundle of an older height against a newer header", s11.AppHash, readproof.KindRow, vitalik,
			func() *readproof.Bundle { return s10.bundle(t, readproof.KindRow, vitalik) },
			[]error{readproof.ErrAppHashMismatch}},
		{"mixed fields: prev_app_hash of another height", s11.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s11.bundle(t, readproof.KindRow, satoshi)
				b.PrevAppHash = genesis[:]
				return b
			},
			[]error{readproof.ErrAppHashMismatch}},
		{"mixed fields: changeset_hash of another height", s11.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s11.bundle(t, readproof.KindRow, satoshi)
				b.ChangesetHash = s10.ChangesetHash[:]
				return b
			},
			[]error{readproof.ErrAppHashMismatch}},
		{"mixed fields: height off by one", s11.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle { b := s11.bundle(t, readproof.KindRow, satoshi); b.Height = 12; return b },
			[]error{readproof.ErrAppHashMismatch}},
		{"forged state root (a trie of invented rows)", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				forged := newState(t, 10, genesis, []row{{"users", []any{int64(1)}, []any{int64(1), "satoshi", int64(99)}}})
				return forged.bundle(t, readproof.KindRow, satoshi)
			},
			[]error{readproof.ErrAppHashMismatch}},
		{"short state_root", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRow, satoshi)
				b.StateRoot = b.StateRoot[:31]
				return b
			},
			[]error{readproof.ErrAppHashMismatch}},

		// 3) the rows
		{"row question answered with no row", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle { b := s10.bundle(t, readproof.KindRow, satoshi); b.Rows = nil; return b },
			[]error{readproof.ErrBadRows}},
		{"row from another key", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRow, vitalik)
				b.Key = satoshi
				return b
			},
			[]error{readproof.ErrBadRows}},
		{"absent with a row", s10.AppHash, readproof.KindAbsent, key(t, "users", int64(3)),
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindAbsent, key(t, "users", int64(3)))
				b.Rows = []readproof.Row{{Key: key(t, "users", int64(3)), Row: enc(int64(3), "x", int64(1))}}
				return b
			},
			[]error{readproof.ErrBadRows}},
		{"range rows out of order", s10.AppHash, readproof.KindRange, users,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, users)
				b.Rows[0], b.Rows[1] = b.Rows[1], b.Rows[0]
				return b
			},
			[]error{readproof.ErrBadRows}},
		{"range row twice", s10.AppHash, readproof.KindRange, users,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, users)
				b.Rows[1] = b.Rows[0]
				return b
			},
			[]error{readproof.ErrBadRows}},
		{"range row outside the prefix", s10.AppHash, readproof.KindRange, alice,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, alice)
				b.Rows = append(b.Rows, readproof.Row{Key: key(t, "kv", "bob", "color"), Row: s10.Rows[string(key(t, "kv", "bob", "color"))]})
				return b
			},
			[]error{readproof.ErrBadRows}},
		{"row that does not decode", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRow, satoshi)
				b.Rows[0].Row = append(b.Rows[0].Row, 0)
				return b
			},
			[]error{readproof.ErrBadRows, commitment.ErrBadRow}},

		// 4) the proof
		{"altered row", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRow, satoshi)
				b.Rows[0].Row = enc(int64(1), "satoshi", int64(18))
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrRootMismatch}},
		{"row of another key under the asked key", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRow, vitalik)
				b.Key, b.Rows[0].Key = satoshi, satoshi
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrRootMismatch}},
		{"deleted row still served as present", s11.AppHash, readproof.KindRow, vitalik,
			func() *readproof.Bundle {
				b := s11.bundle(t, readproof.KindAbsent, vitalik)
				b.Kind, b.Rows = readproof.KindRow, []readproof.Row{{Key: vitalik, Row: s10.Rows[string(vitalik)]}}
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrBadProof}},
		{"present row claimed absent (membership proof)", s10.AppHash, readproof.KindAbsent, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRow, satoshi)
				b.Kind, b.Rows = readproof.KindAbsent, []readproof.Row{}
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrBadProof}},
		{"present row claimed absent (another key's absence proof)", s10.AppHash, readproof.KindAbsent, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindAbsent, key(t, "users", int64(3)))
				b.Key = satoshi
				return b
			},
			[]error{readproof.ErrProof}},
		{"altered row in a range", s10.AppHash, readproof.KindRange, users,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, users)
				b.Rows[1].Row = enc(int64(2), "vitalik", int64(31))
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"dropped row from a range", s10.AppHash, readproof.KindRange, users,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, users)
				b.Rows = slices.Delete(b.Rows, 1, 2)
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"dropped last row of a range", s10.AppHash, readproof.KindRange, alice,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, alice)
				b.Rows = b.Rows[:1]
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"range claimed empty", s10.AppHash, readproof.KindRange, alice,
			func() *readproof.Bundle { b := s10.bundle(t, readproof.KindRange, alice); b.Rows = nil; return b },
			[]error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"range claimed empty with another prefix's empty proof", s10.AppHash, readproof.KindRange, alice,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, key(t, "kv", "carol"))
				b.Key = alice
				return b
			},
			[]error{readproof.ErrProof}},
		{"added row to a range", s10.AppHash, readproof.KindRange, users,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, users)
				b.Rows = append(b.Rows, readproof.Row{Key: key(t, "users", int64(5)), Row: enc(int64(5), "mallory", int64(1))})
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"range of a sub-prefix passed off as the whole", s10.AppHash, readproof.KindRange, prefix(t, "kv"),
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, alice)
				b.Key = prefix(t, "kv")
				return b
			},
			[]error{readproof.ErrProof}},
		{"truncated proof", s10.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRow, satoshi)
				b.Proof = b.Proof[:len(b.Proof)-1]
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrBadProof}},
		{"proof with trailing bytes", s10.AppHash, readproof.KindRange, users,
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindRange, users)
				b.Proof = append(b.Proof, 0)
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrBadProof}},
		{"no proof", s10.AppHash, readproof.KindAbsent, key(t, "users", int64(3)),
			func() *readproof.Bundle {
				b := s10.bundle(t, readproof.KindAbsent, key(t, "users", int64(3)))
				b.Proof = nil
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrBadProof}},
		{"proof against the other height's root", s11.AppHash, readproof.KindRow, satoshi,
			func() *readproof.Bundle {
				b := s11.bundle(t, readproof.KindRow, satoshi)
				p, _, _, err := s10.Trie.Prove(vitalik) // a path of the old trie
				if err != nil {
					t.Fatal(err)
				}
				b.Proof = p.Encode()
				return b
			},
			[]error{readproof.ErrProof, commitment.ErrRootMismatch}},
	}
	classes := []error{readproof.ErrWrongAnswer, readproof.ErrAppHashMismatch, readproof.ErrBadRows, readproof.ErrProof}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := readproof.Verify(c.next[:], c.kind, c.key, c.b())
			if err == nil {
				t.Fatalf("case %d: accepted, rows %v", i, rows)
			}
			if rows != nil {
				t.Errorf("case %d: rows %v returned with an error", i, rows)
			}
			for _, want := range c.errs {
				if !errors.Is(err, want) {
					t.Errorf("case %d: %v\n  does not wrap %v", i, err, want)
				}
			}
			n := 0
			for _, cl := range classes {
				if errors.Is(err, cl) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("case %d: %v wraps %d step classes, want exactly 1", i, err, n)
			}
		})
	}
}

// TestVerifyHeaderHashLength: an app hash that is not 32 bytes cannot be
// any header's.
func TestVerifyHeaderHashLength(t *testing.T) {
	s10, _ := chain(t)
	k := key(t, "users", int64(1))
	_, err := readproof.Verify(s10.AppHash[:31], readproof.KindRow, k, s10.bundle(t, readproof.KindRow, k))
	if !errors.Is(err, readproof.ErrAppHashMismatch) {
		t.Fatalf("err = %v", err)
	}
}

// TestVerifyDoesNotAlias: the returned rows do not share memory with the
// bundle, which the caller may reuse.
func TestVerifyDoesNotAlias(t *testing.T) {
	s10, _ := chain(t)
	k := key(t, "kv", "alice", "color")
	b := s10.bundle(t, readproof.KindRow, k)
	rows, err := readproof.Verify(s10.AppHash[:], readproof.KindRow, k, b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Rows[0].Key {
		b.Rows[0].Key[i] = 0xff
	}
	for i := range b.Rows[0].Row {
		b.Rows[0].Row[i] = 0xff
	}
	if !bytes.Equal(rows[0].Key, k) || !bytes.Equal(rows[0].Values[2].([]byte), []byte("blue")) {
		t.Fatalf("rows changed with the bundle: %x %v", rows[0].Key, rows[0].Values)
	}
}
