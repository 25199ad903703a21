package lightclient_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/gateway/gwclient"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/wire"
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
		raw, err := acct.Build("kv.put", wire.KVPutPayload{Key: key, Value: value})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := gw.Submit(ctx, raw, wire.ModeCommit); err != nil || res.Code != 0 {
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

// TestLyingProviders puts header providers that fail, stall, flood, drip
// or freeze in front of a real node: every refusal names the provider and
// carries its class, a stalling primary is replaced by a witness, and a
// frozen primary cannot hold the client at an old state.
func TestLyingProviders(t *testing.T) {
	n := startNode(t, 100*time.Millisecond)
	n.waitHeight(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	honest := newProxy(t, n, nil)
	config := func(t *testing.T, primary string, witnesses ...string) lightclient.Config {
		cfg := n.config(t, 1, primary, witnesses...)
		cfg.RequestTimeout = time.Second
		cfg.MaxResponseBytes = 1 << 20
		return cfg
	}
	open := func(t *testing.T, cfg lightclient.Config) *lightclient.Client { return openClient(ctx, t, cfg) }
	named := func(t *testing.T, err error, who string) {
		t.Helper()
		var pe *lightclient.ProviderError
		if !errors.Is(err, lightclient.ErrProvider) || !errors.As(err, &pe) || pe.Provider != who {
			t.Fatalf("err = %v\n  want ErrProvider naming %s", err, who)
		}
	}

	// Before the fix, each of these was "no witness confirmed the header
	// ... no witnesses connected", without the primary's name, and a
	// stall took 55 s per request.
	for i, lie := range []testnet.Lie{testnet.HTTP500, testnet.BadJSON, testnet.Huge, testnet.Drip, testnet.Stall} {
		t.Run("primary "+string(lie), func(t *testing.T) {
			liar := testnet.NewLyingRPC(t, n.rpc)
			c := open(t, config(t, liar.URL, honest.URL()))
			liar.Set(lie)
			start := time.Now()
			_, err := c.Sync(ctx, nil)
			t.Log(err)
			named(t, err, "primary ("+liar.URL+")")
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("case %d: refused after %s, want about the 1 s request timeout", i, took)
			}
			if lie == testnet.Huge {
				// Socket buffers let the liar write a few MB more than
				// the client reads; unbounded, it was gigabytes.
				if !errors.Is(err, lightclient.ErrResponseTooLarge) || liar.Served() > 32<<20 {
					t.Errorf("err = %v after %d bytes served, want ErrResponseTooLarge after about 1 MiB", err, liar.Served())
				}
			}
		})
	}

	t.Run("stalling primary, failover to a witness", func(t *testing.T) {
		liar := testnet.NewLyingRPC(t, n.rpc)
		c := open(t, config(t, liar.URL, honest.URL(), honest.URL()))
		liar.Set(testnet.Stall)
		start := time.Now()
		sh, err := c.Sync(ctx, nil)
		if err != nil {
			t.Fatalf("two honest witnesses answered, yet: %v", err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("synced after %s, want about the 1 s request timeout", took)
		}
		if !bytes.Equal(sh.Hash(), n.header(t, sh.Height).Hash()) {
			t.Fatal("synced a header that is not the node's")
		}
		if m := c.Misbehavior(); len(m) == 0 || m[0].Provider != "primary ("+liar.URL+")" || !m[0].Transport {
			t.Fatalf("misbehaviour %v does not name the primary", m)
		}
	})

	// frozen waits until the header at the node's current height is older
	// than age, with the liar frozen there.
	frozen := func(t *testing.T, liar *testnet.LyingRPC, age time.Duration) int64 {
		f := n.waitHeight(t, 1)
		liar.SetFreeze(f)
		for time.Since(n.header(t, f).Time) <= age {
			time.Sleep(100 * time.Millisecond)
		}
		return f
	}

	t.Run("frozen primary, one witness", func(t *testing.T) {
		liar := testnet.NewLyingRPC(t, n.rpc)
		cfg := config(t, liar.URL, honest.URL())
		cfg.MaxHeaderAge = 2 * time.Second
		c := open(t, cfg)
		f := frozen(t, liar, cfg.MaxHeaderAge)
		_, err := c.Sync(ctx, nil)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrStaleHeader) || !errors.Is(err, lightclient.ErrStale) {
			t.Fatalf("err = %v, want ErrStaleHeader", err)
		}
		if want := fmt.Sprintf("primary (%s) at height %d", liar.URL, f); !strings.Contains(err.Error(), want) {
			t.Fatalf("error does not name the laggard (%q): %v", want, err)
		}
	})

	t.Run("frozen primary, two witnesses", func(t *testing.T) {
		liar := testnet.NewLyingRPC(t, n.rpc)
		cfg := config(t, liar.URL, honest.URL(), honest.URL())
		cfg.MaxHeaderAge = 2 * time.Second
		c := open(t, cfg)
		f := frozen(t, liar, cfg.MaxHeaderAge)
		sh, err := c.Sync(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sh.Height <= f || !bytes.Equal(sh.Hash(), n.header(t, sh.Height).Hash()) {
			t.Fatalf("synced to %d, want the node's header above the frozen %d", sh.Height, f)
		}
	})

	t.Run("unreachable witness", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		_, err := lightclient.New(ctx, config(t, honest.URL(), gone.URL))
		t.Log(err)
		if !errors.Is(err, lightclient.ErrWitnessDown) {
			t.Fatalf("err = %v, want ErrWitnessDown", err)
		}
		named(t, err, "witness 0 ("+gone.URL+")")

		cfg := config(t, honest.URL(), gone.URL)
		cfg.AllowWitnessDown = true
		c := open(t, cfg)
		_, err = c.Sync(ctx, nil)
		t.Log(err)
		if !errors.Is(err, lightclient.ErrNoWitness) {
			t.Fatalf("err = %v, want ErrNoWitness", err)
		}
		named(t, err, "witness 0 ("+gone.URL+")")
	})
}
