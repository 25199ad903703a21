package gateway_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/gateway"
	"github.com/idos-network/idos-node/node/gateway/gwclient"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/wire"
)

const chainID = "idos-gateway-test"

// testModule has private queries for the gateway tests, independent of the
// idos module: who the caller is (with a read of committed kv state), a
// forbidden read, and a read that refuses its data.
func testModule() module.Module {
	return module.Module{
		Name: "gwtest",
		PrivateQueries: map[string]module.PrivateQuery{
			"gwtest.whoami": func(ctx context.Context, snap *sql.Tx, caller module.Sender, data []byte) (any, error) {
				var n int64
				err := snap.QueryRowContext(ctx, `SELECT count(*) FROM kv WHERE owner = ?`, caller.AccountID()).Scan(&n)
				return map[string]any{"account": caller.AccountID(), "kv_entries": n, "data": json.RawMessage(data)}, err
			},
			"gwtest.secret": func(context.Context, *sql.Tx, module.Sender, []byte) (any, error) {
				return nil, fmt.Errorf("%w: not yours", module.ErrForbidden)
			},
			"gwtest.strict": func(_ context.Context, _ *sql.Tx, _ module.Sender, data []byte) (any, error) {
				var v struct {
					N int `json:"n"`
				}
				dec := json.NewDecoder(bytes.NewReader(data))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&v); err != nil {
					return nil, fmt.Errorf("%w: %v", module.ErrInvalidPayload, err)
				}
				return v, nil
			},
		},
	}
}

// fakeClock is time.Now plus an offset the test advances to expire
// challenges without sleeping.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

type testNode struct {
	r     *runner.Running
	c     *gwclient.Client
	url   string
	clock *fakeClock
}

func startNode(t testing.TB) *testNode {
	t.Helper()
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 2)
	if err := home.Init(dir, home.Options{
		ChainID:           chainID,
		P2PListenAddr:     "127.0.0.1:" + strconv.Itoa(base),
		RPCListenAddr:     "127.0.0.1:" + strconv.Itoa(base+1),
		GatewayListenAddr: "127.0.0.1:0",
		TimeoutCommit:     100 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clock := &fakeClock{}
	r, err := runner.StartWithOptions(ctx, h, testnet.Logger(t), runner.Options{
		Modules: append(composition.Modules(), testModule()),
		Gateway: func(c *gateway.Config) { c.Now = clock.Now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	// Queries answer not_ready until the first block commits.
	for {
		st, err := r.Client().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.SyncInfo.LatestBlockHeight >= 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no block committed")
		case <-time.After(50 * time.Millisecond):
		}
	}
	nk, err := h.NodeKey()
	if err != nil {
		t.Fatal(err)
	}
	c := gwclient.New(r.GatewayURL(), nil)
	c.NodeID = string(nk.ID())
	return &testNode{r: r, c: c, url: r.GatewayURL(), clock: clock}
}

func edSigner(seed byte) auth.Signer {
	return auth.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)))
}

// wantErr checks that err is a gateway error with status and code.
func wantErr(t *testing.T, err error, status int, code string) *gwclient.Error {
	t.Helper()
	var e *gwclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want gateway error %d %s", err, status, code)
	}
	if e.Status != status || e.Code != code || e.Message == "" {
		t.Fatalf("error %d %q %q, want %d %s", e.Status, e.Code, e.Message, status, code)
	}
	return e
}

// rawCall sends body as is and returns the status and the error code
// (empty for a success).
func rawCall(t *testing.T, method, url, contentType string, body io.Reader) (int, wire.ErrorBody, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb wire.ErrorBody
	if resp.StatusCode >= 300 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: content type %q", method, url, ct)
		}
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			t.Errorf("%s %s: error body %q (%v)", method, url, data, err)
		}
	}
	return resp.StatusCode, eb, resp.Header
}

func TestEndToEnd(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	signer := edSigner(7)
	acct := client.NewAccount(signer, chainID)
	owner := auth.SchemeEd25519 + ":" + hex.EncodeToString(signer.SignerID())

	put := func(key string) []byte {
		t.Helper()
		raw, err := acct.Build("kv.put", kv.PutPayload{Key: key, Value: "v-" + key})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	raws := map[wire.Mode][]byte{}
	hashes := map[wire.Mode]string{}

	t.Run("submit", func(t *testing.T) {
		// Nonces 0, 1, 2 back to back: CheckTx counts pending ones.
		for _, mode := range []wire.Mode{wire.ModeSync, wire.ModeAsync, wire.ModeCommit} {
			raws[mode] = put(string(mode))
			res, err := n.c.Submit(ctx, raws[mode], mode)
			if err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			want := sha256Hex(raws[mode])
			if res.Hash != want || res.Code != 0 || res.Codespace != wire.Codespace {
				t.Errorf("%s: %+v, want hash %s code 0", mode, res, want)
			}
			if (mode == wire.ModeCommit) != (res.Height > 0) {
				t.Errorf("%s: height %d", mode, res.Height)
			}
			hashes[mode] = res.Hash
		}
		// The same bytes again: in CometBFT's cache.
		_, err := n.c.Submit(ctx, raws[wire.ModeSync], wire.ModeSync)
		if e := wantErr(t, err, http.StatusConflict, wire.ErrTxInCache); e.Hash != hashes[wire.ModeSync] {
			t.Errorf("409 hash %q", e.Hash)
		}
		// A nonce far ahead: CheckTx refuses with BadNonce.
		ahead := client.NewAccount(signer, chainID)
		ahead.Nonce = 100
		raw, err := ahead.Build("kv.put", kv.PutPayload{Key: "x", Value: "y"})
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []wire.Mode{wire.ModeSync, wire.ModeCommit} {
			_, err = n.c.Submit(ctx, raw, mode)
			e := wantErr(t, err, http.StatusUnprocessableEntity, wire.ErrTxRejected)
			if e.ABCICode != wire.CodeBadNonce || e.Codespace != wire.Codespace {
				t.Errorf("%s: rejection %+v", mode, e)
			}
		}
		// Not a transaction at all.
		_, err = n.c.Submit(ctx, []byte("garbage"), wire.ModeSync)
		if e := wantErr(t, err, http.StatusUnprocessableEntity, wire.ErrTxRejected); e.ABCICode != wire.CodeMalformed {
			t.Errorf("garbage: %+v", e)
		}
		_, err = n.c.Submit(ctx, raw, "later")
		wantErr(t, err, http.StatusBadRequest, wire.ErrBadRequest)
	})

	t.Run("lookup", func(t *testing.T) {
		for _, mode := range []wire.Mode{wire.ModeCommit, wire.ModeSync, wire.ModeAsync} {
			var res *wire.TxResponse
			for {
				var err error
				res, err = n.c.Tx(ctx, hashes[mode])
				if err == nil {
					break
				}
				wantErr(t, err, http.StatusNotFound, wire.ErrTxNotFound)
				select {
				case <-ctx.Done():
					t.Fatalf("%s: never committed", mode)
				case <-time.After(50 * time.Millisecond):
				}
			}
			if res.Hash != hashes[mode] || res.Height < 1 || res.Code != 0 || res.Tx != b64(raws[mode]) {
				t.Errorf("%s: %+v", mode, res)
			}
		}
		// Upper case and 0x prefix name the same transaction.
		if _, err := n.c.Tx(ctx, "0x"+strings.ToUpper(hashes[wire.ModeCommit])); err != nil {
			t.Error(err)
		}
		_, err := n.c.Tx(ctx, strings.Repeat("ab", 32))
		wantErr(t, err, http.StatusNotFound, wire.ErrTxNotFound)
		_, err = n.c.Tx(ctx, "abc")
		wantErr(t, err, http.StatusBadRequest, wire.ErrBadRequest)
	})

	t.Run("query", func(t *testing.T) {
		res, err := n.c.Query(ctx, "kv.get", kv.GetRequest{Owner: owner, Key: "commit"})
		if err != nil {
			t.Fatal(err)
		}
		var e kv.Entry
		if err := json.Unmarshal(res.Value, &e); err != nil || e.Value != "v-commit" || res.Height < 1 {
			t.Errorf("kv.get: %s at %d (%v)", res.Value, res.Height, err)
		}
		res, err = n.c.Query(ctx, "account", wire.AccountQuery{ID: owner})
		if err != nil {
			t.Fatal(err)
		}
		var ai app.AccountInfo
		if err := json.Unmarshal(res.Value, &ai); err != nil || ai.ID != owner || ai.NextNonce != 3 {
			t.Errorf("account: %s (%v)", res.Value, err)
		}
		if res, err = n.c.Query(ctx, "validators.list", nil); err != nil || !bytes.Contains(res.Value, []byte(`"validators"`)) {
			t.Errorf("validators.list: %v %v", res, err)
		}
		_, err = n.c.Query(ctx, "kv.get", kv.GetRequest{Owner: owner, Key: "missing"})
		if e := wantErr(t, err, http.StatusUnprocessableEntity, wire.ErrQueryFailed); e.ABCICode != wire.CodeActionFailed {
			t.Errorf("missing: %+v", e)
		}
		_, err = n.c.Query(ctx, "kv.nope", map[string]any{})
		wantErr(t, err, http.StatusNotFound, wire.ErrUnknownQuery)
		_, err = n.c.Query(ctx, "Bad..Name", nil)
		wantErr(t, err, http.StatusNotFound, wire.ErrUnknownQuery)
		_, err = n.c.Query(ctx, "kv.get", []byte(`{"owner":`))
		if err == nil {
			t.Error("truncated JSON accepted")
		}
	})

	t.Run("private", func(t *testing.T) {
		res, err := n.c.Private(ctx, "gwtest.whoami", signer, map[string]int{"x": 1})
		if err != nil {
			t.Fatal(err)
		}
		var who struct {
			Account   string          `json:"account"`
			KVEntries int             `json:"kv_entries"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(res.Value, &who); err != nil || who.Account != owner || who.KVEntries != 3 ||
			string(who.Data) != `{"x":1}` || res.Height < 1 {
			t.Errorf("whoami: %s (%v)", res.Value, err)
		}
		key, err := ethcrypto.ToECDSA(bytes.Repeat([]byte{9}, 32))
		if err != nil {
			t.Fatal(err)
		}
		eth := auth.NewEIP191Signer(key)
		res, err = n.c.Private(ctx, "gwtest.whoami", eth, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantID := "eip191:" + ethcrypto.PubkeyToAddress(key.PublicKey).Hex()
		if err := json.Unmarshal(res.Value, &who); err != nil || who.Account != wantID || string(who.Data) != "{}" {
			t.Errorf("eip191 whoami: %s (%v)", res.Value, err)
		}
		_, err = n.c.Private(ctx, "gwtest.secret", signer, nil)
		if e := wantErr(t, err, http.StatusForbidden, wire.ErrForbidden); e.ABCICode != wire.CodeForbidden {
			t.Errorf("secret: %+v", e)
		}
		_, err = n.c.Private(ctx, "gwtest.strict", signer, map[string]any{"m": 1})
		wantErr(t, err, http.StatusUnprocessableEntity, wire.ErrQueryFailed)
		_, err = n.c.Private(ctx, "gwtest.nope", signer, nil)
		wantErr(t, err, http.StatusNotFound, wire.ErrUnknownQuery)
		// A real module's private query, when the node has it: a caller
		// without a linked user is not found (code 7, so 422).
		if slices.Contains(n.r.App().PrivateQueries(), "idos.get_user") {
			_, err = n.c.Private(ctx, "idos.get_user", signer, nil)
			if e := wantErr(t, err, http.StatusUnprocessableEntity, wire.ErrQueryFailed); e.ABCICode != wire.CodeActionFailed {
				t.Errorf("idos.get_user: %+v", e)
			}
		}
	})

	t.Run("challenge", func(t *testing.T) {
		privURL := n.url + "/v1/private/gwtest.whoami"
		signed := func(ch *wire.ChallengeResponse, s auth.Signer, msg string) []byte {
			sig, err := s.Sign([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(wire.PrivateRequest{Auth: wire.PrivateAuth{
				Challenge: ch.Challenge, Scheme: s.Scheme(),
				Signer: hex.EncodeToString(s.SignerID()), Signature: hex.EncodeToString(sig),
			}})
			return b
		}
		post := func(body []byte) (int, string) {
			st, eb, _ := rawCall(t, http.MethodPost, privURL, "application/json", bytes.NewReader(body))
			return st, eb.Error.Code
		}
		newChallenge := func() *wire.ChallengeResponse {
			ch, err := n.c.Challenge(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}

		ch := newChallenge()
		exp, err := time.Parse(time.RFC3339, ch.ExpiresAt)
		if err != nil || len(ch.Challenge) != 64 ||
			ch.Message != wire.ChallengeMessage(n.c.NodeID, ch.Challenge, exp) ||
			!strings.HasPrefix(ch.Message, "idOS read authentication\nNode: "+n.c.NodeID+"\nChallenge: "+ch.Challenge+"\nExpires: ") {
			t.Fatalf("challenge %+v (%v)", ch, err)
		}
		if d := time.Until(exp); d < time.Minute || d > 2*time.Minute+time.Second {
			t.Errorf("challenge expires in %s, want about 2m", d)
		}
		body := signed(ch, signer, ch.Message)
		if st, code := post(body); st != http.StatusOK {
			t.Fatalf("first use: %d %s", st, code)
		}
		if st, code := post(body); st != http.StatusUnauthorized || code != wire.ErrChallengeInvalid {
			t.Errorf("reuse: %d %s", st, code)
		}

		// Signed by someone else than the signer it names.
		ch = newChallenge()
		b := signed(ch, edSigner(8), ch.Message)
		var pr wire.PrivateRequest
		_ = json.Unmarshal(b, &pr)
		pr.Auth.Signer = hex.EncodeToString(signer.SignerID())
		b, _ = json.Marshal(pr)
		if st, code := post(b); st != http.StatusUnauthorized || code != wire.ErrBadSignature {
			t.Errorf("wrong signer: %d %s", st, code)
		}
		// The challenge was consumed by the failed attempt.
		if st, code := post(signed(ch, signer, ch.Message)); st != http.StatusUnauthorized || code != wire.ErrChallengeInvalid {
			t.Errorf("after bad signature: %d %s", st, code)
		}
		// Signature over another text.
		ch = newChallenge()
		if st, code := post(signed(ch, signer, ch.Message+"\n")); st != http.StatusUnauthorized || code != wire.ErrBadSignature {
			t.Errorf("other text: %d %s", st, code)
		}
		// Expired.
		ch = newChallenge()
		n.clock.Advance(3 * time.Minute)
		if st, code := post(signed(ch, signer, ch.Message)); st != http.StatusUnauthorized || code != wire.ErrChallengeInvalid {
			t.Errorf("expired: %d %s", st, code)
		}
		// Never issued.
		ch.Challenge = strings.Repeat("00", 32)
		if st, code := post(signed(ch, signer, ch.Message)); st != http.StatusUnauthorized || code != wire.ErrChallengeInvalid {
			t.Errorf("unknown: %d %s", st, code)
		}
		// Unknown scheme.
		ch = newChallenge()
		_ = json.Unmarshal(signed(ch, signer, ch.Message), &pr)
		pr.Auth.Scheme = "rsa"
		b, _ = json.Marshal(pr)
		if st, code := post(b); st != http.StatusBadRequest || code != wire.ErrUnknownScheme {
			t.Errorf("unknown scheme: %d %s", st, code)
		}
	})

	t.Run("robustness", func(t *testing.T) {
		big := `{"tx":"` + strings.Repeat("A", wire.MaxBodyBytes) + `"}`
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			code                     string
		}{
			{"malformed JSON", "POST", "/v1/tx", `{"tx":`, 400, wire.ErrBadRequest},
			{"not JSON", "POST", "/v1/tx", `tx=abc`, 400, wire.ErrBadRequest},
			{"empty body", "POST", "/v1/tx", ``, 400, wire.ErrBadRequest},
			{"trailing data", "POST", "/v1/tx", `{"tx":"AA=="} {}`, 400, wire.ErrBadRequest},
			{"unknown field", "POST", "/v1/tx", `{"tx":"AA==","fee":1}`, 400, wire.ErrBadRequest},
			{"wrong type", "POST", "/v1/tx", `{"tx":42}`, 400, wire.ErrBadRequest},
			{"wrong type top", "POST", "/v1/tx", `["tx"]`, 400, wire.ErrBadRequest},
			{"bad base64", "POST", "/v1/tx", `{"tx":"%%%"}`, 400, wire.ErrBadRequest},
			{"empty tx", "POST", "/v1/tx", `{"tx":""}`, 400, wire.ErrBadRequest},
			{"oversized", "POST", "/v1/tx", big, 413, wire.ErrBodyTooLarge},
			{"oversized query", "POST", "/v1/query/kv.get", big, 413, wire.ErrBodyTooLarge},
			{"private unknown field", "POST", "/v1/private/gwtest.whoami", `{"auth":{"challenge":"","scheme":"","signer":"","signature":"","extra":1}}`, 400, wire.ErrBadRequest},
			{"private wrong type", "POST", "/v1/private/gwtest.whoami", `{"auth":"me"}`, 400, wire.ErrBadRequest},
			{"private bad hex", "POST", "/v1/private/gwtest.whoami", `{"auth":{"challenge":"zz","scheme":"ed25519","signer":"00","signature":"00"}}`, 400, wire.ErrBadRequest},
			{"challenge with fields", "POST", "/v1/auth/challenge", `{"ttl":5}`, 400, wire.ErrBadRequest},
			{"account wrong type", "POST", "/v1/query/account", `{"id":5}`, 400, wire.ErrBadRequest},
			{"unknown route", "GET", "/v1/nope", ``, 404, wire.ErrNotFound},
			{"nested unknown route", "GET", "/v1/tx/ab/cd", ``, 404, wire.ErrNotFound},
			{"empty param", "POST", "/v1/query/", `{}`, 404, wire.ErrNotFound},
			{"wrong method tx", "GET", "/v1/tx", ``, 405, wire.ErrMethodNotAllowed},
			{"wrong method lookup", "POST", "/v1/tx/" + strings.Repeat("ab", 32), `{}`, 405, wire.ErrMethodNotAllowed},
			{"wrong method query", "GET", "/v1/query/kv.get", ``, 405, wire.ErrMethodNotAllowed},
			{"wrong method metrics", "POST", "/metrics", ``, 405, wire.ErrMethodNotAllowed},
		} {
			st, eb, hdr := rawCall(t, tc.method, n.url+tc.path, "application/json", strings.NewReader(tc.body))
			if st != tc.status || eb.Error.Code != tc.code {
				t.Errorf("%s: %d %q (%s), want %d %s", tc.name, st, eb.Error.Code, eb.Error.Message, tc.status, tc.code)
			}
			if st == http.StatusMethodNotAllowed && hdr.Get("Allow") == "" {
				t.Errorf("%s: no Allow header", tc.name)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get(n.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text := string(data)
		for _, want := range []string{
			`idos_gateway_requests_total{route="/v1/tx",status="200"}`,
			`idos_gateway_requests_total{route="/v1/tx/{hash}",status="404"}`,
			`idos_gateway_requests_total{route="unmatched",status="404"}`,
			`idos_gateway_request_duration_seconds_bucket{route="/v1/private/{name}",status="200",le=`,
			`idos_gateway_tx_submissions_total{mode="commit",result="0"} 1`,
			`idos_gateway_tx_submissions_total{mode="async",result="accepted"} 1`,
			`idos_gateway_tx_submissions_total{mode="sync",result="tx_in_cache"} 1`,
			`idos_gateway_tx_submissions_total{mode="sync",result="5"} 1`,
			`idos_gateway_challenges_outstanding`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// BenchmarkPrivateRead measures a private read round trip: challenge, sign
// (ed25519), verify and query, over HTTP against a real node.
func BenchmarkPrivateRead(b *testing.B) {
	n := startNode(b)
	ctx := context.Background()
	signer := edSigner(3)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := n.c.Private(ctx, "gwtest.whoami", signer, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func sha256Hex(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
