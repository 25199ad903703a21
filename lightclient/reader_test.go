package lightclient_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/readproof/prooftest"
	"github.com/idos-network/idos-node/node/wire"
)

// fakeChain stands in for the light client in tests of the Reader's own
// logic: headers "verified" at heights up to latest, each carrying the app
// hash a test gives it. With advance, every Sync sees one more block.
type fakeChain struct {
	mu       sync.Mutex
	latest   int64
	appHash  map[int64][]byte // by header height
	advance  bool
	syncs    int
	failWith error
}

func (f *fakeChain) header(h int64) *types.SignedHeader {
	return &types.SignedHeader{Header: &types.Header{Height: h, AppHash: f.appHash[h]}}
}

func (f *fakeChain) Sync(ctx context.Context, _ func(int64, int64)) (*types.SignedHeader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	if f.failWith != nil {
		return nil, f.failWith
	}
	if f.advance {
		f.latest++
	}
	return f.header(f.latest), nil
}

func (f *fakeChain) VerifiedHeader(ctx context.Context, h int64) (*types.SignedHeader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h > f.latest {
		return nil, fmt.Errorf("%w: %d", lightclient.ErrNoHeader, h)
	}
	return f.header(h), nil
}

func (f *fakeChain) syncCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

// fakeGateway serves GET /v1/proof from answer, which returns the HTTP
// status and the body (a bundle, or any JSON) for ?key= or ?prefix=.
func fakeGateway(t *testing.T, answer func(param string, key []byte) (int, any)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/proof" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		param := "key"
		if q.Has("prefix") {
			param = "prefix"
		}
		k, err := hex.DecodeString(q.Get(param))
		if err != nil {
			t.Errorf("gateway: bad hex %q", q.Get(param))
		}
		status, body := answer(param, k)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if s, ok := body.(string); ok {
			w.Write([]byte(s))
			return
		}
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func ckey(t testing.TB, table string, pk ...any) []byte {
	t.Helper()
	k, err := commitment.Key(table, pk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readerRows() []prooftest.Row {
	return []prooftest.Row{
		{Table: "kv", PK: []any{"alice", "color"}, Values: []any{"alice", "color", "blue"}},
		{Table: "kv", PK: []any{"alice", "size"}, Values: []any{"alice", "size", "L"}},
		{Table: "kv", PK: []any{"bob", "color"}, Values: []any{"bob", "color", "red"}},
	}
}

// honestGateway answers every question from s, the way the node does.
func honestGateway(t *testing.T, s *prooftest.State, edit func(*readproof.Bundle)) string {
	return fakeGateway(t, func(param string, k []byte) (int, any) {
		var b *readproof.Bundle
		var err error
		if param == "prefix" {
			b, err = s.Bundle(readproof.KindRange, k)
		} else {
			b, err = s.Answer(k)
		}
		if err != nil {
			t.Error(err)
			return 500, "{}"
		}
		if edit != nil {
			edit(b)
		}
		return 200, b
	})
}

func TestReader(t *testing.T) {
	genesis := sha256.Sum256([]byte("genesis"))
	s, err := prooftest.New(20, genesis, readerRows())
	if err != nil {
		t.Fatal(err)
	}
	other, err := prooftest.New(20, genesis, readerRows()[:2]) // a state the chain never had
	if err != nil {
		t.Fatal(err)
	}
	alice := ckey(t, "kv", "alice")
	aliceColor := ckey(t, "kv", "alice", "color")
	carolColor := ckey(t, "kv", "carol", "color")
	ctx := context.Background()
	// chain: header 21 carries app_hash(20) of s; latest verified is 21.
	chain := func(latest int64) *fakeChain {
		return &fakeChain{latest: latest, appHash: map[int64][]byte{21: s.AppHash[:]}}
	}
	quick := lightclient.ReaderOptions{WaitTimeout: 5 * time.Second, PollInterval: 10 * time.Millisecond}

	t.Run("honest answers", func(t *testing.T) {
		r := lightclient.NewReader(honestGateway(t, s, nil), chain(21), quick)
		got, err := r.Get(ctx, aliceColor)
		if err != nil {
			t.Fatal(err)
		}
		if got.Height != 20 || got.Kind != readproof.KindRow || got.Header.Height != 21 ||
			!reflect.DeepEqual(got.Rows, s.Truth(readproof.KindRow, aliceColor)) {
			t.Fatalf("row: %+v", got)
		}
		got, err = r.Get(ctx, carolColor)
		if err != nil || got.Kind != readproof.KindAbsent || len(got.Rows) != 0 {
			t.Fatalf("absent: %+v, %v", got, err)
		}
		got, err = r.Range(ctx, alice)
		if err != nil || len(got.Rows) != 2 || !reflect.DeepEqual(got.Rows, s.Truth(readproof.KindRange, alice)) {
			t.Fatalf("range: %+v, %v", got, err)
		}
	})

	t.Run("already fetched bundle (private table)", func(t *testing.T) {
		r := lightclient.NewReader("http://unused.invalid", chain(21), quick)
		b, err := s.Bundle(readproof.KindRange, alice)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Verify(ctx, readproof.KindRange, alice, b)
		if err != nil || len(got.Rows) != 2 {
			t.Fatalf("%+v, %v", got, err)
		}
	})

	// Lying gateways: each must be refused with the class that names the lie.
	lies := []struct {
		name  string
		gw    func(t *testing.T) string
		read  func(r *lightclient.Reader) (*lightclient.Read, error)
		wants []error
	}{
		{"altered row",
			func(t *testing.T) string {
				return honestGateway(t, s, func(b *readproof.Bundle) {
					b.Rows[0].Row, _ = commitment.EncodeRow([]any{"alice", "color", "green"})
				})
			},
			func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, aliceColor) },
			[]error{readproof.ErrProof, commitment.ErrRootMismatch}},
		{"dropped row from a range",
			func(t *testing.T) string {
				return honestGateway(t, s, func(b *readproof.Bundle) { b.Rows = b.Rows[1:] })
			},
			func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Range(ctx, alice) },
			[]error{readproof.ErrProof, commitment.ErrIncomplete}},
		{"present row claimed absent",
			func(t *testing.T) string {
				return honestGateway(t, s, func(b *readproof.Bundle) {
					b.Kind, b.Rows = readproof.KindAbsent, nil
				})
			},
			func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, aliceColor) },
			[]error{readproof.ErrProof}},
		{"a state the chain never had",
			func(t *testing.T) string { return honestGateway(t, other, nil) },
			func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Range(ctx, alice) },
			[]error{readproof.ErrAppHashMismatch}},
		{"answer about another key",
			func(t *testing.T) string {
				return honestGateway(t, s, func(b *readproof.Bundle) {
					nb, _ := s.Answer(ckey(t, "kv", "bob", "color"))
					*b = *nb
				})
			},
			func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, aliceColor) },
			[]error{readproof.ErrWrongAnswer}},
		{"range bundle for a key",
			func(t *testing.T) string {
				return honestGateway(t, s, func(b *readproof.Bundle) {
					nb, _ := s.Bundle(readproof.KindRange, b.Key)
					*b = *nb
				})
			},
			func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, aliceColor) },
			[]error{readproof.ErrWrongAnswer}},
		{"body that is not a bundle",
			func(t *testing.T) string {
				return fakeGateway(t, func(string, []byte) (int, any) { return 200, `{"height":"x"}` })
			},
			func(r *lightclient.Reader) (*lightclient.Read, error) { return r.Get(ctx, aliceColor) },
			[]error{lightclient.ErrGateway}},
	}
	for i, c := range lies {
		t.Run(c.name, func(t *testing.T) {
			gw := c.gw(t)
			r := lightclient.NewReader(gw, chain(21), quick)
			got, err := c.read(r)
			if err == nil {
				t.Fatalf("case %d: accepted %+v", i, got)
			}
			for _, w := range c.wants {
				if !errors.Is(err, w) {
					t.Errorf("case %d: %v\n  does not wrap %v", i, err, w)
				}
			}
			if !strings.Contains(err.Error(), gw) {
				t.Errorf("case %d: %v does not name the gateway", i, err)
			}
		})
	}

	t.Run("wrong answer refused without waiting for a header", func(t *testing.T) {
		ch := chain(20) // header 21 does not exist
		gw := honestGateway(t, s, func(b *readproof.Bundle) { b.Key = ckey(t, "kv", "bob", "color") })
		r := lightclient.NewReader(gw, ch, lightclient.ReaderOptions{WaitTimeout: time.Minute})
		start := time.Now()
		_, err := r.Get(ctx, aliceColor)
		if !errors.Is(err, readproof.ErrWrongAnswer) || ch.syncCount() != 0 || time.Since(start) > 5*time.Second {
			t.Fatalf("err %v after %d syncs and %s", err, ch.syncCount(), time.Since(start))
		}
	})

	t.Run("gateway error body", func(t *testing.T) {
		body := wire.ErrorBody{Error: wire.ErrorDetail{Code: wire.ErrBadRequest, Message: "key: not hex"}}
		gw := fakeGateway(t, func(string, []byte) (int, any) { return http.StatusBadRequest, body })
		_, err := lightclient.NewReader(gw, chain(21), quick).Get(ctx, aliceColor)
		var ge *lightclient.GatewayError
		if !errors.As(err, &ge) || !errors.Is(err, lightclient.ErrGateway) ||
			ge.Status != 400 || ge.Code != wire.ErrBadRequest || ge.Message != "key: not hex" {
			t.Fatalf("err = %#v", err)
		}
	})

	t.Run("gateway error without JSON", func(t *testing.T) {
		gw := fakeGateway(t, func(string, []byte) (int, any) { return http.StatusBadGateway, "upstream down" })
		_, err := lightclient.NewReader(gw, chain(21), quick).Get(ctx, aliceColor)
		var ge *lightclient.GatewayError
		if !errors.As(err, &ge) || ge.Status != 502 || ge.Code != "unknown" || ge.Message != "upstream down" {
			t.Fatalf("err = %#v", err)
		}
	})

	t.Run("stale bundle", func(t *testing.T) {
		ch := chain(31) // 11 blocks after the bundle's height 20
		r := lightclient.NewReader(honestGateway(t, s, nil), ch, quick)
		_, err := r.Get(ctx, aliceColor)
		if !errors.Is(err, lightclient.ErrStale) || !strings.Contains(err.Error(), "11 blocks behind") {
			t.Fatalf("err = %v, want ErrStale", err)
		}
		// 10 behind is still fresh, and a larger MaxLag accepts more.
		if _, err := lightclient.NewReader(honestGateway(t, s, nil), chain(30), quick).Get(ctx, aliceColor); err != nil {
			t.Fatalf("10 blocks behind: %v", err)
		}
		lax := quick
		lax.MaxLag = 11
		if _, err := lightclient.NewReader(honestGateway(t, s, nil), ch, lax).Get(ctx, aliceColor); err != nil {
			t.Fatalf("11 behind with MaxLag 11: %v", err)
		}
	})

	t.Run("waits for the next header", func(t *testing.T) {
		ch := chain(19)
		ch.advance = true // 20, then 21
		r := lightclient.NewReader(honestGateway(t, s, nil), ch, quick)
		got, err := r.Get(ctx, aliceColor)
		if err != nil || got.Header.Height != 21 || ch.syncCount() != 2 {
			t.Fatalf("%+v, %v after %d syncs", got, err, ch.syncCount())
		}
	})

	t.Run("next header never comes", func(t *testing.T) {
		opts := quick
		opts.WaitTimeout = 200 * time.Millisecond
		_, err := lightclient.NewReader(honestGateway(t, s, nil), chain(20), opts).Get(ctx, aliceColor)
		if !errors.Is(err, lightclient.ErrNoHeader) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrNoHeader", err)
		}
	})

	t.Run("header source fails", func(t *testing.T) {
		ch := chain(21)
		ch.failWith = fmt.Errorf("%w: test", lightclient.ErrFork)
		_, err := lightclient.NewReader(honestGateway(t, s, nil), ch, quick).Get(ctx, aliceColor)
		if !errors.Is(err, lightclient.ErrFork) {
			t.Fatalf("err = %v, want ErrFork", err)
		}
	})

	t.Run("header of the next height carries another app hash", func(t *testing.T) {
		ch := chain(21)
		next := apphash.Block(20, genesis, genesis, genesis)
		ch.appHash[21] = next[:]
		_, err := lightclient.NewReader(honestGateway(t, s, nil), ch, quick).Get(ctx, aliceColor)
		if !errors.Is(err, readproof.ErrAppHashMismatch) {
			t.Fatalf("err = %v, want ErrAppHashMismatch", err)
		}
	})
}
