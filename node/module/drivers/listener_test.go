package drivers_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/observation"
)

// chainTable serves a chain's observations from a table, the cursor being
// the index of the next row. It stands in for node/driverhost's Wasm
// drivers (the drivers-guest branch); each validator has its own, so a
// validator's endpoint can differ from the others'.
type chainTable struct{ rows []observation.Grant }

func (c *chainTable) Poll(_ context.Context, cursor []byte) ([]observation.Grant, []byte, error) {
	from := 0
	if len(cursor) == 8 {
		from = int(binary.BigEndian.Uint64(cursor))
	}
	return c.rows[from:], binary.BigEndian.AppendUint64(nil, uint64(len(c.rows))), nil
}

// mempool collects the attestations validators submit, as signed
// transactions for the next block.
type mempool struct {
	by    *party
	steps *[]step
}

func (m mempool) Attest(_ context.Context, encs [][]byte) error {
	*m.steps = append(*m.steps, attest(m.by, nil, encs...))
	return nil
}

// TestListeners: each validator's listener polls its own view of the
// chain and submits through the mempool; validator 4's endpoint lies.
// The grant three of them saw applies; the lie never does; a deletion
// seen later by the honest three removes the grant.
func TestListeners(t *testing.T) {
	w := newWorld(t, 2)
	n, v := w.n, w.vals
	honest := &chainTable{rows: []observation.Grant{w.grant(observation.Added, 100)}}
	lie := w.grant(observation.Added, 100)
	lie.Grantee = lower(w.owner.sender.Identifier) // a grant to someone else
	liar := &chainTable{rows: []observation.Grant{lie}}
	var pool []step
	var ls []*listener.Listener
	for i := 1; i <= 4; i++ {
		src := honest
		if i == 4 {
			src = liar
		}
		ls = append(ls, &listener.Listener{Dir: t.TempDir(), Submit: mempool{v[i], &pool},
			Sources: []listener.Source{{Chain: evmChain, Contract: evmContract, Poller: src}}})
	}
	round := func() {
		t.Helper()
		for _, l := range ls {
			if err := l.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		n.block(pool...)
		pool = nil
	}
	round()
	if code := n.readCredential(w.grantee); code != app.CodeOK {
		t.Fatalf("grantee cannot read after the listeners' round: code %d", code)
	}
	// Nothing new: the listeners submit nothing.
	round()
	if n.height != 4 {
		t.Fatalf("height %d", n.height)
	}
	honest.rows = append(honest.rows, w.grant(observation.Deleted, 150))
	round()
	if code := n.readCredential(w.grantee); code != app.CodeForbidden {
		t.Fatalf("grant not deleted: code %d", code)
	}
	for range expiry {
		round()
	}
	if s := n.status(drivers.Digest(encode(t, lie))); s != expiredGone {
		t.Fatalf("the liar's observation: %q, want expired", s)
	}
	var left int
	for _, p := range n.pending() {
		if p.Status == "pending" {
			left++
		}
	}
	if left != 0 {
		t.Fatalf("%d observations still pending after expiry", left)
	}
}
