package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/tx"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wire"
)

// challengeStore keeps the outstanding challenges in memory: single-use,
// expiring, bounded. This is not consensus code; it may use the clock and
// randomness, and a restart simply forgets the challenges.
type challengeStore struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	rand io.Reader

	mu        sync.Mutex
	items     map[[32]byte]time.Time // challenge -> expiry
	lastSweep time.Time
}

var (
	errTooManyChallenges = errors.New("too many outstanding challenges")
	errChallengeInvalid  = errors.New("challenge unknown, expired or already used")
)

func newChallengeStore(ttl time.Duration, max int, now func() time.Time, rnd io.Reader) *challengeStore {
	return &challengeStore{ttl: ttl, max: max, now: now, rand: rnd, items: map[[32]byte]time.Time{}}
}

// issue creates a challenge. The expiry is rounded up to the whole second
// the text shows, so the node never accepts a signature after the time the
// signer was told.
func (c *challengeStore) issue() ([32]byte, time.Time, error) {
	var id [32]byte
	if _, err := io.ReadFull(c.rand, id[:]); err != nil {
		return id, time.Time{}, fmt.Errorf("challenge randomness: %w", err)
	}
	now := c.now()
	exp := now.Add(c.ttl)
	if t := exp.Truncate(time.Second); t.Before(exp) {
		exp = t.Add(time.Second)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Sweep once per TTL, or when full: amortised O(1) per challenge and
	// no background goroutine to stop.
	if len(c.items) >= c.max || now.Sub(c.lastSweep) >= c.ttl {
		for k, e := range c.items {
			if !now.Before(e) {
				delete(c.items, k)
			}
		}
		c.lastSweep = now
	}
	if len(c.items) >= c.max {
		return id, time.Time{}, errTooManyChallenges
	}
	c.items[id] = exp
	return id, exp, nil
}

// take consumes a challenge and returns its expiry. It is removed whether
// or not the signature that follows verifies: one attempt per challenge,
// and two concurrent requests can never both use it.
func (c *challengeStore) take(id [32]byte) (time.Time, error) {
	now := c.now()
	c.mu.Lock()
	exp, ok := c.items[id]
	delete(c.items, id)
	c.mu.Unlock()
	if !ok || !now.Before(exp) {
		return time.Time{}, errChallengeInvalid
	}
	return exp, nil
}

func (c *challengeStore) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (s *Server) privateConfigured(w http.ResponseWriter) bool {
	if s.cfg.Reader == nil || s.cfg.Schemes == nil {
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "private reads are not configured")
		return false
	}
	return true
}

func (s *Server) challenge(w http.ResponseWriter, r *http.Request) {
	if !s.privateConfigured(w) {
		return
	}
	// The body is unused but must be empty or {} so that a client sending
	// fields it expects to matter learns that they do not.
	var none struct{}
	if !decodeBody(w, r, &none, false) {
		return
	}
	id, exp, err := s.challenges.issue()
	switch {
	case errors.Is(err, errTooManyChallenges):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, wire.ErrBusy, "too many outstanding challenges; retry shortly")
		return
	case err != nil:
		s.log.Error("gateway: issue challenge", "err", err)
		writeError(w, http.StatusInternalServerError, wire.ErrInternal, "cannot issue a challenge")
		return
	}
	hexID := hex.EncodeToString(id[:])
	writeJSON(w, http.StatusOK, wire.ChallengeResponse{
		Challenge: hexID,
		ExpiresAt: exp.UTC().Format(time.RFC3339),
		Message:   wire.ChallengeMessage(s.cfg.NodeID, hexID, exp),
	})
}

func decodeHex(field, s string, n int) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	switch {
	case err != nil:
		return nil, fmt.Errorf("auth.%s: not hex", field)
	case len(b) == 0:
		return nil, fmt.Errorf("auth.%s: empty", field)
	case n > 0 && len(b) != n:
		return nil, fmt.Errorf("auth.%s: want %d bytes, got %d", field, n, len(b))
	case len(b) > 256:
		return nil, fmt.Errorf("auth.%s: over 256 bytes", field)
	}
	return b, nil
}

func (s *Server) private(w http.ResponseWriter, r *http.Request) {
	if !s.privateConfigured(w) {
		return
	}
	prove, ok := proveParam(w, r)
	if !ok {
		return
	}
	var page app.ProofRequest
	if !pageParams(w, r, &page) {
		return
	}
	pager, canPage := s.cfg.Reader.(PrivatePager)
	if page.Page && (!prove || !canPage) {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "pages are of proven reads: give prove=true")
		return
	}
	var req wire.PrivateRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	chal, err := decodeHex("challenge", req.Auth.Challenge, 32)
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, err.Error())
		return
	}
	signer, err := decodeHex("signer", req.Auth.Signer, 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, err.Error())
		return
	}
	sig, err := decodeHex("signature", req.Auth.Signature, 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, err.Error())
		return
	}
	scheme, err := s.cfg.Schemes.Lookup(req.Auth.Scheme)
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrUnknownScheme, err.Error())
		return
	}
	exp, err := s.challenges.take([32]byte(chal))
	if err != nil {
		writeError(w, http.StatusUnauthorized, wire.ErrChallengeInvalid, err.Error()+"; request a new one")
		return
	}
	msg := wire.ChallengeMessage(s.cfg.NodeID, hex.EncodeToString(chal), exp)
	id, err := scheme.Verify(signer, []byte(msg), sig)
	if errors.Is(err, wasmhost.ErrTimeout) {
		// The plugin hit this node's wall-clock safety net: the node's
		// failure, not the caller's; another try (or node) may succeed.
		s.log.Warn("gateway: challenge verification timed out", "scheme", scheme.Name(), "err", err)
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "signature verification timed out on this node; retry")
		return
	}
	if err != nil {
		writeError(w, http.StatusUnauthorized, wire.ErrBadSignature, err.Error())
		return
	}
	data := []byte("{}")
	if req.Data != nil && !bytes.Equal(req.Data, []byte("null")) {
		data = req.Data
	}
	name := r.PathValue("name")
	if !tx.ValidActionName(name) {
		writeError(w, http.StatusNotFound, wire.ErrUnknownQuery, fmt.Sprintf("unknown private query %q", name))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readCallTimeout)
	defer cancel()
	caller := module.Sender{Scheme: scheme.Name(), Identifier: id}
	var res app.ReadResult
	if page.Page {
		res, err = pager.PrivateQueryPage(ctx, name, caller, data, page)
	} else {
		res, err = s.cfg.Reader.PrivateQuery(ctx, name, caller, data, prove)
	}
	if err != nil {
		s.log.Error("gateway: private query failed", "query", name, "err", err)
		writeError(w, http.StatusInternalServerError, wire.ErrInternal, "private query failed")
		return
	}
	s.answerRead(w, r, res.Code, "", res.Log, res.Height, res.Value, res.Proof)
}
