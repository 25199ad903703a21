package lightclient_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/gateway"
	"github.com/idos-network/idos-node/node/gateway/gwclient"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/readproof"
)

// editingGateway is a lying node's gateway: it forwards to the real one
// and edits every bundle it passes on.
func editingGateway(t *testing.T, upstream string, edit func(*readproof.Bundle)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(upstream + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			var b readproof.Bundle
			if err := json.Unmarshal(body, &b); err != nil {
				t.Errorf("upstream bundle: %v", err)
			}
			edit(&b)
			body, _ = json.Marshal(&b)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// kvWriter is an ed25519 account (from seed) writing kv entries to n in
// committed transactions.
func kvWriter(ctx context.Context, t *testing.T, n *testNode, seed byte) (string, *gwclient.Client, func(key, value string)) {
	signer := auth.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)))
	acct := client.NewAccount(signer, n.chainID)
	gw := gwclient.New(n.r.GatewayURL(), nil)
	return auth.SchemeEd25519 + ":" + hex.EncodeToString(signer.SignerID()), gw, func(key, value string) {
		t.Helper()
		raw, err := acct.Build("kv.put", kv.PutPayload{Key: key, Value: value})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := gw.Submit(ctx, raw, gateway.ModeCommit); err != nil || res.Code != 0 {
			t.Fatalf("kv.put %s: %+v, %v", key, res, err)
		}
	}
}

// honestClient is a light client of n trusting its header 1, through an
// honest RPC proxy as primary and witness.
func honestClient(ctx context.Context, t *testing.T, n *testNode) *lightclient.Client {
	honest := newProxy(t, n, nil)
	c, err := lightclient.New(ctx, n.config(t, 1, honest.URL(), honest.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLyingNode reads kv rows written by transactions through the node's
// own GET /v1/proof, verified against headers of the real chain (app hash
// v2, with the state root), and then through a gateway that lies about
// them.
func TestLyingNode(t *testing.T) {
	n := startNode(t, 100*time.Millisecond)
	n.waitHeight(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	owner, gw, put := kvWriter(ctx, t, n, 9)
	put("color", "blue")
	put("size", "L")
	color := ckey(t, "kv", owner, "color")
	mine := ckey(t, "kv", owner)

	c := honestClient(ctx, t, n)
	opts := lightclient.ReaderOptions{WaitTimeout: 30 * time.Second, PollInterval: 20 * time.Millisecond,
		Logger: lcLogger(t)}

	t.Run("honest node", func(t *testing.T) {
		r := lightclient.NewReader(n.r.GatewayURL(), c, opts)
		got, err := r.Get(ctx, color)
		if err != nil {
			t.Fatal(err)
		}
		if want := []any{owner, "color", "blue"}; got.Kind != readproof.KindRow || !reflect.DeepEqual(got.Rows[0].Values, want) {
			t.Fatalf("row %+v, want values %v", got, want)
		}
		got, err = r.Get(ctx, ckey(t, "kv", owner, "shape"))
		if err != nil || got.Kind != readproof.KindAbsent {
			t.Fatalf("absent: %+v, %v", got, err)
		}
		got, err = r.Range(ctx, mine)
		if err != nil || len(got.Rows) != 2 {
			t.Fatalf("range: %+v, %v", got, err)
		}
	})

	// A bundle kept from an earlier height, for replays and mixed fields;
	// the row changes after it, so its root is not the current one.
	var (
		mu  sync.Mutex
		old *readproof.Bundle
	)
	first, err := gw.Proof(ctx, color, nil)
	if err != nil {
		t.Fatal(err)
	}
	old = first
	put("color", "red")
	n.waitHeight(t, first.Height+3)

	lies := []struct {
		name  string
		read  func(*lightclient.Reader) (*lightclient.Read, error)
		edit  func(*readproof.Bundle)
		maxLg int64
		wants []error
	}{
		{"altered row", func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, color) },
			func(b *readproof.Bundle) { b.Rows[0].Row, _ = commitment.EncodeRow([]any{owner, "color", "green"}) },
			0, []error{readproof.ErrProof, commitment.ErrRootMismatch}},
		{"dropped row from a range", func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Range(ctx, mine) },
			func(b *readproof.Bundle) { b.Rows = b.Rows[:1] },
			0, []error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"added row to a range", func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Range(ctx, mine) },
			func(b *readproof.Bundle) {
				row, _ := commitment.EncodeRow([]any{owner, "zzz", "forged"})
				b.Rows = append(b.Rows, readproof.Row{Key: ckey(t, "kv", owner, "zzz"), Row: row})
			},
			0, []error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"present row claimed absent", func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, color) },
			func(b *readproof.Bundle) { b.Kind, b.Rows = readproof.KindAbsent, nil },
			0, []error{readproof.ErrProof}},
		{"state root of another height", func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, color) },
			func(b *readproof.Bundle) {
				mu.Lock()
				defer mu.Unlock()
				b.StateRoot = old.StateRoot
				b.Rows, b.Proof = old.Rows, old.Proof
			},
			0, []error{readproof.ErrAppHashMismatch}},
		{"prev app hash of another height", func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, color) },
			func(b *readproof.Bundle) {
				mu.Lock()
				defer mu.Unlock()
				b.PrevAppHash = old.PrevAppHash
			},
			0, []error{readproof.ErrAppHashMismatch}},
		{"replay of an old bundle", func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, color) },
			func(b *readproof.Bundle) {
				mu.Lock()
				defer mu.Unlock()
				*b = *old
			},
			2, []error{lightclient.ErrStale}},
	}
	for i, l := range lies {
		t.Run(l.name, func(t *testing.T) {
			o := opts
			o.MaxLag = l.maxLg
			r := lightclient.NewReader(editingGateway(t, n.r.GatewayURL(), l.edit), c, o)
			got, err := l.read(r)
			t.Log(err)
			if err == nil {
				t.Fatalf("case %d: accepted %+v", i, got)
			}
			for _, w := range l.wants {
				if !errors.Is(err, w) {
					t.Errorf("case %d: %v\n  does not wrap %v", i, err, w)
				}
			}
		})
	}
}

// TestPagedRanges pages through a real node's range two rows a page, and
// refuses pages that do not chain to the complete range.
func TestPagedRanges(t *testing.T) {
	n := startNode(t, 100*time.Millisecond)
	n.waitHeight(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	owner, _, put := kvWriter(ctx, t, n, 7)
	keys := []string{"a", "b", "c", "d", "e", "f", "g"}
	for _, k := range keys {
		put(k, "v-"+k)
	}
	prefix := ckey(t, "kv", owner)
	c := honestClient(ctx, t, n)
	opts := lightclient.ReaderOptions{WaitTimeout: 30 * time.Second, PollInterval: 20 * time.Millisecond,
		Logger: lcLogger(t), PageRows: 2}

	got, err := lightclient.NewReader(n.r.GatewayURL(), c, opts).Range(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != len(keys) {
		t.Fatalf("%d rows over pages, want %d", len(got.Rows), len(keys))
	}
	for i, r := range got.Rows {
		if r.Values[1] != keys[i] {
			t.Fatalf("row %d: %v", i, r.Values)
		}
	}
	third := ckey(t, "kv", owner, "c")
	for i, l := range []struct {
		name  string
		edit  func(r *http.Request)
		after func(*readproof.Bundle)
		want  error
	}{
		{"a page with a row dropped", nil, func(b *readproof.Bundle) {
			if b.After != nil {
				b.Rows = b.Rows[:1] // the repeated row only: the new one dropped
			}
		}, commitment.ErrIncomplete},
		{"a middle page passed off as the first", func(r *http.Request) {
			q := r.URL.Query()
			if q.Get("after") == "" {
				q.Set("after", hex.EncodeToString(third))
				r.URL.RawQuery = q.Encode()
			}
		}, func(b *readproof.Bundle) {
			if bytes.Equal(b.After, third) {
				b.After = nil
			}
		}, commitment.ErrIncomplete},
		{"a page skipped", func(r *http.Request) {
			q := r.URL.Query()
			if q.Get("after") != "" {
				q.Set("after", hex.EncodeToString(ckey(t, "kv", owner, "e")))
				r.URL.RawQuery = q.Encode()
			}
		}, nil, readproof.ErrWrongAnswer},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if l.edit != nil {
				l.edit(r)
			}
			resp, err := http.Get(n.r.GatewayURL() + r.URL.RequestURI())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode == http.StatusOK && l.after != nil {
				var b readproof.Bundle
				if err := json.Unmarshal(body, &b); err != nil {
					t.Errorf("upstream: %v", err)
				}
				l.after(&b)
				body, _ = json.Marshal(&b)
			}
			w.WriteHeader(resp.StatusCode)
			w.Write(body)
		}))
		_, err := lightclient.NewReader(srv.URL, c, opts).Range(ctx, prefix)
		srv.Close()
		t.Logf("%s: %v", l.name, err)
		if !errors.Is(err, l.want) {
			t.Errorf("case %d (%s): %v, want %v", i, l.name, err, l.want)
		}
	}
}
