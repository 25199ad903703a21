package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"github.com/cometbft/cometbft/mempool"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/wire"
)

// fakeNode answers with fixed results or errors; the real node paths are in
// e2e_test.go. These cover the branches a real node rarely takes.
type fakeNode struct {
	err      error
	check    abci.ResponseCheckTx
	commit   *coretypes.ResultBroadcastTxCommit
	query    abci.ResponseQuery
	panicMsg string
}

func (f *fakeNode) BroadcastTxAsync(context.Context, cmttypes.Tx) (*coretypes.ResultBroadcastTx, error) {
	return &coretypes.ResultBroadcastTx{}, f.err
}

func (f *fakeNode) BroadcastTxSync(context.Context, cmttypes.Tx) (*coretypes.ResultBroadcastTx, error) {
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	if f.err != nil {
		return nil, f.err
	}
	return &coretypes.ResultBroadcastTx{Code: f.check.Code, Log: f.check.Log, Codespace: f.check.Codespace}, nil
}

func (f *fakeNode) BroadcastTxCommit(context.Context, cmttypes.Tx) (*coretypes.ResultBroadcastTxCommit, error) {
	return f.commit, f.err
}

func (f *fakeNode) Tx(context.Context, []byte, bool) (*coretypes.ResultTx, error) {
	return nil, f.err
}

func (f *fakeNode) ABCIQuery(context.Context, string, cmtbytes.HexBytes) (*coretypes.ResultABCIQuery, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &coretypes.ResultABCIQuery{Response: f.query}, nil
}

func (f *fakeNode) ABCIQueryWithOptions(ctx context.Context, path string, data cmtbytes.HexBytes, _ rpcclient.ABCIQueryOptions) (*coretypes.ResultABCIQuery, error) {
	return f.ABCIQuery(ctx, path, data)
}

type fakeReader struct {
	res    app.ReadResult
	err    error
	caller module.Sender
	data   string
}

func (f *fakeReader) PrivateQuery(_ context.Context, _ string, caller module.Sender, data []byte, _ bool) (app.ReadResult, error) {
	f.caller, f.data = caller, string(data)
	return f.res, f.err
}

const testNodeID = "0123456789abcdef0123456789abcdef01234567"

func newTestServer(t *testing.T, node NodeClient, reader PrivateReader, adjust func(*Config)) *Server {
	t.Helper()
	cfg := Config{ListenAddr: "127.0.0.1:0", Status: failingStatus{}, Node: node, Reader: reader,
		Schemes: auth.DefaultRegistry(), NodeID: testNodeID}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func call(t *testing.T, s *Server, method, path, body string) (*httptest.ResponseRecorder, wire.ErrorBody) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	var eb wire.ErrorBody
	if rec.Code >= 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			t.Fatalf("%s %s: error body %q", method, path, rec.Body)
		}
	}
	return rec, eb
}

func TestSubmitErrorMapping(t *testing.T) {
	tx := `{"tx":"AQID","mode":"%s"}`
	for _, tc := range []struct {
		name   string
		node   *fakeNode
		mode   string
		status int
		code   string
	}{
		{"in cache (sync)", &fakeNode{err: mempool.ErrTxInCache}, "sync", 409, wire.ErrTxInCache},
		// BroadcastTxCommit flattens the error to text.
		{"in cache (commit)", &fakeNode{err: fmt.Errorf("error on broadcastTxCommit: %v", mempool.ErrTxInCache)}, "commit", 409, wire.ErrTxInCache},
		{"too large", &fakeNode{err: mempool.ErrTxTooLarge{Max: 1, Actual: 3}}, "async", 413, wire.ErrTxTooLarge},
		{"full", &fakeNode{err: mempool.ErrMempoolIsFull{}}, "sync", 503, wire.ErrMempoolFull},
		{"other", &fakeNode{err: errors.New("boom")}, "sync", 503, wire.ErrUnavailable},
		{"subscriptions", &fakeNode{err: errors.New("max_subscriptions_per_client 5 reached")}, "commit", 503, wire.ErrBusy},
		{"timeout", &fakeNode{err: errors.New("timed out waiting for tx to be included in a block"),
			commit: &coretypes.ResultBroadcastTxCommit{}}, "commit", 504, wire.ErrCommitTimeout},
		{"rejected", &fakeNode{check: abci.ResponseCheckTx{Code: wire.CodeBadNonce, Log: "nonce", Codespace: "idos"}}, "sync", 422, wire.ErrTxRejected},
		{"rejected (commit)", &fakeNode{commit: &coretypes.ResultBroadcastTxCommit{
			CheckTx: abci.ResponseCheckTx{Code: wire.CodeUnauthorized, Log: "sig"}}}, "commit", 422, wire.ErrTxRejected},
	} {
		s := newTestServer(t, tc.node, nil, nil)
		rec, eb := call(t, s, "POST", "/v1/tx", fmt.Sprintf(tx, tc.mode))
		if rec.Code != tc.status || eb.Error.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, rec.Code, eb.Error, tc.status, tc.code)
		}
		if eb.Error.Hash != "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81" {
			t.Errorf("%s: hash %q", tc.name, eb.Error.Hash)
		}
		if tc.code == wire.ErrTxRejected && (eb.Error.ABCICode == 0 || eb.Error.Codespace != "idos") {
			t.Errorf("%s: abci code %+v", tc.name, eb.Error)
		}
	}
	// A committed transaction whose action failed is final: 200 with its code.
	s := newTestServer(t, &fakeNode{commit: &coretypes.ResultBroadcastTxCommit{
		TxResult: abci.ExecTxResult{Code: wire.CodeActionFailed, Log: "bad payload", Codespace: "idos"}, Height: 9}}, nil, nil)
	rec, _ := call(t, s, "POST", "/v1/tx", fmt.Sprintf(tx, "commit"))
	var res wire.SubmitResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &res); rec.Code != 200 || err != nil || res.Code != 7 || res.Height != 9 {
		t.Errorf("failed action: %d %s", rec.Code, rec.Body)
	}
}

func TestCommitWaitersBounded(t *testing.T) {
	s := newTestServer(t, &fakeNode{}, nil, func(c *Config) { c.MaxCommitWaiters = 1 })
	s.commitSem <- struct{}{} // one commit wait in flight
	rec, eb := call(t, s, "POST", "/v1/tx", `{"tx":"AQID","mode":"commit"}`)
	if rec.Code != 503 || eb.Error.Code != wire.ErrBusy || rec.Header().Get("Retry-After") == "" {
		t.Errorf("%d %+v", rec.Code, eb.Error)
	}
}

func TestReadCodeMapping(t *testing.T) {
	for _, tc := range []struct {
		code   uint32
		status int
		err    string
	}{
		{wire.CodeUnknownAction, 404, wire.ErrUnknownQuery},
		{wire.CodeActionFailed, 422, wire.ErrQueryFailed},
		{wire.CodeNotReady, 503, wire.ErrNotReady},
		{wire.CodeForbidden, 403, wire.ErrForbidden},
		{42, 500, wire.ErrInternal},
	} {
		s := newTestServer(t, &fakeNode{query: abci.ResponseQuery{Code: tc.code, Log: "why", Codespace: "idos"}}, nil, nil)
		rec, eb := call(t, s, "POST", "/v1/query/kv.get", `{}`)
		if rec.Code != tc.status || eb.Error.Code != tc.err || (tc.code != 42 && eb.Error.ABCICode != tc.code) {
			t.Errorf("query code %d: %d %+v", tc.code, rec.Code, eb.Error)
		}
		r := &fakeReader{res: app.ReadResult{Code: tc.code, Log: "why"}}
		s = newTestServer(t, nil, r, nil)
		rec, eb = call(t, s, "POST", "/v1/private/x.y", signedBody(t, s, `{"a":1}`))
		if rec.Code != tc.status || eb.Error.Code != tc.err {
			t.Errorf("private code %d: %d %+v", tc.code, rec.Code, eb.Error)
		}
		if r.data != `{"a":1}` || r.caller.Scheme != auth.SchemeEd25519 || len(r.caller.Identifier) != 64 {
			t.Errorf("private code %d: reader got %+v %q", tc.code, r.caller, r.data)
		}
	}
	// The node failing is not the request's fault.
	s := newTestServer(t, nil, &fakeReader{err: errors.New("disk")}, nil)
	if rec, eb := call(t, s, "POST", "/v1/private/x.y", signedBody(t, s, "")); rec.Code != 500 || eb.Error.Code != wire.ErrInternal {
		t.Errorf("reader error: %d %+v", rec.Code, eb.Error)
	}
	s = newTestServer(t, &fakeNode{err: errors.New("stopped")}, nil, nil)
	if rec, eb := call(t, s, "POST", "/v1/query/kv.get", `{}`); rec.Code != 503 || eb.Error.Code != wire.ErrUnavailable {
		t.Errorf("query error: %d %+v", rec.Code, eb.Error)
	}
	if rec, eb := call(t, s, "GET", "/v1/tx/"+strings.Repeat("00", 32), ``); rec.Code != 503 || eb.Error.Code != wire.ErrUnavailable {
		t.Errorf("tx error: %d %+v", rec.Code, eb.Error)
	}
}

// signedBody issues a challenge on s and answers it with an ed25519 key.
func signedBody(t *testing.T, s *Server, data string) string {
	t.Helper()
	rec, _ := call(t, s, "POST", "/v1/auth/challenge", "")
	var ch wire.ChallengeResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &ch); err != nil {
		t.Fatal(err)
	}
	signer := auth.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
	sig, err := signer.Sign([]byte(ch.Message))
	if err != nil {
		t.Fatal(err)
	}
	req := map[string]any{"auth": wire.PrivateAuth{Challenge: ch.Challenge, Scheme: signer.Scheme(),
		Signer: hex.EncodeToString(signer.SignerID()), Signature: hex.EncodeToString(sig)}}
	if data != "" {
		req["data"] = json.RawMessage(data)
	}
	b, _ := json.Marshal(req)
	return string(b)
}

func TestNotConfigured(t *testing.T) {
	s := newTestServer(t, nil, nil, func(c *Config) { c.Schemes = nil })
	for _, p := range [][2]string{{"POST", "/v1/tx"}, {"GET", "/v1/tx/00"}, {"POST", "/v1/query/kv.get"},
		{"POST", "/v1/auth/challenge"}, {"POST", "/v1/private/kv.get"}} {
		if rec, eb := call(t, s, p[0], p[1], `{}`); rec.Code != 503 || eb.Error.Code != wire.ErrUnavailable {
			t.Errorf("%v: %d %+v", p, rec.Code, eb.Error)
		}
	}
}

func TestPanicRecovered(t *testing.T) {
	s := newTestServer(t, &fakeNode{panicMsg: "bug"}, nil, nil)
	rec, eb := call(t, s, "POST", "/v1/tx", `{"tx":"AQID"}`)
	if rec.Code != 500 || eb.Error.Code != wire.ErrInternal {
		t.Errorf("%d %+v", rec.Code, eb.Error)
	}
	rec, _ = call(t, s, "GET", "/metrics", "")
	if !strings.Contains(rec.Body.String(), `idos_gateway_requests_total{route="/v1/tx",status="500"} 1`) {
		t.Errorf("panic not counted as 500:\n%s", rec.Body)
	}
}

func TestChallengeStore(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 300e6, time.UTC)
	clock := func() time.Time { return now }
	c := newChallengeStore(time.Minute, 2, clock, strings.NewReader(strings.Repeat("a", 32)+strings.Repeat("b", 32)+strings.Repeat("c", 32)))
	a, exp, err := c.issue()
	if err != nil {
		t.Fatal(err)
	}
	// Rounded up to the second the text shows, never down.
	if want := time.Date(2030, 1, 1, 0, 1, 1, 0, time.UTC); !exp.Equal(want) {
		t.Errorf("expiry %s, want %s", exp, want)
	}
	if _, _, err := c.issue(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.issue(); !errors.Is(err, errTooManyChallenges) {
		t.Fatalf("third challenge over a bound of 2: %v", err)
	}
	if _, err := c.take(a); err != nil {
		t.Fatal(err)
	}
	if _, err := c.take(a); !errors.Is(err, errChallengeInvalid) {
		t.Errorf("reuse: %v", err)
	}
	// Expired entries are swept to make room.
	now = now.Add(2 * time.Minute)
	c.rand = strings.NewReader(strings.Repeat("d", 64))
	if _, _, err := c.issue(); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if c.len() != 1 {
		t.Errorf("%d challenges kept, want 1", c.len())
	}
	// Randomness failing is an error, not a predictable challenge.
	c.rand = strings.NewReader("")
	if _, _, err := c.issue(); err == nil {
		t.Error("issued a challenge without randomness")
	}
}

func TestChallengeMessage(t *testing.T) {
	got := wire.ChallengeMessage("node1", "ab", time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)))
	want := "idOS read authentication\nNode: node1\nChallenge: ab\nExpires: 2030-01-02T02:04:05Z"
	if got != want {
		t.Errorf("%q", got)
	}
}

// TestBodyContentTypeAndTypeErrors: a body declared as other than JSON is
// 415 on every POST route, whatever it holds; a JSON body with a value of
// the wrong type is 400 naming the field and JSON kinds, never a Go type
// (issue 13: "want gateway.SubmitRequest").
func TestBodyContentTypeAndTypeErrors(t *testing.T) {
	s := newTestServer(t, &fakeNode{}, &fakeReader{}, nil)
	send := func(path, ct, body string) (int, wire.ErrorDetail) {
		t.Helper()
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var eb wire.ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &eb)
		return rec.Code, eb.Error
	}
	for _, path := range []string{"/v1/tx", "/v1/query/kv.get", "/v1/auth/challenge", "/v1/private/idos.get_user"} {
		for _, ct := range []string{"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "application/xml", "nonsense/"} {
			status, d := send(path, ct, `{"tx":"AQID"}`)
			if status != 415 || d.Code != wire.ErrUnsupportedMedia || !strings.Contains(d.Message, "application/json") {
				t.Errorf("POST %s as %q: %d %+v, want 415 %s saying what to send", path, ct, status, d, wire.ErrUnsupportedMedia)
			}
		}
	}
	// JSON, declared or not, passes the check (and fails later or not).
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "application/problem+json"} {
		if status, d := send("/v1/tx", ct, `{"tx":"AQID"}`); status == 415 {
			t.Errorf("POST /v1/tx as %q: 415 %+v", ct, d)
		}
	}
	for i, c := range []struct{ body, want string }{
		0: {`{"tx": 5}`, `field "tx" is a JSON number, want a string`},
		1: {`["AQID"]`, `a JSON array where an object is wanted`},
		2: {`"AQID"`, `a JSON string where an object is wanted`},
	} {
		status, d := send("/v1/tx", "application/json", c.body)
		if status != 400 || d.Code != wire.ErrBadRequest || d.Message != c.want {
			t.Errorf("%d: %s: %d %+v, want 400 %q", i, c.body, status, d, c.want)
		}
		for _, goName := range []string{"wire.", "gateway.", "SubmitRequest", "Go "} {
			if strings.Contains(d.Message, goName) {
				t.Errorf("%d: %q names the Go type (%s)", i, d.Message, goName)
			}
		}
	}
}
