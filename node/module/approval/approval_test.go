package approval_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/sqlstate"
)

// The threshold rule's test vectors (docs/spec/approval.md).
func TestReached(t *testing.T) {
	twoThirds := approval.Fraction{Numerator: 2, Denominator: 3}
	for i, c := range []struct {
		t               approval.Fraction
		approved, total int64
		want            bool
	}{
		0: {twoThirds, 20, 30, true},  // exactly 2/3: "at least"
		1: {twoThirds, 19, 30, false}, // just under
		2: {twoThirds, 20, 40, false}, // half
		3: {twoThirds, 30, 40, true},  // 3/4
		4: {twoThirds, 0, 0, false},   // no power at all never reaches
		5: {twoThirds, 10, 10, true},  // a single validator decides alone
		6: {approval.Fraction{Numerator: 1, Denominator: 1}, 39, 40, false},
		7: {approval.Fraction{Numerator: 1, Denominator: 1}, 40, 40, true},
		8: {approval.Fraction{Numerator: 1, Denominator: 2}, 1 << 40, 1 << 41, true}, // large powers, no overflow
	} {
		if got := c.t.Reached(c.approved, c.total); got != c.want {
			t.Errorf("%d: %d/%d reached(%d, %d) = %v, want %v", i, c.t.Numerator, c.t.Denominator, c.approved, c.total, got, c.want)
		}
	}
	for _, bad := range []approval.Fraction{{0, 3}, {4, 3}, {1, 0}, {1, 1001}, {-1, 3}} {
		if bad.Check() == nil {
			t.Errorf("threshold %d/%d accepted", bad.Numerator, bad.Denominator)
		}
	}
	if err := twoThirds.Check(); err != nil {
		t.Error(err)
	}
}

// The schema text is hashed into the genesis app hash: it must stay the
// text the validators module always had.
func TestSchemaText(t *testing.T) {
	got := approval.Tables{Requests: "validator_requests", Approvals: "validator_approvals", Subject: "target"}.Schema()
	want := []string{`CREATE TABLE validator_requests (
		kind     TEXT NOT NULL,
		target   TEXT NOT NULL,
		proposer TEXT NOT NULL,
		created  INTEGER NOT NULL,
		expires  INTEGER NOT NULL,
		status   TEXT NOT NULL,
		decided  INTEGER NOT NULL,
		PRIMARY KEY (kind, target)
	) STRICT, WITHOUT ROWID`,
		`CREATE TABLE validator_approvals (
		kind     TEXT NOT NULL,
		target   TEXT NOT NULL,
		approver TEXT NOT NULL,
		height   INTEGER NOT NULL,
		PRIMARY KEY (kind, target, approver)
	) STRICT, WITHOUT ROWID`}
	if !slices.Equal(got, want) {
		t.Fatalf("schema text changed:\n%s", got)
	}
}

// powers is a toy validator set in its own table, standing in for the
// validators module: the engine only sees the Power interface.
type powers struct{}

func (powers) Of(ctx context.Context, q approval.Querier, key string) (int64, error) {
	var p int64
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(power), 0) FROM powers WHERE key = ?`, key).Scan(&p)
	return p, err
}

func (powers) Total(ctx context.Context, q approval.Querier) (int64, error) {
	var p int64
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(power), 0) FROM powers`).Scan(&p)
	return p, err
}

var (
	errNotFound  = errors.New("no such observation")
	errExpired   = errors.New("observation expired")
	errDecided   = errors.New("observation decided")
	errDuplicate = errors.New("reported twice")
)

// chain drives a real sqlstate DB block by block.
type chain struct {
	t   *testing.T
	db  *sqlstate.DB
	env *module.Env
}

func newChain(t *testing.T, e *approval.Engine) *chain {
	ctx := context.Background()
	db, err := sqlstate.Open(ctx, filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &chain{t: t, db: db, env: &module.Env{Ctx: ctx, DB: db}}
	c.begin()
	ddl := append(e.Tables.Schema(), `CREATE TABLE powers (key TEXT PRIMARY KEY, power INTEGER NOT NULL) STRICT, WITHOUT ROWID`)
	if err := db.Migrate(ctx, ddl...); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *chain) begin() {
	if err := c.db.BeginBlock(c.env.Ctx); err != nil {
		c.t.Fatal(err)
	}
}

// next commits the block and opens the next height.
func (c *chain) next() {
	if err := c.db.Commit(c.env.Ctx); err != nil {
		c.t.Fatal(err)
	}
	c.env.Height++
	c.begin()
}

func (c *chain) exec(q string, args ...any) {
	if _, err := c.db.ExecContext(c.env.Ctx, q, args...); err != nil {
		c.t.Fatal(err)
	}
}

// The engine as the chain-grant drivers will use it: validators report an
// observation (subject: its hash); identical reports from 2/3 of current
// power apply it once, anything else expires. Approvals are counted at
// current power, at every vote and again at the end of every block.
func TestObservations(t *testing.T) {
	e := &approval.Engine{
		Tables: approval.Tables{Requests: "obs_requests", Approvals: "obs_approvals", Subject: "digest"},
		Power:  powers{},
		Errors: approval.Errors{NotFound: errNotFound, Expired: errExpired, Decided: errDecided, Duplicate: errDuplicate},
		Noun:   "observation",
	}
	c := newChain(t, e)
	twoThirds := approval.Fraction{Numerator: 2, Denominator: 3}
	var applied, expired []string
	apply := func(env *module.Env, r approval.Request) (string, error) {
		applied = append(applied, r.Subject)
		return approval.StatusApproved, nil
	}
	onExpired := func(env *module.Env, r approval.Request) error {
		expired = append(expired, r.Subject)
		return nil
	}
	report := func(who, digest string) error {
		return e.VoteOrPropose(c.env, "observe", digest, who, 3, twoThirds, apply)
	}
	endBlock := func() {
		if err := e.EndBlock(c.env, twoThirds, apply, onExpired); err != nil {
			t.Fatal(err)
		}
		c.next()
	}
	c.exec(`INSERT INTO powers VALUES ('a', 10), ('b', 10), ('c', 10)`)
	endBlock() // height 0 → 1

	// Height 1: a reports X, b reports Y; a reports X again.
	for _, err := range []error{report("a", "X"), report("b", "Y")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := report("a", "X"); !errors.Is(err, errDuplicate) {
		t.Fatalf("second report: %v", err)
	}
	endBlock()
	// Height 2: b reports X: 20 of 30 applies it, once.
	if err := report("b", "X"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, []string{"X"}) {
		t.Fatalf("applied %v", applied)
	}
	if err := e.Vote(c.env, "observe", "X", "c", twoThirds, apply); !errors.Is(err, errDecided) {
		t.Fatalf("vote on a decided observation: %v", err)
	}
	if err := e.Vote(c.env, "observe", "W", "c", twoThirds, apply); !errors.Is(err, errNotFound) {
		t.Fatalf("vote on nothing: %v", err)
	}
	endBlock()
	// Height 3: Y (opened at 1, open until 3) expires at the end of 3.
	endBlock()
	if !slices.Equal(expired, []string{"Y"}) {
		t.Fatalf("expired %v", expired)
	}
	if err := e.Vote(c.env, "observe", "Y", "c", twoThirds, apply); !errors.Is(err, errExpired) {
		t.Fatalf("vote on an expired observation: %v", err)
	}
	// Height 4: c's power grows to 30: a and b (20 of 50) do not apply Z;
	// when c leaves, the end of the block counts again: 20 of 20.
	c.exec(`UPDATE powers SET power = 30 WHERE key = 'c'`)
	for _, who := range []string{"a", "b"} {
		if err := report(who, "Z"); err != nil {
			t.Fatal(err)
		}
	}
	if len(applied) != 1 {
		t.Fatalf("20 of 50 applied Z: %v", applied)
	}
	ls, total, err := e.List(c.env.Ctx, c.db, false)
	if err != nil || total != 50 || len(ls) != 1 || ls[0].Subject != "Z" || ls[0].ApprovedPower != 20 ||
		!slices.Equal(ls[0].Approvals, []string{"a", "b"}) {
		t.Fatalf("pending: %+v total %d %v", ls, total, err)
	}
	c.exec(`DELETE FROM powers WHERE key = 'c'`)
	endBlock()
	if !slices.Equal(applied, []string{"X", "Z"}) {
		t.Fatalf("applied %v after the set shrank", applied)
	}
	ls, _, err = e.List(c.env.Ctx, c.db, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, l.Subject+" "+l.Status)
	}
	if want := []string{"X approved", "Y expired", "Z approved"}; !slices.Equal(got, want) {
		t.Fatalf("all: %v, want %v", got, want)
	}
}
