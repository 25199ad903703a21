package drivers_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/valclient"
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

// appRPC is the node's RPC over the test's app instances: queries go to
// the first, a committed broadcast is a block of its own on all of them.
type appRPC struct{ n *net }

func (r appRPC) ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error) {
	res, err := r.n.apps[0].Query(ctx, &abci.RequestQuery{Path: path, Data: data})
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultABCIQuery{Response: *res}, nil
}

func (r appRPC) BroadcastTxCommit(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTxCommit, error) {
	chk, err := r.n.apps[0].CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
	if err != nil {
		return nil, err
	}
	out := &ctypes.ResultBroadcastTxCommit{CheckTx: *chk, Hash: tx.Hash()}
	if chk.Code != app.CodeOK {
		return out, nil
	}
	out.TxResult = *r.n.blockRaw(tx)[0]
	out.Height = r.n.height
	return out, nil
}

func (r appRPC) BroadcastTxSync(context.Context, types.Tx) (*ctypes.ResultBroadcastTx, error) {
	return nil, errors.New("not used: the listener waits for commit")
}

func (r appRPC) Validators(context.Context, *int64, *int, *int) (*ctypes.ResultValidators, error) {
	return nil, errors.New("not used")
}

// TestValSubmitter: listeners submit with their validator keys through
// valclient (nonce read from the node, broadcast and wait for commit)
// into the app; the grant three of them saw applies. A non-validator's
// listener is refused with NotValidator and keeps its cursor.
func TestValSubmitter(t *testing.T) {
	w := newWorld(t, 2)
	n := w.n
	table := &chainTable{rows: []observation.Grant{w.grant(observation.Added, 100)}}
	vc := valclient.New(appRPC{n}, chainID)
	vc.Wait = true
	src := []listener.Source{{Chain: evmChain, Contract: evmContract, Poller: table}}
	for _, i := range []int{9, 1, 2, 3} {
		l := &listener.Listener{Dir: t.TempDir(), Submit: listener.ValSubmitter{Client: vc, Key: valKey(i)}, Sources: src}
		err := l.Step(context.Background())
		if i == 9 {
			if rej, ok := valclient.IsRejected(err); !ok || rej.Code != module.CodeNotValidator {
				t.Fatalf("a non-validator's attestation: %v, want code %d", err, module.CodeNotValidator)
			}
			if c, _ := l.Cursor(src[0]); c != nil {
				t.Fatal("a refused attestation advanced the cursor")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if code := n.readCredential(w.grantee); code != app.CodeOK {
		t.Fatalf("grantee cannot read: code %d", code)
	}
	l, _, err := vc.DriverPending(context.Background(), true)
	if err != nil || len(l) != 1 || l[0].Status != "approved" || len(l[0].Attesters) != 0 {
		t.Fatalf("proposals %+v %v", l, err)
	}
}
