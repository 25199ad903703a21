// Package gateway is the node's HTTP API. It serves JSON on its own port,
// separate from CometBFT's RPC, so that its surface stays small and under
// the application's control.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
)

// StatusSource reports the node's status. CometBFT's rpc/client/local and
// rpc/client/http clients implement it.
type StatusSource interface {
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
}

// Config configures a Server.
type Config struct {
	// ListenAddr is host:port; port 0 picks a free port (see Server.Addr).
	ListenAddr string
	// Status is where /v1/status reads from.
	Status StatusSource
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
}

// Server timeouts. Responses are small and computed in memory, so anything
// slower than these is a stuck or hostile client.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 60 * time.Second
	statusTimeout     = 5 * time.Second
)

// Server is the gateway's HTTP server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	routes map[string]map[string]http.HandlerFunc // path -> method -> handler
	srv    *http.Server
	ln     net.Listener
	done   chan error
}

// New returns a server; it does not listen until Start.
func New(cfg Config) (*Server, error) {
	if cfg.Status == nil {
		return nil, errors.New("gateway: no status source")
	}
	if _, _, err := net.SplitHostPort(cfg.ListenAddr); err != nil {
		return nil, fmt.Errorf("gateway listen address %q: %w", cfg.ListenAddr, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log}
	s.routes = map[string]map[string]http.HandlerFunc{
		"/v1/health": {http.MethodGet: s.health},
		"/v1/status": {http.MethodGet: s.status},
	}
	return s, nil
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler {
	return s.recoverPanics(http.HandlerFunc(s.route))
}

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
		WriteTimeout:      writeTimeout,
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

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	methods, ok := s.routes[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no such endpoint: %s", r.URL.Path))
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		allowed := make([]string, 0, len(methods))
		for m := range methods {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s does not support %s (allowed: %s)", r.URL.Path, r.Method, strings.Join(allowed, ", ")))
		return
	}
	h(w, r)
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("gateway handler panicked", "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// StatusResponse is the body of GET /v1/status.
type StatusResponse struct {
	ChainID           string    `json:"chain_id"`
	NodeID            string    `json:"node_id"`
	LatestBlockHeight int64     `json:"latest_block_height"`
	LatestBlockHash   string    `json:"latest_block_hash"`
	LatestAppHash     string    `json:"latest_app_hash"`
	LatestBlockTime   time.Time `json:"latest_block_time"`
	CatchingUp        bool      `json:"catching_up"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
	defer cancel()
	st, err := s.cfg.Status.Status(ctx)
	if err != nil {
		s.log.Warn("gateway: node status failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "node status unavailable")
		return
	}
	writeJSON(w, http.StatusOK, StatusResponse{
		ChainID:           st.NodeInfo.Network,
		NodeID:            string(st.NodeInfo.DefaultNodeID),
		LatestBlockHeight: st.SyncInfo.LatestBlockHeight,
		LatestBlockHash:   st.SyncInfo.LatestBlockHash.String(),
		LatestAppHash:     st.SyncInfo.LatestAppHash.String(),
		LatestBlockTime:   st.SyncInfo.LatestBlockTime,
		CatchingUp:        st.SyncInfo.CatchingUp,
	})
}

// ErrorBody is the body of every error response. Code is stable and meant
// for programs; Message is for people.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var body ErrorBody
	body.Error.Code = code
	body.Error.Message = msg
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"internal","message":"encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
