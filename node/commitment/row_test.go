package commitment

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestDecodeRowRoundTrip: every row EncodeRow accepts decodes back to equal
// values, and the decoded values re-encode to the same bytes.
func TestDecodeRowRoundTrip(t *testing.T) {
	rows := [][]any{
		{},
		{nil},
		{int64(0), int64(-1), int64(math.MinInt64), int64(math.MaxInt64)},
		{"", "satoshi", "with\x00nul", "\xff\xfe not utf-8", strings.Repeat("x", 70_000)},
		{[]byte{}, []byte{0}, []byte("blob"), bytes.Repeat([]byte{0xAB}, 300)},
		usersRows[0], usersRows[2],
		{nil, int64(7), "t", []byte("b"), nil},
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 500 {
		rows = append(rows, randRow(r))
	}
	for i, row := range rows {
		enc, err := EncodeRow(row)
		if err != nil {
			t.Fatalf("row %d: encode: %v", i, err)
		}
		got, err := DecodeRow(enc)
		if err != nil {
			t.Fatalf("row %d: decode %x: %v", i, enc, err)
		}
		if !reflect.DeepEqual(got, row) {
			t.Fatalf("row %d: decoded %#v, want %#v", i, got, row)
		}
		again, err := EncodeRow(got)
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("row %d: re-encoded %x, want %x (%v)", i, again, enc, err)
		}
	}
}

// TestDecodeRowNilBlob: a nil []byte encodes as an empty BLOB and comes back
// as an empty, non-nil []byte, never as NULL.
func TestDecodeRowNilBlob(t *testing.T) {
	enc, err := EncodeRow([]any{[]byte(nil)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRow(enc)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := got[0].([]byte)
	if !ok || b == nil || len(b) != 0 {
		t.Fatalf("decoded %#v, want an empty non-nil []byte", got[0])
	}
}

// TestDecodeRowNoAliasing: a decoded BLOB does not share memory with the
// input, so a caller may reuse its buffer.
func TestDecodeRowNoAliasing(t *testing.T) {
	enc, _ := EncodeRow([]any{[]byte("abc")})
	got, err := DecodeRow(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range enc {
		enc[i] = 0xEE
	}
	if b := got[0].([]byte); string(b) != "abc" {
		t.Fatalf("decoded BLOB changed with its input: %q", b)
	}
}

// TestDecodeRowRejects: every malformed encoding is refused with ErrBadRow.
func TestDecodeRowRejects(t *testing.T) {
	for i, tc := range []struct {
		why string
		hex string
	}{
		0:  {"empty input", ""},
		1:  {"half a column count", "00"},
		2:  {"one column announced, none present", "0001"},
		3:  {"two columns announced, one present", "0002 00"},
		4:  {"trailing byte after zero columns", "0000 00"},
		5:  {"trailing byte after the last column", "0001 00 00"},
		6:  {"unknown tag 04", "0001 04"},
		7:  {"unknown tag ff", "0001 ff"},
		8:  {"short INTEGER", "0001 01 00000000000000"},
		9:  {"TEXT without a full length", "0001 02 000000"},
		10: {"TEXT shorter than its length", "0001 02 00000003 6162"},
		11: {"BLOB shorter than its length", "0001 03 00000002 61"},
		12: {"BLOB length near 2^32", "0001 03 ffffffff 61"},
		13: {"TEXT longer than its length (trailing)", "0001 02 00000001 6162"},
		14: {"column count far above the bytes", "ffff 00 00"},
		15: {"REAL tag of SQLite's own format is not ours", "0001 05 3ff0000000000000"},
	} {
		_, err := DecodeRow(unhex(t, tc.hex))
		if !errors.Is(err, ErrBadRow) {
			t.Errorf("%d (%s): got %v, want ErrBadRow", i, tc.why, err)
		}
	}
}

func randRow(r *rand.Rand) []any {
	row := make([]any, r.IntN(8))
	for i := range row {
		switch r.IntN(4) {
		case 0:
			row[i] = nil
		case 1:
			row[i] = int64(r.Uint64())
		case 2:
			b := make([]byte, r.IntN(20))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			row[i] = string(b)
		case 3:
			b := make([]byte, r.IntN(20))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			row[i] = b
		}
	}
	return row
}

// FuzzDecodeRow: DecodeRow never panics, and whatever it accepts is the
// EncodeRow encoding of what it returns, so there is one encoding per row.
func FuzzDecodeRow(f *testing.F) {
	for _, row := range usersRows {
		enc, _ := EncodeRow(row)
		f.Add(enc)
	}
	r := rand.New(rand.NewPCG(8, 8))
	for range 20 {
		enc, _ := EncodeRow(randRow(r))
		f.Add(enc)
		if len(enc) > 2 {
			f.Add(enc[:len(enc)-1])
		}
		f.Add(append(enc, 0))
	}
	f.Add([]byte{})
	f.Add([]byte{0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := DecodeRow(data)
		if err != nil {
			if !errors.Is(err, ErrBadRow) {
				t.Fatalf("error %v does not wrap ErrBadRow", err)
			}
			return
		}
		enc, err := EncodeRow(values)
		if err != nil {
			t.Fatalf("decoded row does not encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("accepted %x, which re-encodes to %x", data, enc)
		}
	})
}
