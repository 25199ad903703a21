package jsontext

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

type inner struct {
	N int `json:"n"`
}

// hexBytes decodes itself from a hex string.
type hexBytes []byte

func (h *hexBytes) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	*h = d
	return err
}

type body struct {
	Tx    string   `json:"tx"`
	Bytes []byte   `json:"bytes"`
	List  []string `json:"list"`
	In    *inner   `json:"in"`
	Hash  hexBytes `json:"hash"`
	OK    bool     `json:"ok"`
}

// The messages name the field and JSON kinds, and no Go type: neither the
// struct's name nor Go's kind words.
func TestMessagesHaveNoGoTypes(t *testing.T) {
	for i, c := range []struct {
		in, want string
	}{
		0: {`{"tx": 5}`, `field "tx" is a JSON number, want a string`},
		1: {`{"bytes": {}}`, `field "bytes" is a JSON object, want a base64 string`},
		2: {`{"list": "x"}`, `field "list" is a JSON string, want an array`},
		3: {`{"in": {"n": "7"}}`, `field "in.n" is a JSON string, want an integer`},
		4: {`{"in": []}`, `field "in" is a JSON array, want an object`},
		5: {`{"ok": 1}`, `field "ok" is a JSON number, want true or false`},
		6: {`[1]`, `a JSON array where an object is wanted`},
	} {
		var b body
		err := json.Unmarshal([]byte(c.in), &b)
		if err == nil {
			t.Fatalf("%d: %s decoded", i, c.in)
		}
		got := Message(fmt.Errorf("proof.json: %w", err))
		if got != "proof.json: "+c.want {
			t.Errorf("%d: %s:\n got %q\nwant %q", i, c.in, got, "proof.json: "+c.want)
		}
		for _, goWord := range []string{"Go ", "jsontext.", "body", "struct", "int", "[]"} {
			if strings.Contains(strings.TrimPrefix(got, "proof.json: "), goWord) && !strings.Contains(c.want, goWord) {
				t.Errorf("%d: %q names Go's %q", i, got, goWord)
			}
		}
	}
}

// A type decoded from a JSON string by UnmarshalText is wanted as a string.
func TestTextUnmarshalerIsAString(t *testing.T) {
	var b body
	err := json.Unmarshal([]byte(`{"hash": 5}`), &b)
	if got, want := Message(err), `field "hash" is a JSON number, want a string`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
