// Package approval is the one approval engine of the chain: a proposal of
// some kind about a subject is opened, current validators approve it, and
// once the power of its approvers reaches a threshold of the current total
// power before the proposal expires, an effect is applied
// (docs/spec/approval.md).
//
// Its users are the validators module (join and removal requests), the
// plugins module (adding and removing signature plugins), the chain-grant
// drivers (driver activation and attested observations, whose subject is
// the hash of the observation) and the idos module (adding and removing
// inserters). Each user keeps its own two
// tables, named in Tables, so the state of each stays where it was; the SQL
// on them exists once, here.
//
// Rules, in one place:
//   - Power is the current validator set's, read through Power at the moment
//     of counting: an approval from a validator that has left counts 0.
//   - Reached: approved × denominator ≥ total × numerator, on integers; a
//     total of 0 never reaches.
//   - A proposal opened at height H can be approved at heights H … expires-1
//     (expires = H + expiry blocks); at the end of height expires-1 it
//     expires.
//   - Every query that returns several rows has a total ORDER BY.
package approval

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
)

// Fraction is an exact ratio; thresholds are compared with integer cross
// multiplication, never floats.
type Fraction struct {
	Numerator   int64 `json:"numerator"`
	Denominator int64 `json:"denominator"`
}

// MaxDenominator bounds a threshold's denominator, which keeps
// power × denominator far from int64 overflow for powers up to 2^40.
const MaxDenominator = 1000

// Check reports whether t is a valid threshold: in (0, 1] with a
// denominator of at most MaxDenominator.
func (t Fraction) Check() error {
	if t.Denominator < 1 || t.Denominator > MaxDenominator || t.Numerator < 1 || t.Numerator > t.Denominator {
		return fmt.Errorf("%d/%d must be in (0, 1] with denominator at most %d", t.Numerator, t.Denominator, MaxDenominator)
	}
	return nil
}

// Reached reports whether approved power is at least the share t of total
// power. A total of 0 (no validators) never reaches.
func (t Fraction) Reached(approved, total int64) bool {
	return total > 0 && approved*t.Denominator >= total*t.Numerator
}

// Querier is what power is read through: the block's writer (inside the
// block transaction) or a committed read snapshot.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Power is the current voting power, which approvals are counted with. The
// validators module implements it (validators.VotingPower).
type Power interface {
	// Of returns key's current power, 0 if key is not a validator.
	Of(ctx context.Context, q Querier, key string) (int64, error)
	// Total returns the current total power.
	Total(ctx context.Context, q Querier) (int64, error)
}

// Statuses of a proposal. A user may close a proposal with a status of its
// own (the validators module's "withdrawn").
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusExpired  = "expired"
)

// Tables names a user's two tables and the column of the subject.
type Tables struct {
	Requests  string // one row per (kind, subject): the latest proposal
	Approvals string // one row per (kind, subject, approver) of a pending proposal
	Subject   string // the subject column's name, 6 characters (schema layout)
}

// Schema returns the CREATE TABLE statements of the two tables. The text is
// hashed into the genesis app hash (the schema digest), so its layout is
// part of consensus: do not reformat it.
func (t Tables) Schema() []string {
	col := fmt.Sprintf("%-8s", t.Subject)
	return []string{
		`CREATE TABLE ` + t.Requests + ` (
		kind     TEXT NOT NULL,
		` + col + ` TEXT NOT NULL,
		proposer TEXT NOT NULL,
		created  INTEGER NOT NULL,
		expires  INTEGER NOT NULL,
		status   TEXT NOT NULL,
		decided  INTEGER NOT NULL,
		PRIMARY KEY (kind, ` + t.Subject + `)
	) STRICT, WITHOUT ROWID`,
		`CREATE TABLE ` + t.Approvals + ` (
		kind     TEXT NOT NULL,
		` + col + ` TEXT NOT NULL,
		approver TEXT NOT NULL,
		height   INTEGER NOT NULL,
		PRIMARY KEY (kind, ` + t.Subject + `, approver)
	) STRICT, WITHOUT ROWID`,
	}
}

// Errors are the user's sentinel errors for the engine's refusals; each is
// wrapped with detail.
type Errors struct {
	NotFound  error // no proposal of that kind and subject
	Expired   error // its window has closed
	Decided   error // it was decided already
	Duplicate error // the approver approved it already
}

// Engine runs proposals on one user's tables.
type Engine struct {
	Tables Tables
	Power  Power
	Errors Errors
	// Noun names a proposal in messages ("request", "proposal"); Quote
	// quotes subjects in them.
	Noun  string
	Quote bool
}

// Validator returns the sender's validator key: the sender must sign with
// an ed25519 key (else wrongScheme) that has current power (else
// notValidator). The plugins and drivers modules' proposals and
// approvals come from validators this way.
func (e *Engine) Validator(env *module.Env, wrongScheme, notValidator error) (string, error) {
	if env.Sender.Scheme != auth.SchemeEd25519 {
		return "", fmt.Errorf("%w; this transaction uses scheme %q", wrongScheme, env.Sender.Scheme)
	}
	key := env.Sender.Identifier
	if pw, err := e.Power.Of(env.Ctx, env.DB, key); err != nil {
		return "", err
	} else if pw == 0 {
		return "", fmt.Errorf("%w: %s", notValidator, key)
	}
	return key, nil
}

// Request is one proposal. Exists is false for a kind and subject never
// proposed.
type Request struct {
	Kind, Subject, Proposer, Status string
	Created, Expires, Decided       int64
	Exists                          bool
}

// Effect applies a proposal that reached the threshold and returns the
// status to close it with: StatusApproved, or a status of the user's own
// when the proposal no longer applies (it is closed, not applied). An
// error rolls back the whole action or halts the block.
type Effect func(env *module.Env, r Request) (status string, err error)

func (e *Engine) subject(s string) string {
	if e.Quote {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func (e *Engine) sql(stmt string) string {
	return strings.NewReplacer("{requests}", e.Tables.Requests, "{approvals}", e.Tables.Approvals,
		"{subject}", e.Tables.Subject).Replace(stmt)
}

// Load reads the proposal of kind about subject.
func (e *Engine) Load(env *module.Env, kind, subject string) (Request, error) {
	r := Request{Kind: kind, Subject: subject}
	err := env.DB.QueryRowContext(env.Ctx,
		e.sql(`SELECT proposer, created, expires, status, decided FROM {requests} WHERE kind = ? AND {subject} = ?`),
		kind, subject).Scan(&r.Proposer, &r.Created, &r.Expires, &r.Status, &r.Decided)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	r.Exists = err == nil
	return r, err
}

// Open starts a proposal open for expiry blocks, replacing a decided or
// expired one of the same kind and subject and dropping its approvals.
func (e *Engine) Open(env *module.Env, kind, subject, proposer string, expiry int64) error {
	if _, err := env.DB.ExecContext(env.Ctx, e.sql(`DELETE FROM {approvals} WHERE kind = ? AND {subject} = ?`), kind, subject); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx,
		e.sql(`INSERT INTO {requests} (kind, {subject}, proposer, created, expires, status, decided)
		 VALUES (?, ?, ?, ?, ?, 'pending', 0)
		 ON CONFLICT (kind, {subject}) DO UPDATE SET proposer = excluded.proposer, created = excluded.created,
		   expires = excluded.expires, status = 'pending', decided = 0`),
		kind, subject, proposer, env.Height, env.Height+expiry)
	return err
}

// Close records a decision (status, at this height) and drops the
// proposal's approvals.
func (e *Engine) Close(env *module.Env, kind, subject, status string) error {
	if _, err := env.DB.ExecContext(env.Ctx,
		e.sql(`UPDATE {requests} SET status = ?, decided = ? WHERE kind = ? AND {subject} = ?`),
		status, env.Height, kind, subject); err != nil {
		return err
	}
	_, err := env.DB.ExecContext(env.Ctx, e.sql(`DELETE FROM {approvals} WHERE kind = ? AND {subject} = ?`), kind, subject)
	return err
}

// CheckOpen returns an error unless r is pending and not yet expired:
// Errors.NotFound, Errors.Expired or Errors.Decided.
func (e *Engine) CheckOpen(env *module.Env, r Request) error {
	switch {
	case !r.Exists:
		return fmt.Errorf("%w: no %s %s for %s", e.Errors.NotFound, r.Kind, e.Noun, e.subject(r.Subject))
	case r.Status == StatusExpired || (r.Status == StatusPending && env.Height >= r.Expires):
		return fmt.Errorf("%w: the %s %s for %s expired at height %d", e.Errors.Expired, r.Kind, e.Noun, e.subject(r.Subject), r.Expires)
	case r.Status != StatusPending:
		return fmt.Errorf("%w: the %s %s for %s was %s at height %d", e.Errors.Decided, r.Kind, e.Noun, e.subject(r.Subject), r.Status, r.Decided)
	}
	return nil
}

// Approve records approver's approval of a pending proposal, refusing a
// second one (Errors.Duplicate). Callers check that the proposal is open
// and that the approver may approve.
func (e *Engine) Approve(env *module.Env, kind, subject, approver string) error {
	var n int64
	if err := env.DB.QueryRowContext(env.Ctx,
		e.sql(`SELECT count(*) FROM {approvals} WHERE kind = ? AND {subject} = ? AND approver = ?`),
		kind, subject, approver).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %s already approved the %s %s for %s", e.Errors.Duplicate, approver, kind, e.Noun, e.subject(subject))
	}
	_, err := env.DB.ExecContext(env.Ctx,
		e.sql(`INSERT INTO {approvals} (kind, {subject}, approver, height) VALUES (?, ?, ?, ?)`),
		kind, subject, approver, env.Height)
	return err
}

// Approvals returns the approvers of a proposal in order and the sum of
// their current power.
func (e *Engine) Approvals(ctx context.Context, q Querier, kind, subject string) ([]string, int64, error) {
	rows, err := q.QueryContext(ctx,
		e.sql(`SELECT approver FROM {approvals} WHERE kind = ? AND {subject} = ? ORDER BY approver`), kind, subject)
	if err != nil {
		return nil, 0, err
	}
	approvers := []string{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return nil, 0, err
		}
		approvers = append(approvers, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var sum int64
	for _, a := range approvers {
		p, err := e.Power.Of(ctx, q, a)
		if err != nil {
			return nil, 0, err
		}
		sum += p
	}
	return approvers, sum, nil
}

// Decide counts a pending proposal's approvals against the current total
// power and, if they reach t, applies it and closes it with the status
// apply returns. It reports whether the proposal was closed.
func (e *Engine) Decide(env *module.Env, kind, subject string, t Fraction, apply Effect) (bool, error) {
	_, approved, err := e.Approvals(env.Ctx, env.DB, kind, subject)
	if err != nil {
		return false, err
	}
	total, err := e.Power.Total(env.Ctx, env.DB)
	if err != nil || !t.Reached(approved, total) {
		return false, err
	}
	status, err := apply(env, Request{Kind: kind, Subject: subject})
	if err != nil {
		return false, err
	}
	return true, e.Close(env, kind, subject, status)
}

// Vote is an approval of an open proposal: it must be pending and not
// expired, the approver's approval is recorded, and the proposal is decided
// if it now reaches t.
func (e *Engine) Vote(env *module.Env, kind, subject, approver string, t Fraction, apply Effect) error {
	r, err := e.Load(env, kind, subject)
	if err != nil {
		return err
	}
	if err := e.CheckOpen(env, r); err != nil {
		return err
	}
	if err := e.Approve(env, kind, subject, approver); err != nil {
		return err
	}
	_, err = e.Decide(env, kind, subject, t, apply)
	return err
}

// Propose opens a proposal that counts as its proposer's approval, and
// decides it at once if that suffices.
func (e *Engine) Propose(env *module.Env, kind, subject, proposer string, expiry int64, t Fraction, apply Effect) error {
	if err := e.Open(env, kind, subject, proposer, expiry); err != nil {
		return err
	}
	if err := e.Approve(env, kind, subject, proposer); err != nil {
		return err
	}
	_, err := e.Decide(env, kind, subject, t, apply)
	return err
}

// VoteOrPropose approves the open proposal of kind about subject, or opens
// one with this vote if there is none open (none yet, decided or expired).
// Identical reports of an observation meet here.
func (e *Engine) VoteOrPropose(env *module.Env, kind, subject, voter string, expiry int64, t Fraction, apply Effect) error {
	r, err := e.Load(env, kind, subject)
	if err != nil {
		return err
	}
	if e.CheckOpen(env, r) != nil {
		return e.Propose(env, kind, subject, voter, expiry, t, apply)
	}
	if err := e.Approve(env, kind, subject, voter); err != nil {
		return err
	}
	_, err = e.Decide(env, kind, subject, t, apply)
	return err
}

// Pending lists the pending proposals in (kind, subject) order.
func (e *Engine) Pending(env *module.Env) ([]Request, error) {
	rows, err := env.DB.QueryContext(env.Ctx,
		e.sql(`SELECT kind, {subject}, expires FROM {requests} WHERE status = 'pending' ORDER BY kind, {subject}`))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r := Request{Status: StatusPending, Exists: true}
		if err := rows.Scan(&r.Kind, &r.Subject, &r.Expires); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EndBlock runs at the end of every block, over the pending proposals in
// (kind, subject) order: one whose window has closed (height + 1 ≥
// expires: no approval can arrive any more) is closed as expired and then
// handed to expired (nil: nothing more to do); every other one is counted
// again and decided if it now reaches t, because the set may have changed.
func (e *Engine) EndBlock(env *module.Env, t Fraction, apply Effect, expired func(*module.Env, Request) error) error {
	pending, err := e.Pending(env)
	if err != nil {
		return err
	}
	for _, r := range pending {
		if env.Height+1 >= r.Expires {
			if err := e.Close(env, r.Kind, r.Subject, StatusExpired); err != nil {
				return err
			}
			if expired != nil {
				if err := expired(env, r); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := e.Decide(env, r.Kind, r.Subject, t, apply); err != nil {
			return err
		}
	}
	return nil
}

// ListQuery is the data of a user's requests query: pending proposals by
// default, every proposal with All.
type ListQuery struct {
	All bool `json:"all"`
}

// Query answers a user's requests query (data: ListQuery) from a read
// snapshot with one row per proposal, made by row from the proposal and the
// current total power.
func Query[T any](ctx context.Context, q Querier, data []byte, e *Engine, row func(l Listed, total int64) T) ([]T, error) {
	var lq ListQuery
	if err := module.Decode(data, &lq); err != nil {
		return nil, err
	}
	ls, total, err := e.List(ctx, q, lq.All)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(ls))
	for _, l := range ls {
		out = append(out, row(l, total))
	}
	return out, nil
}

// Listed is a proposal as a query shows it.
type Listed struct {
	Request
	Approvals     []string
	ApprovedPower int64
}

// List returns the pending proposals (all: every proposal) in (kind,
// subject) order with their approvals counted at current power, and the
// current total power.
func (e *Engine) List(ctx context.Context, q Querier, all bool) ([]Listed, int64, error) {
	total, err := e.Power.Total(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	rows, err := q.QueryContext(ctx,
		e.sql(`SELECT kind, {subject}, proposer, created, expires, status, decided FROM {requests}
		 WHERE ? OR status = 'pending' ORDER BY kind, {subject}`), all)
	if err != nil {
		return nil, 0, err
	}
	out := []Listed{}
	for rows.Next() {
		l := Listed{Request: Request{Exists: true}}
		if err := rows.Scan(&l.Kind, &l.Subject, &l.Proposer, &l.Created, &l.Expires, &l.Status, &l.Decided); err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for i := range out {
		if out[i].Approvals, out[i].ApprovedPower, err = e.Approvals(ctx, q, out[i].Kind, out[i].Subject); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}
