package lightclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cmtcrypto "github.com/cometbft/cometbft/crypto"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
)

// testNode is a real single-validator node running in process, with the
// validator's key at hand so that tests can sign forged headers the way a
// malicious validator set could.
type testNode struct {
	r       *runner.Running
	rpc     string // http://127.0.0.1:port
	chainID string
	key     cmtcrypto.PrivKey
}

func startNode(t testing.TB, timeoutCommit time.Duration) *testNode {
	t.Helper()
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 2)
	chainID := "idos-light-test"
	if err := home.Init(dir, home.Options{
		ChainID:           chainID,
		P2PListenAddr:     "127.0.0.1:" + strconv.Itoa(base),
		RPCListenAddr:     "127.0.0.1:" + strconv.Itoa(base+1),
		GatewayListenAddr: "127.0.0.1:0",
		TimeoutCommit:     timeoutCommit,
	}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := h.PrivValidator()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := runner.Start(ctx, h, quietLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stop node: %v", err)
		}
	})
	return &testNode{r: r, rpc: "http://127.0.0.1:" + strconv.Itoa(base+1), chainID: chainID, key: pv.Key.PrivKey}
}

// waitHeight polls until the node has committed height h.
func (n *testNode) waitHeight(t testing.TB, h int64) int64 {
	t.Helper()
	return n.waitHeightWithin(t, h, 2*time.Minute)
}

func (n *testNode) waitHeightWithin(t testing.TB, h int64, d time.Duration) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		st, err := n.r.Client().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.SyncInfo.LatestBlockHeight >= h {
			return st.SyncInfo.LatestBlockHeight
		}
		select {
		case <-ctx.Done():
			t.Fatalf("height %d, want %d: %v", st.SyncInfo.LatestBlockHeight, h, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// header is the node's own (honest) signed header at height h.
func (n *testNode) header(t testing.TB, h int64) *types.SignedHeader {
	t.Helper()
	res, err := n.r.Client().Commit(context.Background(), &h)
	if err != nil {
		t.Fatal(err)
	}
	return &res.SignedHeader
}

// config is a light client configuration trusting height h of the node.
func (n *testNode) config(t testing.TB, h int64, primary string, witnesses ...string) lightclient.Config {
	t.Helper()
	return lightclient.Config{
		ChainID:        n.chainID,
		Primary:        primary,
		Witnesses:      witnesses,
		TrustHeight:    h,
		TrustHash:      n.header(t, h).Hash(),
		TrustingPeriod: time.Hour,
		Dir:            t.TempDir(),
		// A witness behind the primary is waited for 2*drift+lag; keep it
		// short in tests where all providers are one node.
		MaxClockDrift: time.Second,
		MaxBlockLag:   time.Second,
		Logger:        lcLogger(t),
	}
}

// openClient starts a light client, closed when the test ends.
func openClient(ctx context.Context, t *testing.T, cfg lightclient.Config) *lightclient.Client {
	t.Helper()
	c, err := lightclient.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// quietLogger logs the node at warn level only: its per-block info lines
// would swamp the light client's.
func quietLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// lcLogger is the light client's log: info in tests (shown on failure or
// with -v), nothing in benchmarks.
func lcLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return testnet.Logger(t)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// rpcProxy stands between a light client and the node's CometBFT RPC. It
// passes everything through except what it is told to lie about, and it
// swallows evidence (a real node would commit it against our only
// validator, which the tests do not need).
type rpcProxy struct {
	t     testing.TB
	node  *testNode
	srv   *httptest.Server
	mu    sync.Mutex
	forge *forgery
	evCnt int
}

// forgery describes the lie: from height From on, the headers differ from
// the node's. At From the app hash is AppHash; later headers are chained
// onto the forged ones (LastBlockID), so the forged chain is consistent.
// With Resign, each forged header carries a commit signed by the
// validator's real key (what a corrupt validator set could do); without,
// the honest commit is left under the altered header (what any node could
// do, and what fails basic validation).
type forgery struct {
	From    int64
	AppHash []byte
	Resign  bool
	cache   map[int64]*types.SignedHeader
}

func newProxy(t testing.TB, n *testNode, f *forgery) *rpcProxy {
	p := &rpcProxy{t: t, node: n, forge: f}
	if f != nil {
		f.cache = map[int64]*types.SignedHeader{}
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *rpcProxy) URL() string { return p.srv.URL }

func (p *rpcProxy) evidence() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.evCnt
}

type rpcEnvelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

func (p *rpcProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req rpcEnvelope
	_ = json.Unmarshal(body, &req)
	if req.Method == "broadcast_evidence" {
		p.mu.Lock()
		p.evCnt++
		p.mu.Unlock()
		writeEnvelope(w, rpcEnvelope{JSONRPC: "2.0", ID: req.ID,
			Error: json.RawMessage(`{"code":-32603,"message":"evidence not accepted by the test proxy"}`)})
		return
	}
	status, data, err := testnet.Forward(r, p.node.rpc, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if req.Method == "commit" && p.forge != nil {
		if lied, err := p.lie(r.Context(), data); err != nil {
			p.t.Logf("proxy: %v", err)
		} else {
			data = lied
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

func writeEnvelope(w http.ResponseWriter, e rpcEnvelope) {
	w.Header().Set("Content-Type", "application/json")
	data, _ := json.Marshal(e)
	w.Write(data)
}

// lie replaces the signed header of a /commit answer at or above the
// forgery's height.
func (p *rpcProxy) lie(ctx context.Context, data []byte) ([]byte, error) {
	var env rpcEnvelope
	if err := json.Unmarshal(data, &env); err != nil || len(env.Result) == 0 {
		return nil, fmt.Errorf("commit answer without a result: %s", data)
	}
	var res ctypes.ResultCommit
	if err := cmtjson.Unmarshal(env.Result, &res); err != nil {
		return nil, err
	}
	if res.Header == nil || res.Height < p.forge.From {
		return data, nil
	}
	p.mu.Lock()
	sh, err := p.forged(ctx, res.Height)
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	res.SignedHeader = *sh
	if env.Result, err = cmtjson.Marshal(&res); err != nil {
		return nil, err
	}
	return json.Marshal(env)
}

// forged returns the forged signed header at h (>= From), building the
// forged chain from From up. Caller holds p.mu.
func (p *rpcProxy) forged(ctx context.Context, h int64) (*types.SignedHeader, error) {
	f := p.forge
	if sh, ok := f.cache[h]; ok {
		return sh, nil
	}
	orig, err := p.node.r.Client().Commit(ctx, &h)
	if err != nil {
		return nil, err
	}
	hdr := *orig.Header
	if h == f.From {
		hdr.AppHash = f.AppHash
	} else {
		prev, err := p.forged(ctx, h-1)
		if err != nil {
			return nil, err
		}
		hdr.LastBlockID = types.BlockID{Hash: prev.Hash(), PartSetHeader: prev.Commit.BlockID.PartSetHeader}
	}
	sh := &types.SignedHeader{Header: &hdr, Commit: orig.Commit}
	if f.Resign {
		bid := types.BlockID{Hash: hdr.Hash(), PartSetHeader: orig.Commit.BlockID.PartSetHeader}
		c := &types.Commit{Height: h, Round: orig.Commit.Round, BlockID: bid,
			Signatures: make([]types.CommitSig, len(orig.Commit.Signatures))}
		for i, s := range orig.Commit.Signatures {
			c.Signatures[i] = s
			if s.BlockIDFlag != types.BlockIDFlagCommit {
				continue
			}
			v := &types.Vote{Type: cmtproto.PrecommitType, Height: h, Round: orig.Commit.Round, BlockID: bid,
				Timestamp: s.Timestamp, ValidatorAddress: s.ValidatorAddress, ValidatorIndex: int32(i)}
			sig, err := p.node.key.Sign(types.VoteSignBytes(p.node.chainID, v.ToProto()))
			if err != nil {
				return nil, err
			}
			c.Signatures[i].Signature = sig
		}
		sh.Commit = c
	}
	f.cache[h] = sh
	return sh, nil
}
