package readproof_test

import (
	"errors"
	"testing"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/readproof/prooftest"
)

// Paging through a range gives its rows; a page that is not the range's
// next run of rows is refused.
func TestVerifyPage(t *testing.T) {
	var rows []prooftest.Row
	for i := range 25 {
		rows = append(rows, prooftest.Row{Table: "kv", PK: []any{"alice", int64(i)}, Values: []any{"alice", int64(i), "v"}})
	}
	rows = append(rows, prooftest.Row{Table: "kv", PK: []any{"bob", int64(0)}, Values: []any{"bob", int64(0), "v"}})
	s, err := prooftest.New(7, apphash.Hash{}, rows)
	if err != nil {
		t.Fatal(err)
	}
	prefix, _ := commitment.Key("kv", []any{"alice"})
	var after []byte
	var got []readproof.VerifiedRow
	for {
		b, err := s.Page(prefix, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		vr, more, err := readproof.VerifyPage(s.AppHash[:], prefix, after, b)
		if err != nil {
			t.Fatal(err)
		}
		if after != nil {
			vr = vr[1:]
		}
		got = append(got, vr...)
		if !more {
			break
		}
		after = b.Rows[len(b.Rows)-1].Key
	}
	if len(got) != 25 || got[24].Values[1] != int64(24) {
		t.Fatalf("%d rows", len(got))
	}

	middle, _ := commitment.Key("kv", []any{"alice", int64(10)})
	mid, err := s.Page(prefix, middle, 5)
	if err != nil {
		t.Fatal(err)
	}
	asFirst := *mid
	asFirst.After = nil
	skipped := *mid
	skipped.Rows = mid.Rows[1:]
	wrongStart, _ := commitment.Key("kv", []any{"alice", int64(9)})
	for i, c := range []struct {
		after []byte
		b     *readproof.Bundle
		want  error
	}{
		{nil, &asFirst, commitment.ErrIncomplete},   // 0: a middle page passed off as the first
		{wrongStart, mid, readproof.ErrWrongAnswer}, // 1: the page after another key
		{middle, &skipped, readproof.ErrBadRows},    // 2: not starting at the previous last row
	} {
		if _, _, err := readproof.VerifyPage(s.AppHash[:], prefix, c.after, c.b); !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
}
