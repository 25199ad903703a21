package lightclient_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/readproof/prooftest"
)

// TestReaderSignedHeaders runs the Reader with the real light client over a
// real validator, binding bundles to headers end to end. The rows come from
// a commitment trie built here, so its app hash is in no honest header: a
// proxy serves the chain with that app hash in header H+1, re-signed with the
// validator's key (what a corrupt validator set could do). The tests then
// show which side catches what: the proof catches a lying gateway over any
// header, the witnesses catch the forged header, and honest headers refuse
// the invented state.
func TestReaderSignedHeaders(t *testing.T) {
	n := startNode(t, 100*time.Millisecond)
	h := n.waitHeight(t, 3) + 3 // the bundle's height, still in the future
	s, err := prooftest.New(h, sha256.Sum256([]byte("prev")), readerRows())
	if err != nil {
		t.Fatal(err)
	}
	forged := newProxy(t, n, &forgery{From: h + 1, AppHash: s.AppHash[:], Resign: true})
	honest := newProxy(t, n, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := lightclient.ReaderOptions{WaitTimeout: 30 * time.Second, PollInterval: 20 * time.Millisecond,
		Logger: lcLogger(t)}
	aliceColor := ckey(t, "kv", "alice", "color")
	alice := ckey(t, "kv", "alice")

	client := func(t *testing.T, primary string, witnesses ...string) *lightclient.Client {
		c, err := lightclient.New(ctx, n.config(t, 2, primary, witnesses...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("rows bound to a signed header, after waiting for it", func(t *testing.T) {
		r := lightclient.NewReader(honestGateway(t, s, nil), client(t, forged.URL(), forged.URL()), opts)
		got, err := r.Get(ctx, aliceColor)
		if err != nil {
			t.Fatal(err)
		}
		if got.Header.Height != h+1 || !bytes.Equal(got.Header.AppHash, s.AppHash[:]) || len(got.Rows) != 1 {
			t.Fatalf("read %+v against header %d %X", got, got.Header.Height, got.Header.AppHash)
		}
		rng, err := r.Range(ctx, alice)
		if err != nil || len(rng.Rows) != 2 {
			t.Fatalf("range %+v, %v", rng, err)
		}
	})

	t.Run("lying gateway over a signed header", func(t *testing.T) {
		gw := honestGateway(t, s, func(b *readproof.Bundle) {
			b.Rows[0].Row, _ = commitment.EncodeRow([]any{"alice", "color", "green"})
		})
		_, err := lightclient.NewReader(gw, client(t, forged.URL(), forged.URL()), opts).Get(ctx, aliceColor)
		t.Log(err)
		if !errors.Is(err, readproof.ErrProof) || !errors.Is(err, commitment.ErrRootMismatch) {
			t.Fatalf("err = %v, want ErrProof/ErrRootMismatch", err)
		}
	})

	t.Run("forged header caught by an honest witness", func(t *testing.T) {
		_, err := lightclient.NewReader(honestGateway(t, s, nil), client(t, forged.URL(), honest.URL()), opts).Get(ctx, aliceColor)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrFork) {
			t.Fatalf("err = %v, want ErrFork", err)
		}
	})

	t.Run("honest headers refuse an invented state", func(t *testing.T) {
		_, err := lightclient.NewReader(honestGateway(t, s, nil), client(t, honest.URL(), honest.URL()), opts).Get(ctx, aliceColor)
		t.Log(err)
		if !errors.Is(err, readproof.ErrAppHashMismatch) {
			t.Fatalf("err = %v, want ErrAppHashMismatch", err)
		}
	})

	t.Run("stale once the chain moved on", func(t *testing.T) {
		n.waitHeight(t, h+4)
		lag := opts
		lag.MaxLag = 2
		_, err := lightclient.NewReader(honestGateway(t, s, nil), client(t, forged.URL(), forged.URL()), lag).Get(ctx, aliceColor)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrStale) {
			t.Fatalf("err = %v, want ErrStale", err)
		}
	})
}
