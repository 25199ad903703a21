package listener_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/observation"
)

// tablePoller serves observations from a table, a cursor being the index
// of the next row. It stands in for node/driverhost, which runs the real
// Wasm drivers (built on the drivers-guest branch); the listener only sees
// the Poller interface.
type tablePoller struct {
	rows  []observation.Grant
	calls int
}

func (p *tablePoller) Poll(_ context.Context, cursor []byte) ([]observation.Grant, []byte, error) {
	p.calls++
	from := 0
	if len(cursor) == 8 {
		from = int(binary.BigEndian.Uint64(cursor))
	}
	return p.rows[from:], binary.BigEndian.AppendUint64(nil, uint64(len(p.rows))), nil
}

type recorder struct {
	batches [][][]byte
	fail    error
}

func (r *recorder) Attest(_ context.Context, encs [][]byte) error {
	if r.fail != nil {
		return r.fail
	}
	r.batches = append(r.batches, encs)
	return nil
}

func grant(block uint64) observation.Grant {
	return observation.Grant{Kind: observation.Added, Chain: "eip155:1", Contract: "0xc0ffee", Owner: "0xaa", Grantee: "0xbb",
		DataID: "d", LockedUntil: "0", BlockNumber: block, BlockHash: fmt.Sprintf("0x%x", block), TxRef: "0x1:0"}
}

// TestCursor: observations are submitted in batches and the cursor saved
// only after they were; a failed submission leaves the cursor, so the next
// round (or a restarted listener on the same directory) submits them
// again; a restarted listener does not resubmit what it already sent.
func TestCursor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := &tablePoller{rows: []observation.Grant{grant(1), grant(2), grant(3)}}
	src := listener.Source{Chain: "eip155:1", Contract: "0xc0ffee", Poller: p}
	rec := &recorder{fail: errors.New("mempool full")}
	l := &listener.Listener{Sources: []listener.Source{src}, Submit: rec, Dir: dir, MaxBatch: 2}
	if err := l.Step(ctx); err == nil {
		t.Fatal("a failed submission reported no error")
	}
	if c, _ := l.Cursor(src); c != nil {
		t.Fatalf("cursor saved after a failed submission: %x", c)
	}
	rec.fail = nil
	if err := l.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 2 || len(rec.batches[0]) != 2 || len(rec.batches[1]) != 1 {
		t.Fatalf("batches %d", len(rec.batches))
	}
	want, _ := grant(3).Encode()
	if string(rec.batches[1][0]) != string(want) {
		t.Fatal("the last batch is not the third observation's encoding")
	}
	// A new listener on the same directory (a restart) continues.
	p.rows = append(p.rows, grant(4))
	rec2 := &recorder{}
	l2 := &listener.Listener{Sources: []listener.Source{src}, Submit: rec2, Dir: dir}
	if err := l2.Step(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ = grant(4).Encode()
	if len(rec2.batches) != 1 || len(rec2.batches[0]) != 1 || string(rec2.batches[0][0]) != string(want) {
		t.Fatalf("after restart: %d batches", len(rec2.batches))
	}
	// A driver reporting another chain's observation, or an invalid one,
	// is refused and the cursor stays.
	bad := grant(5)
	bad.Chain = "eip155:2"
	p.rows = append(p.rows, bad)
	before, _ := l2.Cursor(src)
	if err := l2.Step(ctx); !errors.Is(err, observation.ErrInvalid) {
		t.Fatalf("foreign observation: %v", err)
	}
	if after, _ := l2.Cursor(src); string(after) != string(before) {
		t.Fatal("the cursor moved past a refused observation")
	}
}

// TestSkipAndStatus: a source with a Skip reason is not polled and keeps
// no cursor; the status file records each source's cursor, attested count,
// skip reason and last error.
func TestSkipAndStatus(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	polled := &tablePoller{rows: []observation.Grant{grant(1), grant(2)}}
	skipped := &tablePoller{rows: []observation.Grant{grant(3)}}
	rec := &recorder{}
	l := &listener.Listener{Submit: rec, Dir: dir, Sources: []listener.Source{
		{Chain: "eip155:1", Contract: "0xc0ffee", Poller: polled},
		{Chain: "eip155:2", Contract: "0xc0ffee", Poller: skipped, Skip: "no endpoints"},
	}}
	if _, err := listener.ReadStatus(dir); !errors.Is(err, listener.ErrNoStatus) {
		t.Fatalf("status before a round: %v", err)
	}
	if err := l.Step(ctx); err != nil {
		t.Fatal(err)
	}
	rec.fail = errors.New("mempool full")
	polled.rows = append(polled.rows, grant(4))
	if err := l.Step(ctx); err == nil {
		t.Fatal("a failed submission was not reported")
	}
	st, err := listener.ReadStatus(dir)
	if err != nil || len(st.Chains) != 2 {
		t.Fatalf("status %+v %v", st, err)
	}
	a, b := st.Chains[0], st.Chains[1]
	if a.Skip != "" || a.Attested != 2 || a.Cursor != "\x00\x00\x00\x00\x00\x00\x00\x02" || !strings.Contains(a.LastError, "mempool full") ||
		a.LastPoll.Before(a.LastSuccess) || a.LastSuccess.IsZero() {
		t.Errorf("polled source %+v", a)
	}
	if b.Skip != "no endpoints" || skipped.calls != 0 || b.Cursor != "" || !b.LastPoll.IsZero() {
		t.Errorf("skipped source %+v, %d polls", b, skipped.calls)
	}
}
