package module_test

import (
	"errors"
	"testing"

	"github.com/idos-network/idos-node/node/module"
)

// A payload of the wrong JSON type is refused as ErrInvalidPayload with a
// message people read in the refused transaction's log: the field and the
// JSON kinds, not the Go payload type.
func TestDecodeErrorNamesNoGoType(t *testing.T) {
	var p struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	err := module.Decode([]byte(`{"key":"k","value":7}`), &p)
	if !errors.Is(err, module.ErrInvalidPayload) {
		t.Fatalf("error %v, want ErrInvalidPayload", err)
	}
	if want := `invalid payload: field "value" is a JSON number, want a string`; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}
