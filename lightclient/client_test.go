package lightclient_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/lightclient"
)

// TestClient runs CometBFT's light client, through this package, against a
// real in-process validator: honest sync from a trusted height and hash,
// the trusted store across restarts, and providers that lie.
func TestClient(t *testing.T) {
	n := startNode(t, 50*time.Millisecond)
	n.waitHeight(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Every provider goes through a proxy, so that evidence CometBFT sends
	// never reaches the node.
	honest := newProxy(t, n, nil)

	open := func(t *testing.T, cfg lightclient.Config) *lightclient.Client { return openClient(ctx, t, cfg) }

	t.Run("sync, verify and resume from the store", func(t *testing.T) {
		cfg := n.config(t, 2, honest.URL(), honest.URL())
		c := open(t, cfg)
		var calls [][2]int64
		sh, err := c.Sync(ctx, func(h, target int64) { calls = append(calls, [2]int64{h, target}) })
		if err != nil {
			t.Fatal(err)
		}
		if sh.Height < 4 || !bytes.Equal(sh.Hash(), n.header(t, sh.Height).Hash()) {
			t.Fatalf("synced header %d %X is not the node's", sh.Height, sh.Hash())
		}
		if len(calls) != 2 || calls[0][0] != 2 || calls[0][1] < 4 || calls[1] != [2]int64{sh.Height, sh.Height} {
			t.Fatalf("progress calls %v, want (2, target) then (%d, %d)", calls, sh.Height, sh.Height)
		}
		// A height between the trusted and the latest one.
		mid, err := c.VerifiedHeader(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mid.Hash(), n.header(t, 3).Hash()) {
			t.Fatalf("header 3 %X is not the node's", mid.Hash())
		}
		// A height the chain has not reached.
		if _, err := c.VerifiedHeader(ctx, sh.Height+100000); !errors.Is(err, lightclient.ErrNoHeader) {
			t.Fatalf("far future header: %v, want ErrNoHeader", err)
		}
		latest, err := c.LatestHeight()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}

		// Resume: no trust options, the store is the root of trust.
		cfg.TrustHeight, cfg.TrustHash = 0, nil
		c2 := open(t, cfg)
		if h, err := c2.LatestHeight(); err != nil || h != latest {
			t.Fatalf("resumed at %d (%v), want %d", h, err, latest)
		}
		n.waitHeight(t, latest+1)
		sh2, err := c2.Sync(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sh2.Height <= latest {
			t.Fatalf("resumed client synced to %d, not beyond %d", sh2.Height, latest)
		}
	})

	t.Run("wrong trusted hash", func(t *testing.T) {
		cfg := n.config(t, 2, honest.URL(), honest.URL())
		cfg.TrustHash = n.header(t, 3).Hash()
		_, err := lightclient.New(ctx, cfg)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrTrustMismatch) {
			t.Fatalf("err = %v, want ErrTrustMismatch", err)
		}
	})

	t.Run("no root of trust", func(t *testing.T) {
		cfg := n.config(t, 2, honest.URL(), honest.URL())
		cfg.TrustHeight, cfg.TrustHash = 0, nil
		_, err := lightclient.New(ctx, cfg)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrNoTrust) {
			t.Fatalf("err = %v, want ErrNoTrust", err)
		}
	})

	// forkAbove returns a forgery starting just above the current height,
	// and waits until the chain is past it, so a sync meets it.
	forkAbove := func(t *testing.T, resign bool) *forgery {
		from := n.waitHeight(t, 1) + 1
		n.waitHeight(t, from+1)
		fake := sha256.Sum256([]byte(t.Name()))
		return &forgery{From: from, AppHash: fake[:], Resign: resign}
	}

	t.Run("witness alters a header", func(t *testing.T) {
		liar := newProxy(t, n, forkAbove(t, false))
		c := open(t, n.config(t, 2, honest.URL(), liar.URL()))
		_, err := c.Sync(ctx, nil)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrNoWitness) || !errors.Is(err, lightclient.ErrBadProvider) {
			t.Fatalf("err = %v, want ErrNoWitness and ErrBadProvider", err)
		}
		if !strings.Contains(err.Error(), "witness 0 ("+liar.URL()) {
			t.Fatalf("error does not name the lying witness: %v", err)
		}
	})

	t.Run("one witness of two alters a header", func(t *testing.T) {
		liar := newProxy(t, n, forkAbove(t, false))
		c := open(t, n.config(t, 2, honest.URL(), liar.URL(), honest.URL()))
		sh, err := c.Sync(ctx, nil)
		if err != nil {
			t.Fatalf("an honest witness confirmed the header, yet: %v", err)
		}
		if !bytes.Equal(sh.Hash(), n.header(t, sh.Height).Hash()) {
			t.Fatal("synced a header that is not the node's")
		}
		m := c.Misbehavior()
		if len(m) == 0 || !strings.HasPrefix(m[0].Provider, "witness 0 (") {
			t.Fatalf("misbehaviour %v does not name witness 0", m)
		}
	})

	t.Run("primary alters a header", func(t *testing.T) {
		liar := newProxy(t, n, forkAbove(t, false))
		c := open(t, n.config(t, 2, liar.URL(), honest.URL()))
		_, err := c.Sync(ctx, nil)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrBadProvider) {
			t.Fatalf("err = %v, want ErrBadProvider", err)
		}
		if !strings.Contains(err.Error(), "primary ("+liar.URL()) {
			t.Fatalf("error does not name the lying primary: %v", err)
		}
	})

	t.Run("witness serves a validly signed fork", func(t *testing.T) {
		liar := newProxy(t, n, forkAbove(t, true))
		c := open(t, n.config(t, 2, honest.URL(), liar.URL()))
		_, err := c.Sync(ctx, nil)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrFork) {
			t.Fatalf("err = %v, want ErrFork", err)
		}
		if liar.evidence() == 0 && honest.evidence() == 0 {
			t.Error("no evidence of the attack was sent")
		}
	})

	t.Run("primary serves a validly signed fork", func(t *testing.T) {
		liar := newProxy(t, n, forkAbove(t, true))
		c := open(t, n.config(t, 2, liar.URL(), honest.URL()))
		_, err := c.Sync(ctx, nil)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrFork) {
			t.Fatalf("err = %v, want ErrFork", err)
		}
	})

	t.Run("primary and witness serve the same signed fork", func(t *testing.T) {
		// What a corrupt validator set could do: nothing to compare with,
		// so the light client accepts. This is the limit of light client
		// security, and it shows the forgery above is well formed: the
		// fork tests fail for the fork, not for a malformed header.
		f := forkAbove(t, true)
		liar := newProxy(t, n, f)
		c := open(t, n.config(t, 2, liar.URL(), liar.URL()))
		sh, err := c.Sync(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		fh, err := c.VerifiedHeader(ctx, f.From)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fh.AppHash, f.AppHash) || sh.Height <= f.From {
			t.Fatalf("header %d app hash %X, want the forged %X", fh.Height, fh.AppHash, f.AppHash)
		}
	})
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	d, err := lightclient.DefaultDir("idos-devnet")
	if err != nil || d != "/home/u/.idoslight/trust/idos-devnet" {
		t.Fatalf("DefaultDir = %q, %v", d, err)
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := lightclient.DefaultDir(bad); err == nil {
			t.Errorf("DefaultDir(%q) accepted", bad)
		}
	}
}
