package changeset

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Value tags. State tables are STRICT and hold no REAL columns, so a column
// value is always one of these four kinds. The numeric order of the tags is
// SQLite's sort order across storage classes (NULL < INTEGER < TEXT < BLOB),
// which keeps EncodeKey order-preserving.
const (
	tagNull    byte = 0x00
	tagInteger byte = 0x01
	tagText    byte = 0x02
	tagBlob    byte = 0x03
)

// checkValue reports whether v is one of the Go types a state value may have:
// nil, int64, string or []byte.
func checkValue(v any) error {
	switch v.(type) {
	case nil, int64, string, []byte:
		return nil
	case float64:
		return fmt.Errorf("%w: REAL value %v", ErrNondeterministicValue, v)
	default:
		return fmt.Errorf("%w: unsupported value type %T", ErrNondeterministicValue, v)
	}
}

// valuesEqual compares two state values of the kinds accepted by checkValue.
// Values of different storage classes are never equal (1 and '1' differ).
func valuesEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return false
}

// appendValue appends the changeset encoding of v: a tag byte, then for
// INTEGER 8 bytes big-endian two's complement, for TEXT and BLOB a 4-byte
// big-endian length and the bytes, for NULL nothing.
func appendValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, tagNull)
	case int64:
		dst = append(dst, tagInteger)
		return binary.BigEndian.AppendUint64(dst, uint64(x))
	case string:
		dst = append(dst, tagText)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(x)))
		return append(dst, x...)
	case []byte:
		dst = append(dst, tagBlob)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(x)))
		return append(dst, x...)
	}
	panic(fmt.Sprintf("changeset: unchecked value type %T", v)) // callers run checkValue first
}

// EncodeKey returns the order-preserving encoding of a primary key: for
// every key column in key order, a tag byte then
//   - INTEGER: 8 bytes big-endian with the sign bit flipped, so that
//     byte order equals numeric order;
//   - TEXT, BLOB: the bytes with every 0x00 written as 0x00 0xFF, then a
//     0x00 0x00 terminator, so that a shorter string sorts first and
//     composite keys never run into each other;
//   - NULL: nothing.
//
// Comparing two encodings bytewise gives SQLite's order for BINARY
// collation. The encoding orders changeset records and, later, the keys of
// the state commitment.
func EncodeKey(values []any) ([]byte, error) {
	var dst []byte
	for _, v := range values {
		if err := checkValue(v); err != nil {
			return nil, err
		}
		dst = appendKeyValue(dst, v)
	}
	return dst, nil
}

func appendKeyValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, tagNull)
	case int64:
		dst = append(dst, tagInteger)
		return binary.BigEndian.AppendUint64(dst, uint64(x)^(1<<63))
	case string:
		return appendEscaped(append(dst, tagText), []byte(x))
	case []byte:
		return appendEscaped(append(dst, tagBlob), x)
	}
	panic(fmt.Sprintf("changeset: unchecked value type %T", v))
}

func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		if c == 0x00 {
			dst = append(dst, 0x00, 0xFF)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, 0x00, 0x00)
}

// DecodeKey is the inverse of EncodeKey: it returns the key values (nil,
// int64, string or []byte) in order. It is strict: an encoding is accepted
// only if EncodeKey of the result gives back exactly b, so every accepted
// input has one meaning. A node uses it to turn a key a client asks about
// back into a primary-key lookup.
func DecodeKey(b []byte) ([]any, error) {
	var vals []any
	for i := 0; i < len(b); {
		tag := b[i]
		i++
		switch tag {
		case tagNull:
			vals = append(vals, nil)
		case tagInteger:
			if len(b)-i < 8 {
				return nil, fmt.Errorf("changeset: key: INTEGER at byte %d is truncated", i-1)
			}
			vals = append(vals, int64(binary.BigEndian.Uint64(b[i:])^(1<<63)))
			i += 8
		case tagText, tagBlob:
			var raw []byte
			for {
				if len(b)-i < 2 {
					return nil, fmt.Errorf("changeset: key: %s without its terminator", tagName(tag))
				}
				c := b[i]
				if c != 0x00 {
					raw = append(raw, c)
					i++
					continue
				}
				if b[i+1] == 0xFF {
					raw = append(raw, 0x00)
					i += 2
					continue
				}
				if b[i+1] != 0x00 {
					return nil, fmt.Errorf("changeset: key: bad escape 00 %02x at byte %d", b[i+1], i)
				}
				i += 2
				break
			}
			if tag == tagText {
				vals = append(vals, string(raw))
			} else {
				if raw == nil {
					raw = []byte{}
				}
				vals = append(vals, raw)
			}
		default:
			return nil, fmt.Errorf("changeset: key: unknown value tag %#x at byte %d", tag, i-1)
		}
	}
	return vals, nil
}

func tagName(tag byte) string {
	if tag == tagText {
		return "TEXT"
	}
	return "BLOB"
}
