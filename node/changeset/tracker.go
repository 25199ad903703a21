package changeset

import (
	"fmt"
	"strings"
)

// rowState is what the tracker knows of one (table, primary key) in the
// current block: the row as it was before the block's first write to it, and
// the row as it is now. A nil slice with the matching has flag false means
// the row does not exist.
type rowState struct {
	table     *Table
	key       []byte
	before    []any
	hasBefore bool
	after     []any
	hasAfter  bool
}

type undo struct {
	id   string
	prev *rowState // nil: the id was untracked
}

// Tracker accumulates the row changes of one block as SQLite reports them
// (old and new values of every inserted, updated and deleted row) and derives
// the net changeset. Savepoints are supported through Mark and RollbackTo,
// because SQLite's pre-update hook is not told about rollbacks.
//
// A Tracker is not safe for concurrent use; it belongs to the single writer.
type Tracker struct {
	tables  map[string]*Table
	rows    map[string]*rowState
	journal []undo
	err     error
}

// NewTracker returns a tracker for the given state tables. Writes to other
// tables are ignored by Track.
func NewTracker(tables []*Table) *Tracker {
	t := &Tracker{rows: make(map[string]*rowState)}
	t.SetTables(tables)
	return t
}

// SetTables replaces the set of tracked tables (after a schema migration).
func (t *Tracker) SetTables(tables []*Table) {
	t.tables = make(map[string]*Table, len(tables))
	for _, tb := range tables {
		t.tables[tb.Name] = tb
	}
}

// Tracks reports whether writes to the named table are part of the changeset.
func (t *Tracker) Tracks(table string) bool {
	_, ok := t.tables[table]
	return ok
}

// Track records one row write. For OpInsert old is nil, for OpDelete new is
// nil, for OpUpdate both are set. Writes to untracked tables are ignored.
// Errors (an unexpected value type, a row of the wrong width) are sticky and
// returned by Err and Changeset, because the SQLite hook that calls Track
// cannot fail the statement.
func (t *Tracker) Track(op Op, table string, old, new []any) {
	tb, ok := t.tables[table]
	if !ok || t.err != nil {
		return
	}
	if err := t.track(tb, op, old, new); err != nil {
		t.err = fmt.Errorf("changeset: %s on %q: %w", op, table, err)
	}
}

func (t *Tracker) track(tb *Table, op Op, old, new []any) error {
	for _, row := range [][]any{old, new} {
		if row == nil {
			continue
		}
		if len(row) != len(tb.Columns) {
			return fmt.Errorf("row has %d columns, table has %d", len(row), len(tb.Columns))
		}
		for _, v := range row {
			if err := checkValue(v); err != nil {
				return err
			}
		}
	}
	switch op {
	case OpInsert:
		return t.apply(tb, new, func(s *rowState) { s.after, s.hasAfter = new, true }, nil, false)
	case OpDelete:
		return t.apply(tb, old, func(s *rowState) { s.after, s.hasAfter = nil, false }, old, true)
	case OpUpdate:
		oldKey, _ := EncodeKey(tb.pkValues(old))
		newKey, _ := EncodeKey(tb.pkValues(new))
		if string(oldKey) != string(newKey) {
			// A primary-key change is a delete of the old key and an
			// insert of the new one.
			if err := t.track(tb, OpDelete, old, nil); err != nil {
				return err
			}
			return t.track(tb, OpInsert, nil, new)
		}
		return t.apply(tb, new, func(s *rowState) { s.after, s.hasAfter = new, true }, old, true)
	}
	return fmt.Errorf("unknown op %d", op)
}

// apply updates the state of the row whose key is taken from keyRow. If the
// row is seen for the first time in this block, its before-image is old
// (present when hasOld).
func (t *Tracker) apply(tb *Table, keyRow []any, set func(*rowState), old []any, hasOld bool) error {
	key, err := EncodeKey(tb.pkValues(keyRow))
	if err != nil {
		return err
	}
	id := tb.Name + "\x00" + string(key)
	prev := t.rows[id]
	t.journal = append(t.journal, undo{id: id, prev: prev})
	var s rowState
	if prev != nil {
		s = *prev
	} else {
		s = rowState{table: tb, key: key, before: old, hasBefore: hasOld}
	}
	set(&s)
	t.rows[id] = &s
	return nil
}

// Mark returns a position to roll back to (taken when a savepoint opens).
func (t *Tracker) Mark() int { return len(t.journal) }

// RollbackTo forgets every write tracked since mark (when the savepoint
// rolls back).
func (t *Tracker) RollbackTo(mark int) {
	for i := len(t.journal) - 1; i >= mark; i-- {
		u := t.journal[i]
		if u.prev == nil {
			delete(t.rows, u.id)
		} else {
			t.rows[u.id] = u.prev
		}
	}
	t.journal = t.journal[:mark]
}

// Reset forgets everything (a new block begins, or the block was discarded).
func (t *Tracker) Reset() {
	clear(t.rows)
	t.journal = t.journal[:0]
	t.err = nil
}

// Err returns the first error met by Track since the last Reset.
func (t *Tracker) Err() error { return t.err }

// Changeset returns the net changes since the last Reset, in canonical order.
func (t *Tracker) Changeset() (*Changeset, error) {
	if t.err != nil {
		return nil, t.err
	}
	records := make([]Record, 0, len(t.rows))
	for _, s := range t.rows { // order restored by sortRecords below
		if r, ok := s.record(); ok {
			records = append(records, r)
		}
	}
	sortRecords(records)
	return &Changeset{Records: records}, nil
}

func (s *rowState) record() (Record, bool) {
	tb := s.table
	switch {
	case !s.hasBefore && s.hasAfter:
		return Record{Op: OpInsert, Table: tb.Name, Values: s.after, Row: s.after, key: s.key}, true
	case s.hasBefore && !s.hasAfter:
		return Record{Op: OpDelete, Table: tb.Name, Values: tb.pkValues(s.before), key: s.key}, true
	case s.hasBefore && s.hasAfter:
		var changed []Column
		for i := range s.after {
			if !valuesEqual(s.before[i], s.after[i]) {
				changed = append(changed, Column{Index: i, Value: s.after[i]})
			}
		}
		if len(changed) == 0 {
			return Record{}, false
		}
		return Record{Op: OpUpdate, Table: tb.Name, Values: tb.pkValues(s.after), Changed: changed, Row: s.after, key: s.key}, true
	}
	return Record{}, false
}

// String renders a changeset for logs and test failures.
func (c *Changeset) String() string {
	var b strings.Builder
	for _, r := range c.Records {
		fmt.Fprintf(&b, "%s %s %v", r.Op, r.Table, r.Values)
		for _, col := range r.Changed {
			fmt.Fprintf(&b, " [%d]=%v", col.Index, col.Value)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
