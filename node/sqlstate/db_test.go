package sqlstate

import (
	"context"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"

	"github.com/idos-network/idos-node/node/changeset"
)

const usersDDL = `CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL, age INTEGER NOT NULL) STRICT, WITHOUT ROWID`

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "state.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// seedUsers commits the users table with the rows of the worked example.
func seedUsers(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.BeginBlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, usersDDL); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO users VALUES (1,'satoshi',42),(2,'vitalik',30),(3,'hal',78),(5,'nick',61)`)
	if err := db.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// The worked example of docs/spec/changeset.md, run through real SQLite: the
// pre-update hook must capture exactly the documented records and hash.
func TestUsersExampleThroughSQLite(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedUsers(t, db)

	if err := db.BeginBlock(ctx); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO users VALUES (4,'eth_maxi',44)`)
	mustExec(t, db, `UPDATE users SET age = age + 1 WHERE username = 'satoshi'`)
	mustExec(t, db, `DELETE FROM users WHERE age > 50`)
	cs, err := db.Changeset()
	if err != nil {
		t.Fatal(err)
	}
	want := changeset.UsersExample()
	if got, exp := cs.String(), want.String(); got != exp {
		t.Fatalf("changeset:\n%s\nwant:\n%s", got, exp)
	}
	if got := hex.EncodeToString(cs.Encode()); got != changeset.UsersExampleHex {
		t.Fatalf("encoding %s, want %s", got, changeset.UsersExampleHex)
	}
	if err := db.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// A savepoint that fails rolls back its rows in SQLite and in the changeset;
// the writes before it stay.
func TestSavepointRollbackForgetsChanges(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedUsers(t, db)
	if err := db.BeginBlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Savepoint(ctx, func() error {
		_, err := db.ExecContext(ctx, `UPDATE users SET age = 43 WHERE id = 1`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("action failed")
	err := db.Savepoint(ctx, func() error {
		mustExec(t, db, `INSERT INTO users VALUES (9,'mallory',20)`)
		mustExec(t, db, `UPDATE users SET age = 99 WHERE id = 1`)
		mustExec(t, db, `DELETE FROM users WHERE id = 2`)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("savepoint error = %v, want %v", err, boom)
	}
	cs, err := db.Changeset()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cs.String(), "UPDATE users [1] [2]=43\n"; got != want {
		t.Fatalf("changeset %q, want %q", got, want)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("rows after rollback = %d (%v), want 4", n, err)
	}
}

// Net effects inside one block: insert+delete vanishes, insert+update is an
// insert of the final row, an update back to the original value is no record,
// a primary-key change is a delete and an insert, REPLACE is an update.
func TestNetChanges(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedUsers(t, db)
	if err := db.BeginBlock(ctx); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO users VALUES (10,'tmp',1)`)
	mustExec(t, db, `DELETE FROM users WHERE id = 10`)
	mustExec(t, db, `INSERT INTO users VALUES (11,'new',1)`)
	mustExec(t, db, `UPDATE users SET age = 2 WHERE id = 11`)
	mustExec(t, db, `UPDATE users SET age = 31 WHERE id = 2`)
	mustExec(t, db, `UPDATE users SET age = 30 WHERE id = 2`)
	mustExec(t, db, `UPDATE users SET id = 7 WHERE id = 3`)
	mustExec(t, db, `INSERT OR REPLACE INTO users VALUES (5,'nick',62)`)
	cs, err := db.Changeset()
	if err != nil {
		t.Fatal(err)
	}
	want := "DELETE users [3]\nUPDATE users [5] [2]=62\nINSERT users [7 hal 78]\nINSERT users [11 new 2]\n"
	if got := cs.String(); got != want {
		t.Fatalf("changeset:\n%s\nwant:\n%s", got, want)
	}
}

// The authorizer refuses non-deterministic SQL with a clear error, and the
// argument check refuses floats and NUL-carrying text.
func TestDeterminismGuard(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedUsers(t, db)
	if err := db.BeginBlock(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users VALUES (20, 'r', random())`,
		`INSERT INTO users VALUES (21, hex(randomblob(4)), 1)`,
		`INSERT INTO users VALUES (22, datetime('now'), 1)`,
		`UPDATE users SET age = unixepoch() WHERE id = 1`,
		`INSERT INTO users VALUES (23, 'x', last_insert_rowid())`,
		`UPDATE users SET age = CAST(round(age * 1.5) AS INTEGER)`,
		`ATTACH DATABASE ':memory:' AS other`,
		`PRAGMA foreign_keys = OFF`,
		`ANALYZE`,
		`CREATE TEMP TABLE t (x INTEGER)`,
	} {
		_, err := db.ExecContext(ctx, q)
		if !errors.Is(err, ErrNondeterministic) {
			t.Errorf("%s: err = %v, want ErrNondeterministic", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE users SET age = ? WHERE id = 1`, 1.5); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("float argument: err = %v, want ErrInvalidArg", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE users SET username = ? WHERE id = 1`, "a\x00b"); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("NUL argument: err = %v, want ErrInvalidArg", err)
	}
	// Deterministic functions stay allowed.
	mustExec(t, db, `UPDATE users SET username = upper(substr(username, 1, 3)) || json_extract('{"a":"!"}', '$.a') WHERE id = 1`)
}

// State tables must be STRICT, WITHOUT ROWID and free of REAL columns.
func TestSchemaRules(t *testing.T) {
	ctx := context.Background()
	for _, ddl := range []string{
		`CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)`,                       // not strict
		`CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT) STRICT`,                // rowid table
		`CREATE TABLE c (id INTEGER PRIMARY KEY, v REAL) STRICT, WITHOUT ROWID`, // REAL
		`CREATE TABLE d (id INTEGER PRIMARY KEY, v ANY) STRICT, WITHOUT ROWID`,  // ANY
	} {
		db := openTest(t)
		if err := db.BeginBlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, ddl); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: err = %v, want ErrSchema", ddl, err)
		}
	}
}

// Readers see the last committed block only and are not blocked by an open
// block on the writer.
func TestReadersSeeCommittedState(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seedUsers(t, db)
	if err := db.BeginBlock(ctx); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `DELETE FROM users`)
	var n int
	if err := db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("reader during block: %d rows (%v), want 4", n, err)
	}
	if _, err := db.Reader().ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Fatal("reader connection accepted a write")
	}
	if err := db.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("reader after commit: %d rows (%v), want 0", n, err)
	}
}
