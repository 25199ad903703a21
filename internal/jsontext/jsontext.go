// Package jsontext words JSON decoding errors for people: the field and the
// JSON kinds wanted and found, never Go type names ("Go struct field
// SubmitRequest.tx of type string"), which mean nothing to a user of the
// CLI or the gateway. The node's gateway, idosnode and idoslight share it,
// so a type mismatch reads the same everywhere.
package jsontext

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Kind names the JSON value a Go type decodes from, with its article:
// "a string", "an object", ...
func Kind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	// A type that decodes itself from a JSON string (hex, base64,
	// timestamps) is wanted as a string, whatever its Go kind.
	if reflect.PointerTo(t).Implements(textUnmarshaler) && !reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string" // encoding/json's []byte
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return Kind(t.Elem())
	}
	return "another value"
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
)

// TypeError says what te found and what was wanted instead:
// `field "tx" is a JSON number, want a string`.
func TypeError(te *json.UnmarshalTypeError) string {
	if te.Field == "" {
		return fmt.Sprintf("a JSON %s where %s is wanted", te.Value, Kind(te.Type))
	}
	return fmt.Sprintf("field %q is a JSON %s, want %s", te.Field, te.Value, Kind(te.Type))
}

// Message is err's message with a JSON type mismatch inside it worded by
// TypeError (the rest of the message, e.g. the file it was read from, is
// kept).
func Message(err error) string {
	msg := err.Error()
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		msg = strings.Replace(msg, te.Error(), TypeError(te), 1)
	}
	return msg
}
