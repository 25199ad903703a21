// Package changeset captures the net row changes of a block and gives them a
// canonical encoding and hash. It is pure: the SQL layer feeds it the rows
// that SQLite's pre-update hook reports, and it never touches a database.
//
// The rule (docs/spec/changeset.md): per (table, primary key), compare the row
// before the block with the row after it.
//   - absent before, present after: INSERT with every column by position;
//   - present before, absent after: DELETE with the primary key only;
//   - present in both and different: UPDATE with the primary key and the
//     changed columns by position;
//   - anything else: no record.
//
// Records are ordered by table name, then by the order-preserving encoding of
// the primary key (EncodeKey), so the bytes do not depend on the order in
// which statements touched the rows.
package changeset

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// ErrNondeterministicValue is returned when a row holds a value that has no
// place in consensus state (a REAL, or a Go type SQLite should never yield).
var ErrNondeterministicValue = errors.New("changeset: value not allowed in state")

// Op is the kind of a changeset record. The numeric values are part of the
// encoding.
type Op byte

const (
	OpInsert Op = 1
	OpUpdate Op = 2
	OpDelete Op = 3
)

func (o Op) String() string {
	switch o {
	case OpInsert:
		return "INSERT"
	case OpUpdate:
		return "UPDATE"
	case OpDelete:
		return "DELETE"
	}
	return fmt.Sprintf("Op(%d)", byte(o))
}

// Table describes a state table: its columns in declaration order and the
// positions of its primary-key columns in key order.
type Table struct {
	Name    string
	Columns []string
	PK      []int
}

func (t *Table) pkValues(row []any) []any {
	pk := make([]any, len(t.PK))
	for i, c := range t.PK {
		pk[i] = row[c]
	}
	return pk
}

// Column is one column value of an UPDATE record.
type Column struct {
	Index int
	Value any
}

// Record is one row change.
type Record struct {
	Op    Op
	Table string
	// Values holds every column by position for OpInsert, and the primary
	// key values in key order for OpUpdate and OpDelete.
	Values []any
	// Changed holds the changed columns of an OpUpdate, by ascending
	// position.
	Changed []Column
	// Row is the whole row after the block, every column by position,
	// for OpInsert and OpUpdate; nil for OpDelete. It is not encoded: it
	// lets the state commitment hash whole rows without reading them back.
	Row []any

	key []byte // EncodeKey of the primary key, for ordering
}

// EncodedKey returns EncodeKey of the record's primary key, as the tracker
// computed it (nil for a Record built by hand).
func (r *Record) EncodedKey() []byte { return r.key }

// Changeset is the ordered list of a block's net row changes.
type Changeset struct {
	Records []Record
}

// Encoding constants; see docs/spec/changeset.md.
var magic = [4]byte{'I', 'D', 'C', 'S'}

const encodingVersion = 1

// Encode returns the canonical encoding:
//
//	"IDCS" | version u8 (=1) | record count u32
//	record: op u8 | table name length u16 | table name
//	        INSERT: column count u16 | values
//	        UPDATE: key column count u16 | key values | changed count u16 | (position u16 | value)*
//	        DELETE: key column count u16 | key values
//
// All integers are big-endian; values are encoded as in appendValue.
func (c *Changeset) Encode() []byte {
	dst := make([]byte, 0, 64+len(c.Records)*48)
	dst = append(dst, magic[:]...)
	dst = append(dst, encodingVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.Records)))
	for i := range c.Records {
		r := &c.Records[i]
		dst = append(dst, byte(r.Op))
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Table)))
		dst = append(dst, r.Table...)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Values)))
		for _, v := range r.Values {
			dst = appendValue(dst, v)
		}
		if r.Op == OpUpdate {
			dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Changed)))
			for _, col := range r.Changed {
				dst = binary.BigEndian.AppendUint16(dst, uint16(col.Index))
				dst = appendValue(dst, col.Value)
			}
		}
	}
	return dst
}

// Hash returns SHA-256 of the canonical encoding.
func (c *Changeset) Hash() [32]byte {
	return sha256.Sum256(c.Encode())
}

// Len returns the number of records.
func (c *Changeset) Len() int { return len(c.Records) }

func compareRecords(a, b Record) int {
	if c := bytes.Compare([]byte(a.Table), []byte(b.Table)); c != 0 {
		return c
	}
	return bytes.Compare(a.key, b.key)
}

func sortRecords(rs []Record) {
	slices.SortFunc(rs, compareRecords)
}
