package sqlstate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeletedRowLeavesNoBytes: with the database still open (so no
// checkpoint-on-close helps), a deleted row's text is in neither the main
// file nor the WAL once the block that deleted it is committed and
// Checkpoint has run: secure_delete zeroes the freed cells and the
// truncating checkpoint empties the WAL. A large value (overflow pages,
// freed whole) and a small one (a cell on a shared page) are both checked.
func TestDeletedRowLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedUsers(t, db)
	small, large := "SecretSmallValue0123", "SecretLargeValue"+strings.Repeat("x0123456789", 2000)
	block := func(q string, args ...any) {
		t.Helper()
		if err := db.BeginBlock(ctx); err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, q, args...)
		if err := db.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	block(`INSERT INTO users VALUES (10, ?, 1), (11, ?, 2)`, small, large)
	if busy, err := db.Checkpoint(ctx); err != nil || busy {
		t.Fatalf("checkpoint: busy %v, %v", busy, err)
	}
	files := func() []byte {
		var all []byte
		for _, p := range []string{db.path, db.path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	for _, v := range []string{small, "SecretLargeValue"} {
		if !bytes.Contains(files(), []byte(v)) {
			t.Fatalf("%.20s not on disk after insert: the test would prove nothing", v)
		}
	}
	block(`DELETE FROM users WHERE id IN (10, 11)`)
	if busy, err := db.Checkpoint(ctx); err != nil || busy {
		t.Fatalf("checkpoint: busy %v, %v", busy, err)
	}
	if fi, err := os.Stat(db.path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("WAL is %d bytes after a truncating checkpoint", fi.Size())
	}
	for _, v := range []string{small, "SecretLargeValue"} {
		if bytes.Contains(files(), []byte(v)) {
			t.Errorf("%.20s still in %s or its WAL after delete and checkpoint", v, filepath.Base(db.path))
		}
	}
}
