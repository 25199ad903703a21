package readproof_test

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/idos-network/idos-node/node/readproof"
)

type question struct {
	kind readproof.Kind
	key  []byte
}

func fuzzQuestions(t testing.TB) []question {
	return []question{
		{readproof.KindRow, key(t, "users", int64(1))},
		{readproof.KindRow, key(t, "kv", "alice", "size")},
		{readproof.KindAbsent, key(t, "users", int64(3))},
		{readproof.KindAbsent, key(t, "kv", "alice")},
		{readproof.KindRange, prefix(t, "users")},
		{readproof.KindRange, key(t, "kv", "alice")},
		{readproof.KindRange, key(t, "kv", "carol")},
	}
}

// encodeRows is the fuzz form of a bundle's rows: for each row
// u16 len(key) | key | u16 len(row) | row.
func encodeRows(rows []readproof.Row) []byte {
	var b []byte
	for _, r := range rows {
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Key)))
		b = append(b, r.Key...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Row)))
		b = append(b, r.Row...)
	}
	return b
}

func decodeRows(b []byte) []readproof.Row {
	var rows []readproof.Row
	field := func() ([]byte, bool) {
		if len(b) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, false
		}
		v := b[2 : 2+n]
		b = b[2+n:]
		return v, true
	}
	for {
		k, ok := field()
		if !ok {
			return rows
		}
		r, ok := field()
		if !ok {
			return rows
		}
		rows = append(rows, readproof.Row{Key: k, Row: r})
	}
}

// FuzzVerifyBundle feeds Verify bundles mutated from honest ones, for a
// fixed state and a fixed set of questions. Verify must never panic, must
// refuse with exactly one step class, and whenever it accepts, the rows it
// returns must be exactly the state's rows for that question: a bundle the
// fuzzer made up may pass only if it tells the truth.
func FuzzVerifyBundle(f *testing.F) {
	s, _ := chain(f)
	qs := fuzzQuestions(f)
	for i, q := range qs {
		b := s.bundle(f, q.kind, q.key)
		f.Add(uint8(i), string(b.Kind), b.Height, []byte(b.PrevAppHash), []byte(b.ChangesetHash),
			[]byte(b.StateRoot), encodeRows(b.Rows), []byte(b.Proof))
		// and a mutated copy of each, so the corpus starts on both sides
		f.Add(uint8(i), string(b.Kind), b.Height, []byte(b.PrevAppHash), []byte(b.ChangesetHash),
			[]byte(b.StateRoot), encodeRows(b.Rows), []byte(b.Proof[:len(b.Proof)/2]))
	}
	classes := []error{readproof.ErrWrongAnswer, readproof.ErrAppHashMismatch, readproof.ErrBadRows, readproof.ErrProof}
	f.Fuzz(func(t *testing.T, qi uint8, kind string, height int64, prev, cs, root, rows, proof []byte) {
		q := qs[int(qi)%len(qs)]
		b := &readproof.Bundle{Height: height, PrevAppHash: prev, ChangesetHash: cs, StateRoot: root,
			Kind: readproof.Kind(kind), Key: q.key, Rows: decodeRows(rows), Proof: proof}
		got, err := readproof.Verify(s.AppHash[:], q.kind, q.key, b)
		if err != nil {
			n := 0
			for _, c := range classes {
				if errors.Is(err, c) {
					n++
				}
			}
			if n != 1 || got != nil {
				t.Fatalf("refusal %v wraps %d classes, rows %v", err, n, got)
			}
			return
		}
		want := s.Truth(q.kind, q.key)
		if q.kind == readproof.KindAbsent {
			if len(got) != 0 || len(want) != 0 {
				t.Fatalf("absent accepted with rows %v (state has %v)", got, want)
			}
			return
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("accepted a lie: rows %v, state has %v", got, want)
		}
	})
}
