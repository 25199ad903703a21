package vectors

import (
	"errors"
	"strings"
	"testing"
)

// The metadata fields are accepted; anything else, a bad outcome or a byte
// string that is not hex is refused with ErrFormat.
func TestParse(t *testing.T) {
	const ok = `{"scheme":"s","generator":"g","comment":"c","source":"src","packages":{"lib":"1.0.0"},
	 "vectors":[{"name":"n","signer":"00","message":"","signature":"ff","expect":"valid","identifier":"id","source":"x","comment":"y"}]}`
	f, err := Parse([]byte(ok))
	if err != nil || f.Scheme != "s" || f.Packages["lib"] != "1.0.0" || f.Vectors[0].Identifier != "id" {
		t.Fatalf("Parse = %+v, %v", f, err)
	}
	if s, m, g := f.Vectors[0].Bytes(); len(s) != 1 || len(m) != 0 || g[0] != 0xff {
		t.Errorf("Bytes = %x %x %x", s, m, g)
	}
	for name, c := range map[string]struct{ doc, msg string }{
		"unknown top field":    {strings.Replace(ok, `"generator"`, `"generater"`, 1), `unknown field "generater"`},
		"unknown vector field": {strings.Replace(ok, `"comment":"y"`, `"status":0`, 1), `unknown field "status"`},
		"bad expect":           {strings.Replace(ok, `"expect":"valid"`, `"expect":"ok"`, 1), `expect "ok"`},
		"not hex":              {strings.Replace(ok, `"signer":"00"`, `"signer":"0x00"`, 1), "signer is not hex"},
		"no vectors":           {`{"vectors":[]}`, "no vectors"},
		"trailing data":        {ok + `{}`, "data after"},
	} {
		if _, err := Parse([]byte(c.doc)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err %v, want ErrFormat with %q", name, err, c.msg)
		}
	}
	for st := range byte(3) {
		e, err := Expect(st)
		if back, err2 := Status(e); err != nil || err2 != nil || back != st {
			t.Errorf("status %d -> %q -> %d (%v, %v)", st, e, back, err, err2)
		}
	}
	if _, err := Expect(3); !errors.Is(err, ErrFormat) {
		t.Errorf("Expect(3): %v", err)
	}
}
