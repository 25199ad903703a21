// Package sqlstate owns the node's SQLite state: one writer connection that
// executes blocks inside a single transaction, per-transaction savepoints, the
// capture of every row change into a changeset.Tracker, the determinism guard,
// and a pool of read-only connections that never block the writer (WAL).
package sqlstate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idos-network/idos-node/node/changeset"
)

// InternalPrefix marks the node's own bookkeeping tables (height, app hash).
// They commit in the same SQLite transaction as the state, but are not part
// of the changeset: they are derived from it.
const InternalPrefix = "_idos_"

var (
	// ErrNondeterministic is returned when a statement uses SQL that could
	// make nodes diverge (refused by the authorizer).
	ErrNondeterministic = errors.New("sqlstate: non-deterministic SQL refused")
	// ErrSchema is returned when a state table breaks the schema rules.
	ErrSchema = errors.New("sqlstate: schema rule violated")
	// ErrNoBlock is returned when a write is attempted outside a block.
	ErrNoBlock = errors.New("sqlstate: no block in progress")
	// ErrInvalidArg is returned for statement arguments the state cannot hold.
	ErrInvalidArg = errors.New("sqlstate: invalid argument")
)

// DB is the node's state database.
type DB struct {
	path    string
	wdb     *sql.DB
	w       *sql.Conn
	rmu     sync.RWMutex // guards readers, which Replace swaps
	readers *sql.DB
	maint   *sql.DB // checkpoints, opened on first use
	tracker *changeset.Tracker
	tables  []*changeset.Table
	denied  string // last authorizer refusal, set during statement compilation
	inBlock bool
	depth   int // open savepoints
	stmts   map[string]*sql.Stmt
}

// maxCachedStmts bounds the writer's prepared-statement cache. The node's
// own SQL is a fixed set of strings; anything beyond is prepared per call.
const maxCachedStmts = 512

// stmt returns a prepared statement for query on the writer. Preparing
// (parsing and planning) dominated the cost of small writes before the
// cache. The authorizer runs at prepare time, so a cached statement has
// passed the determinism guard.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts[query]; ok {
		return st, nil
	}
	db.denied = ""
	st, err := db.w.PrepareContext(ctx, query)
	if err != nil {
		return nil, db.wrap(err)
	}
	if len(db.stmts) < maxCachedStmts {
		db.stmts[query] = st
	}
	return st, nil
}

func (db *DB) exec(ctx context.Context, query string) error {
	st, err := db.stmt(ctx, query)
	if err == nil {
		_, err = st.ExecContext(ctx)
	}
	return err
}

// Open opens (creating if needed) the state database at path.
func Open(ctx context.Context, path string) (*DB, error) {
	db := &DB{}
	if err := db.open(ctx, path); err != nil {
		return nil, err
	}
	return db, nil
}

func (db *DB) open(ctx context.Context, path string) error {
	// synchronous=FULL: one fsync per block commit is cheap, and it keeps
	// the app's height at or ahead of what CometBFT believes after power
	// loss. foreign_keys=1 is deterministic and catches dangling rows.
	// secure_delete=ON zeroes deleted content in the pages it leaves
	// (free pages included), so a removed row's bytes do not survive in
	// the file (docs/spec/data-model.md, "Deletion"); it changes no query
	// result, so no state.
	wdsn := dsn(path, "", "journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "secure_delete(ON)")
	wdb, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return fmt.Errorf("sqlstate: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	w, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return fmt.Errorf("sqlstate: open %s: %w", path, err)
	}
	db.path, db.wdb, db.w, db.maint = path, wdb, w, nil
	db.tracker, db.stmts, db.tables = changeset.NewTracker(nil), map[string]*sql.Stmt{}, nil
	db.inBlock, db.depth, db.denied = false, 0, ""
	err = w.Raw(func(dc any) error {
		hooks, ok := dc.(sqlite.HookRegisterer)
		if !ok {
			return errors.New("driver has no pre-update hook")
		}
		auth, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("driver has no authorizer")
		}
		hooks.RegisterPreUpdateHook(db.preUpdate)
		return auth.RegisterAuthorizer(writeAuthorizer(&db.denied))
	})
	if err == nil {
		err = db.loadSchema(ctx)
	}
	var readers *sql.DB
	if err == nil {
		readers, err = sql.Open("sqlite", dsn(path, "ro", "busy_timeout(10000)", "query_only(1)"))
	}
	db.rmu.Lock()
	db.readers = readers
	db.rmu.Unlock()
	if err != nil {
		db.Close()
		return fmt.Errorf("sqlstate: open %s: %w", path, err)
	}
	readers.SetMaxOpenConns(8)
	return nil
}

// Replace closes the database, moves the database file src over it and
// opens it again: how a state-synced node puts its restored state in
// place (node/app, statesync.go). src must be a closed database in
// rollback or WAL mode with no -wal file left. The rename is atomic, so a
// crash leaves either the old file or the new one. Readers holding the old
// pool get "database is closed"; later calls to Reader get the new one.
func (db *DB) Replace(ctx context.Context, src string) error {
	if db.inBlock {
		return errors.New("sqlstate: replace inside a block")
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("sqlstate: replace: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(db.path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlstate: replace: %w", err)
		}
	}
	if err := os.Rename(src, db.path); err != nil {
		return fmt.Errorf("sqlstate: replace: %w", err)
	}
	if d, err := os.Open(filepath.Dir(db.path)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("sqlstate: replace: %w", err)
		}
	}
	return db.open(ctx, db.path)
}

func dsn(path, mode string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if mode != "" {
		q.Set("mode", mode)
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes every connection. An open block is rolled back.
func (db *DB) Close() error {
	var errs []error
	if db.inBlock {
		errs = append(errs, db.Rollback(context.Background()))
	}
	for _, st := range db.stmts {
		errs = append(errs, st.Close())
	}
	if db.maint != nil {
		errs = append(errs, db.maint.Close())
	}
	if db.readers != nil {
		errs = append(errs, db.readers.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	errs = append(errs, db.wdb.Close())
	return errors.Join(errs...)
}

// Reader returns the pool of read-only connections. Readers see the last
// committed block and never wait for the writer.
func (db *DB) Reader() *sql.DB {
	db.rmu.RLock()
	defer db.rmu.RUnlock()
	return db.readers
}

func (db *DB) preUpdate(d sqlite.SQLitePreUpdateData) {
	if d.DatabaseName != "main" || !db.tracker.Tracks(d.TableName) {
		return
	}
	var op changeset.Op
	var old, new []any
	n := d.Count()
	switch d.Op {
	case sqlite3.SQLITE_INSERT:
		op, new = changeset.OpInsert, make([]any, n)
		_ = d.New(new...) // values land in new's backing array
	case sqlite3.SQLITE_DELETE:
		op, old = changeset.OpDelete, make([]any, n)
		_ = d.Old(old...)
	case sqlite3.SQLITE_UPDATE:
		op, old, new = changeset.OpUpdate, make([]any, n), make([]any, n)
		_ = d.Old(old...)
		_ = d.New(new...)
	default:
		return
	}
	db.tracker.Track(op, d.TableName, old, new)
}

// BeginBlock opens the block's transaction. Every write until Commit or
// Rollback belongs to it.
func (db *DB) BeginBlock(ctx context.Context) error {
	if db.inBlock {
		return errors.New("sqlstate: block already in progress")
	}
	if err := db.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlstate: begin block: %w", err)
	}
	db.tracker.Reset()
	db.inBlock = true
	return nil
}

// InBlock reports whether a block transaction is open.
func (db *DB) InBlock() bool { return db.inBlock }

// Commit makes the block durable.
func (db *DB) Commit(ctx context.Context) error {
	if !db.inBlock {
		return ErrNoBlock
	}
	if err := db.exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlstate: commit: %w", err)
	}
	db.inBlock, db.depth = false, 0
	db.tracker.Reset()
	return nil
}

// Checkpoint copies every committed page from the WAL into the main file
// and truncates the WAL to zero bytes (PRAGMA wal_checkpoint(TRUNCATE)),
// so pages written before a deletion do not linger in the WAL. It runs on
// its own connection (the writer's authorizer refuses pragmas) and only
// between blocks. busy reports that a reader kept it from finishing; the
// next call tries again.
func (db *DB) Checkpoint(ctx context.Context) (busy bool, err error) {
	if db.inBlock {
		return false, errors.New("sqlstate: checkpoint inside a block")
	}
	if db.maint == nil {
		// A short wait: the caller (Commit) must not stall behind a long
		// read; a busy checkpoint is retried by the next call.
		db.maint, err = sql.Open("sqlite", dsn(db.path, "", "busy_timeout(100)"))
		if err != nil {
			return false, fmt.Errorf("sqlstate: checkpoint: %w", err)
		}
		db.maint.SetMaxOpenConns(1)
	}
	var blocked, logPages, done int
	if err := db.maint.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&blocked, &logPages, &done); err != nil {
		return false, fmt.Errorf("sqlstate: checkpoint: %w", err)
	}
	return blocked != 0, nil
}

// Rollback discards the block.
func (db *DB) Rollback(ctx context.Context) error {
	if !db.inBlock {
		return ErrNoBlock
	}
	db.inBlock, db.depth = false, 0
	db.tracker.Reset()
	if err := db.exec(ctx, "ROLLBACK"); err != nil {
		return fmt.Errorf("sqlstate: rollback: %w", err)
	}
	return db.loadSchema(ctx) // a migration may have been undone
}

// Changeset returns the net row changes of the open block so far.
func (db *DB) Changeset() (*changeset.Changeset, error) {
	if !db.inBlock {
		return nil, ErrNoBlock
	}
	return db.tracker.Changeset()
}

// Savepoint runs fn inside a savepoint of the open block. If fn returns an
// error, or a tracked write failed, every write fn made is rolled back
// (from SQLite and from the changeset) and the error is returned; the block
// goes on.
func (db *DB) Savepoint(ctx context.Context, fn func() error) error {
	if !db.inBlock {
		return ErrNoBlock
	}
	name := fmt.Sprintf("sp%d", db.depth)
	if err := db.exec(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("sqlstate: savepoint: %w", err)
	}
	db.depth++
	mark := db.tracker.Mark()
	err := fn()
	if err == nil {
		err = db.tracker.Err()
	}
	db.depth--
	if err != nil {
		db.tracker.RollbackTo(mark)
		rerr := db.exec(ctx, "ROLLBACK TO "+name)
		if rerr == nil {
			rerr = db.exec(ctx, "RELEASE "+name)
		}
		if rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlstate: rollback to savepoint: %w", rerr))
		}
		return err
	}
	if err := db.exec(ctx, "RELEASE "+name); err != nil {
		return fmt.Errorf("sqlstate: release savepoint: %w", err)
	}
	return nil
}

// ExecContext runs a write statement in the open block.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !db.inBlock {
		return nil, ErrNoBlock
	}
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	st, err := db.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(ctx, args...)
	return res, db.wrap(err)
}

// QueryContext runs a query on the writer, seeing the open block's writes. Queries
// whose results feed state must have a total ORDER BY.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext is QueryContext for a single row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.stmt(ctx, query)
	if err != nil {
		// *sql.Row carries its error only through a query; let the
		// uncached path report it.
		return db.w.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (db *DB) wrap(err error) error {
	if err == nil {
		return nil
	}
	if db.denied != "" {
		reason := db.denied
		db.denied = ""
		return fmt.Errorf("%w: %s", ErrNondeterministic, reason)
	}
	return err
}

// checkArgs refuses arguments the changeset could not capture faithfully.
func checkArgs(args []any) error {
	for i, a := range args {
		switch v := a.(type) {
		case float32, float64:
			return fmt.Errorf("%w: argument %d is a float; state holds no REAL values", ErrInvalidArg, i+1)
		case string:
			// The pre-update hook reads TEXT as a C string, so an
			// embedded NUL would be cut off in the changeset.
			if strings.IndexByte(v, 0) >= 0 {
				return fmt.Errorf("%w: argument %d: TEXT may not contain NUL bytes", ErrInvalidArg, i+1)
			}
		}
	}
	return nil
}

// Migrate runs DDL statements inside the open block and re-validates the
// schema: every state table must be STRICT, WITHOUT ROWID, and have no REAL
// or ANY columns.
func (db *DB) Migrate(ctx context.Context, stmts ...string) error {
	if !db.inBlock {
		return ErrNoBlock
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("sqlstate: migrate: %w", err)
		}
	}
	return db.loadSchema(ctx)
}

// Tables returns the state tables, sorted by name.
func (db *DB) Tables() []*changeset.Table { return db.tables }

func (db *DB) loadSchema(ctx context.Context) error {
	rows, err := db.w.QueryContext(ctx,
		`SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = 'main' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("sqlstate: read schema: %w", err)
	}
	type tinfo struct {
		name, typ  string
		wr, strict int
	}
	var infos []tinfo
	for rows.Next() {
		var t tinfo
		if err := rows.Scan(&t.name, &t.typ, &t.wr, &t.strict); err != nil {
			rows.Close()
			return err
		}
		infos = append(infos, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var tables []*changeset.Table
	for _, ti := range infos {
		if ti.typ != "table" || strings.HasPrefix(ti.name, "sqlite_") || strings.HasPrefix(ti.name, InternalPrefix) {
			continue
		}
		if ti.strict != 1 || ti.wr != 1 {
			return fmt.Errorf("%w: table %q must be STRICT and WITHOUT ROWID", ErrSchema, ti.name)
		}
		tb, err := db.tableInfo(ctx, ti.name)
		if err != nil {
			return err
		}
		tables = append(tables, tb)
	}
	db.tables = tables
	db.tracker.SetTables(tables)
	return nil
}

func (db *DB) tableInfo(ctx context.Context, name string) (*changeset.Table, error) {
	rows, err := db.w.QueryContext(ctx, `SELECT cid, name, type, pk FROM pragma_table_info(?) ORDER BY cid`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlstate: table info %q: %w", name, err)
	}
	defer rows.Close()
	tb := &changeset.Table{Name: name}
	pkPos := map[int]int{} // key position (1-based) -> column index
	for rows.Next() {
		var cid, pk int
		var col, typ string
		if err := rows.Scan(&cid, &col, &typ, &pk); err != nil {
			return nil, err
		}
		switch strings.ToUpper(typ) {
		case "INTEGER", "INT", "TEXT", "BLOB":
		default:
			return nil, fmt.Errorf("%w: column %s.%s has type %q; state columns are INTEGER, TEXT or BLOB", ErrSchema, name, col, typ)
		}
		tb.Columns = append(tb.Columns, col)
		if pk > 0 {
			pkPos[pk] = cid
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := 1; i <= len(pkPos); i++ {
		c, ok := pkPos[i]
		if !ok {
			return nil, fmt.Errorf("%w: table %q has a malformed primary key", ErrSchema, name)
		}
		tb.PK = append(tb.PK, c)
	}
	if len(tb.PK) == 0 {
		return nil, fmt.Errorf("%w: table %q has no primary key", ErrSchema, name)
	}
	return tb, nil
}
