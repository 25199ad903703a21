package testnet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
)

// Lie is how a LyingRPC fails.
type Lie string

// The lies of a LyingRPC. Each is what a broken or malicious CometBFT RPC
// endpoint can do without the validators' keys.
const (
	Honest Lie = ""
	// Freeze answers as if the chain had stopped at the frozen height:
	// the real header there for "latest", "height must be less than or
	// equal to" above it.
	Freeze Lie = "freeze"
	// Stall never answers (until the client gives up).
	Stall Lie = "stall"
	// HTTP500 answers 500 with a text body.
	HTTP500 Lie = "http-500"
	// BadJSON answers 200 with a body that is not JSON.
	BadJSON Lie = "bad-json"
	// Huge answers with an endless JSON body, as fast as it is read.
	Huge Lie = "huge"
	// Drip answers one byte of an endless body every 100 ms.
	Drip Lie = "drip"
	// AlterAppHash answers "commit" from a height on with a header whose
	// app hash is altered, under the honest commit (which then does not
	// sign it).
	AlterAppHash Lie = "alter-app-hash"
)

// LyingRPC stands in front of a real CometBFT RPC endpoint and passes
// every request through, except what its Lie changes.
type LyingRPC struct {
	URL      string
	upstream string
	mu       sync.Mutex
	lie      Lie
	frozen   int64 // Freeze: the height; AlterAppHash: the first altered
	served   atomic.Int64
}

// NewLyingRPC serves in front of upstream (http://host:port) until the
// test ends.
func NewLyingRPC(t testing.TB, upstream string) *LyingRPC {
	l := &LyingRPC{upstream: upstream}
	srv := httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

// Set changes the lie; Freeze also needs the height (SetFreeze).
func (l *LyingRPC) Set(lie Lie) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lie = lie
}

// SetAlterAppHash makes the endpoint alter the app hash of every header
// from height on.
func (l *LyingRPC) SetAlterAppHash(height int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lie, l.frozen = AlterAppHash, height
}

// SetFreeze makes the endpoint answer as if the chain stopped at height.
func (l *LyingRPC) SetFreeze(height int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lie, l.frozen = Freeze, height
}

// Served is how many body bytes the endpoint has written for Huge and
// Drip answers.
func (l *LyingRPC) Served() int64 { return l.served.Load() }

func (l *LyingRPC) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	lie, frozen := l.lie, l.frozen
	l.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch lie {
	case Stall:
		<-r.Context().Done()
		return
	case HTTP500:
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	case BadJSON:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "<html>not json</html>")
		return
	case Huge, Drip:
		l.endless(w, r, lie == Drip)
		return
	case Freeze:
		var ok bool
		if body, ok = l.freeze(w, body, frozen); !ok {
			return
		}
	}
	status, data, err := Forward(r, l.upstream, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if lie == AlterAppHash {
		data = alterAppHash(body, data, frozen)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

// Forward sends r, with body, to the same path of upstream and returns the
// answer's status and body: what a test proxy does before it lies.
func Forward(r *http.Request, upstream string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// alterAppHash replaces the app hash of a commit answer at or above from.
func alterAppHash(call, data []byte, from int64) []byte {
	var req struct {
		Method string `json:"method"`
	}
	var env struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id,omitempty"`
		Result  json.RawMessage `json:"result,omitempty"`
		Error   json.RawMessage `json:"error,omitempty"`
	}
	if json.Unmarshal(call, &req) != nil || req.Method != "commit" || json.Unmarshal(data, &env) != nil || len(env.Result) == 0 {
		return data
	}
	var res ctypes.ResultCommit
	if err := cmtjson.Unmarshal(env.Result, &res); err != nil || res.Header == nil || res.Height < from {
		return data
	}
	hdr := *res.Header
	hdr.AppHash = bytes.Repeat([]byte{0xee}, 32)
	res.SignedHeader.Header = &hdr
	var err error
	if env.Result, err = cmtjson.Marshal(&res); err != nil {
		return data
	}
	out, err := json.Marshal(env)
	if err != nil {
		return data
	}
	return out
}

// freeze rewrites a commit or validators request for the latest height
// into one for the frozen height, and answers one above it with the error
// CometBFT gives for a height not reached yet (false: answered).
func (l *LyingRPC) freeze(w http.ResponseWriter, body []byte, frozen int64) ([]byte, bool) {
	var call struct {
		JSONRPC string                     `json:"jsonrpc"`
		ID      json.RawMessage            `json:"id"`
		Method  string                     `json:"method"`
		Params  map[string]json.RawMessage `json:"params"`
	}
	if json.Unmarshal(body, &call) != nil || (call.Method != "commit" && call.Method != "validators") {
		return body, true
	}
	h := int64(0)
	if raw, ok := call.Params["height"]; ok && string(raw) != "null" {
		h, _ = strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	}
	if h > frozen {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": call.ID, "error": map[string]any{
			"code": -32603, "message": "Internal error",
			"data": fmt.Sprintf("height %d must be less than or equal to the current blockchain height %d", h, frozen),
		}})
		return nil, false
	}
	if call.Params == nil {
		call.Params = map[string]json.RawMessage{}
	}
	call.Params["height"] = json.RawMessage(strconv.Quote(strconv.FormatInt(frozen, 10)))
	if h > 0 {
		call.Params["height"] = json.RawMessage(strconv.Quote(strconv.FormatInt(h, 10)))
	}
	out, _ := json.Marshal(call)
	return out, true
}

// endless writes a JSON-RPC answer that never ends: in 64 KiB chunks, or
// one byte every 100 ms when drip, until the client stops reading.
func (l *LyingRPC) endless(w http.ResponseWriter, r *http.Request, drip bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	head := `{"jsonrpc":"2.0","id":-1,"result":{"pad":"`
	n, _ := io.WriteString(w, head)
	l.served.Add(int64(n))
	chunk := bytes.Repeat([]byte{'a'}, 64<<10)
	if drip {
		chunk = chunk[:1]
	}
	fl, _ := w.(http.Flusher)
	for r.Context().Err() == nil {
		n, err := w.Write(chunk)
		l.served.Add(int64(n))
		if err != nil {
			return
		}
		if drip {
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-r.Context().Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}
