// Package gateway is the node's HTTP API. It serves JSON on its own port,
// separate from CometBFT's RPC, so that its surface stays small and under
// the application's control.
//
// Endpoints (docs/gateway-openapi.yaml is the reference):
//
//	GET  /v1/health             liveness
//	GET  /v1/status             chain and sync status
//	POST /v1/tx                 submit a signed transaction (async, sync, commit)
//	GET  /v1/tx/{hash}          a committed transaction's result
//	POST /v1/query/{name}       a public query (ABCI Query "/{name}"); ?prove=true adds its proof
//	GET  /v1/proof              the proof of a key (?key=HEX) or a key range (?prefix=HEX) of a public table
//	POST /v1/auth/challenge     a single-use challenge for a private read
//	POST /v1/private/{name}     a private query, authenticated by a signed challenge; ?prove=true adds its proof
//	GET  /metrics               Prometheus metrics
//
// Every error answers {"error":{"code":"...","message":"..."}}; the code is
// stable (see the Err* constants), the message is for people.
package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/wire"
)

// StatusSource reports the node's status. CometBFT's rpc/client/local and
// rpc/client/http clients implement it.
type StatusSource interface {
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
}

// NodeClient is what the transaction and public query endpoints need from
// the node. CometBFT's rpc/client/local client implements it.
type NodeClient interface {
	BroadcastTxAsync(ctx context.Context, tx cmttypes.Tx) (*coretypes.ResultBroadcastTx, error)
	BroadcastTxSync(ctx context.Context, tx cmttypes.Tx) (*coretypes.ResultBroadcastTx, error)
	BroadcastTxCommit(ctx context.Context, tx cmttypes.Tx) (*coretypes.ResultBroadcastTxCommit, error)
	Tx(ctx context.Context, hash []byte, prove bool) (*coretypes.ResultTx, error)
	ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*coretypes.ResultABCIQuery, error)
	ABCIQueryWithOptions(ctx context.Context, path string, data cmtbytes.HexBytes, opts rpcclient.ABCIQueryOptions) (*coretypes.ResultABCIQuery, error)
}

// PrivateReader answers private queries for an authenticated caller;
// (*app.App) implements it.
type PrivateReader interface {
	PrivateQuery(ctx context.Context, name string, caller module.Sender, data []byte, prove bool) (app.ReadResult, error)
}

var _ PrivatePager = (*app.App)(nil)

// PrivatePager is a Reader that also answers pages of a private read's
// range (?prove=true&page=true; docs/spec/read-proofs.md, "Pages").
type PrivatePager interface {
	PrivateQueryPage(ctx context.Context, name string, caller module.Sender, data []byte, page app.ProofRequest) (app.ReadResult, error)
}

// Config configures a Server.
type Config struct {
	// ListenAddr is host:port; port 0 picks a free port (see Server.Addr).
	ListenAddr string
	// Status is where /v1/status reads from. Required.
	Status StatusSource
	// Node submits transactions and runs public queries. Without it those
	// endpoints answer 503.
	Node NodeClient
	// Reader runs private queries and Schemes verifies the challenge
	// signatures. Without both, the private endpoints answer 503.
	Reader  PrivateReader
	Schemes *auth.Registry
	// NodeID is the CometBFT node id named in challenge texts, so a
	// signature made for one node is useless at another.
	NodeID string
	// ChallengeTTL is how long a challenge may be used; 0 means
	// DefaultChallengeTTL.
	ChallengeTTL time.Duration
	// MaxChallenges bounds the outstanding challenges kept in memory; 0
	// means DefaultMaxChallenges.
	MaxChallenges int
	// MaxCommitWaiters bounds concurrent mode=commit submissions. CometBFT
	// counts all of them as one RPC subscriber, limited by its
	// rpc.max_subscriptions_per_client; 0 means DefaultMaxCommitWaiters.
	MaxCommitWaiters int
	// WriteTimeout bounds writing a response; it must exceed CometBFT's
	// rpc.timeout_broadcast_tx_commit. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Now is the clock for challenge expiry; nil means time.Now. Tests set
	// it to expire challenges without sleeping.
	Now func() time.Time
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
}

// Defaults for Config.
const (
	DefaultChallengeTTL     = 2 * time.Minute
	DefaultMaxChallenges    = 10000
	DefaultMaxCommitWaiters = 4
	DefaultWriteTimeout     = 15 * time.Second
)

// Server timeouts. Requests are small and answers computed in memory, so
// anything slower than these is a stuck or hostile client.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	idleTimeout       = 60 * time.Second
	statusTimeout     = 5 * time.Second
	readCallTimeout   = 10 * time.Second
)

// Server is the gateway's HTTP server.
type Server struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	routes     []*route
	exact      map[string]*route
	challenges *challengeStore
	metrics    *metrics
	commitSem  chan struct{}
	srv        *http.Server
	ln         net.Listener
	done       chan error
}

// route is one path pattern. A pattern may end in one "{param}" segment,
// which matches one non-empty path segment.
type route struct {
	pattern string
	prefix  string // the pattern up to its parameter; "" for exact patterns
	param   string
	methods map[string]http.HandlerFunc
}

// Route describes a registered endpoint, for documentation checks.
type Route struct {
	Pattern string
	Methods []string
}

// New returns a server; it does not listen until Start.
func New(cfg Config) (*Server, error) {
	if cfg.Status == nil {
		return nil, errors.New("gateway: no status source")
	}
	if _, _, err := net.SplitHostPort(cfg.ListenAddr); err != nil {
		return nil, fmt.Errorf("gateway listen address %q: %w", cfg.ListenAddr, err)
	}
	if cfg.ChallengeTTL < 0 || cfg.MaxChallenges < 0 || cfg.MaxCommitWaiters < 0 || cfg.WriteTimeout < 0 {
		return nil, errors.New("gateway: negative limit in config")
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = DefaultChallengeTTL
	}
	if cfg.MaxChallenges == 0 {
		cfg.MaxChallenges = DefaultMaxChallenges
	}
	if cfg.MaxCommitWaiters == 0 {
		cfg.MaxCommitWaiters = DefaultMaxCommitWaiters
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg:        cfg,
		log:        log,
		now:        now,
		exact:      map[string]*route{},
		challenges: newChallengeStore(cfg.ChallengeTTL, cfg.MaxChallenges, now, rand.Reader),
		commitSem:  make(chan struct{}, cfg.MaxCommitWaiters),
	}
	s.metrics = newMetrics(s.challenges.len)
	s.handle("/v1/health", http.MethodGet, s.health)
	s.handle("/v1/status", http.MethodGet, s.status)
	s.handle("/v1/tx", http.MethodPost, s.submitTx)
	s.handle("/v1/tx/{hash}", http.MethodGet, s.getTx)
	s.handle("/v1/query/{name}", http.MethodPost, s.query)
	s.handle("/v1/proof", http.MethodGet, s.proof)
	s.handle("/v1/auth/challenge", http.MethodPost, s.challenge)
	s.handle("/v1/private/{name}", http.MethodPost, s.private)
	s.handle("/metrics", http.MethodGet, s.metrics.serve)
	return s, nil
}

func (s *Server) handle(pattern, method string, h http.HandlerFunc) {
	rt, ok := s.exact[pattern]
	if !ok {
		for _, r := range s.routes {
			if r.pattern == pattern {
				rt, ok = r, true
			}
		}
	}
	if !ok {
		rt = &route{pattern: pattern, methods: map[string]http.HandlerFunc{}}
		if i := strings.LastIndexByte(pattern, '/'); strings.HasPrefix(pattern[i+1:], "{") {
			rt.prefix = pattern[:i+1]
			rt.param = strings.Trim(pattern[i+1:], "{}")
		} else {
			s.exact[pattern] = rt
		}
		s.routes = append(s.routes, rt)
	}
	rt.methods[method] = h
}

// Routes lists the registered endpoints.
func (s *Server) Routes() []Route {
	out := make([]Route, 0, len(s.routes))
	for _, rt := range s.routes {
		ms := make([]string, 0, len(rt.methods))
		for m := range rt.methods {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		out = append(out, Route{Pattern: rt.pattern, Methods: ms})
	}
	return out
}

// match finds the route of a path and sets its parameter on r.
func (s *Server) match(r *http.Request) *route {
	if rt, ok := s.exact[r.URL.Path]; ok {
		return rt
	}
	for _, rt := range s.routes {
		if rt.prefix == "" || !strings.HasPrefix(r.URL.Path, rt.prefix) {
			continue
		}
		rest := r.URL.Path[len(rt.prefix):]
		if rest != "" && !strings.Contains(rest, "/") {
			r.SetPathValue(rt.param, rest)
			return rt
		}
	}
	return nil
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	rt := s.match(r)
	// The route label is the pattern, never the raw path, so that metrics
	// have a bounded number of series whatever clients send.
	label := "unmatched"
	if rt != nil {
		label = rt.pattern
	}
	defer func() { s.metrics.observe(label, sw.code(), time.Since(start)) }()
	if r.Body != nil {
		// Given the server's own writer, so that it closes the connection
		// instead of reading the rest of an oversized body.
		r.Body = http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes)
	}
	s.dispatch(sw, r, rt)
}

func (s *Server) dispatch(w *statusWriter, r *http.Request, rt *route) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("gateway handler panicked", "path", r.URL.Path, "panic", v)
			if !w.wrote {
				writeError(w, http.StatusInternalServerError, wire.ErrInternal, "internal error")
			}
		}
	}()
	if rt == nil {
		writeError(w, http.StatusNotFound, wire.ErrNotFound, fmt.Sprintf("no such endpoint: %s", r.URL.Path))
		return
	}
	h, ok := rt.methods[r.Method]
	if !ok {
		allowed := make([]string, 0, len(rt.methods))
		for m := range rt.methods {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, wire.ErrMethodNotAllowed,
			fmt.Sprintf("%s does not support %s (allowed: %s)", r.URL.Path, r.Method, strings.Join(allowed, ", ")))
		return
	}
	h(w, r)
}

// statusWriter remembers the status for metrics and whether the header
// went out, so a recovered panic does not write a second one.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Start binds the listen address and serves in the background. Binding
// happens before Start returns so a port clash is reported to the caller.
func (s *Server) Start() error {
	if s.srv != nil {
		return errors.New("gateway: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", s.cfg.ListenAddr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.done = make(chan error, 1)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.log.Info("gateway listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address; nil before Start.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return <-s.done
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
	defer cancel()
	st, err := s.cfg.Status.Status(ctx)
	if err != nil {
		s.log.Warn("gateway: node status failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "node status unavailable")
		return
	}
	writeJSON(w, http.StatusOK, wire.StatusResponse{
		ChainID:           st.NodeInfo.Network,
		NodeID:            string(st.NodeInfo.DefaultNodeID),
		LatestBlockHeight: st.SyncInfo.LatestBlockHeight,
		LatestBlockHash:   st.SyncInfo.LatestBlockHash.String(),
		LatestAppHash:     st.SyncInfo.LatestAppHash.String(),
		LatestBlockTime:   st.SyncInfo.LatestBlockTime,
		CatchingUp:        st.SyncInfo.CatchingUp,
	})
}

// readBody reads the whole (size-limited) body, answering 413 or 400 itself
// when it cannot; ok is false then.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	if r.Body == nil {
		return nil, true
	}
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, wire.ErrBodyTooLarge,
			fmt.Sprintf("request body over %d bytes", tooBig.Limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "read request body: "+err.Error())
		return nil, false
	}
	return body, true
}
