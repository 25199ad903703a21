package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/tx"
	"github.com/idos-network/idos-node/node/wire"
)

// proveParam reads the ?prove= flag; it answers 400 itself when the value
// is not a boolean.
func proveParam(w http.ResponseWriter, r *http.Request) (prove, ok bool) {
	v := r.URL.Query().Get("prove")
	if v == "" {
		return false, true
	}
	prove, err := strconv.ParseBool(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, fmt.Sprintf("prove=%q is not true or false", v))
		return false, false
	}
	return prove, true
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Node == nil {
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "queries are not configured")
		return
	}
	name := r.PathValue("name")
	if !tx.ValidActionName(name) {
		writeError(w, http.StatusNotFound, wire.ErrUnknownQuery, fmt.Sprintf("unknown query %q", name))
		return
	}
	prove, ok := proveParam(w, r)
	if !ok {
		return
	}
	var data []byte
	if name == "account" {
		var q wire.AccountQuery
		if !decodeBody(w, r, &q, true) {
			return
		}
		data = []byte(q.ID)
	} else {
		// The query's own decoder checks the fields; the gateway checks
		// only that the body is one JSON value, so errors in the envelope
		// are 400 and errors in the data are the query's (422).
		var raw json.RawMessage
		if !decodeBody(w, r, &raw, false) {
			return
		}
		data = raw
	}
	ctx, cancel := context.WithTimeout(r.Context(), readCallTimeout)
	defer cancel()
	res, err := s.cfg.Node.ABCIQueryWithOptions(ctx, "/"+name, data, rpcclient.ABCIQueryOptions{Prove: prove})
	if err != nil {
		s.log.Warn("gateway: ABCI query failed", "query", name, "err", err)
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "query unavailable")
		return
	}
	var proof *readproof.Bundle
	if prove && res.Response.Code == wire.CodeOK {
		if proof, err = bundleOf(res.Response.ProofOps); err != nil {
			s.log.Error("gateway: application answered a bad proof", "query", name, "err", err)
			writeError(w, http.StatusInternalServerError, wire.ErrInternal, "invalid proof from the application")
			return
		}
	}
	s.answerRead(w, r, res.Response.Code, res.Response.Codespace, res.Response.Log, res.Response.Height, res.Response.Value, proof)
}

// bundleOf takes the read-proof bundle out of an ABCI Query's proof ops.
func bundleOf(ops *cmtcrypto.ProofOps) (*readproof.Bundle, error) {
	if ops == nil || len(ops.Ops) != 1 || ops.Ops[0].Type != app.ProofOpType {
		return nil, fmt.Errorf("expected one %s proof op", app.ProofOpType)
	}
	var b readproof.Bundle
	if err := json.Unmarshal(ops.Ops[0].Data, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// proof serves GET /v1/proof?key=HEX or ?prefix=HEX: the bundle itself is
// the body of a 200 answer.
func (s *Server) proof(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Node == nil {
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "queries are not configured")
		return
	}
	var req app.ProofRequest
	q := r.URL.Query()
	for name, dst := range map[string]*readproof.Hex{"key": &req.Key, "prefix": &req.Prefix} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		b, err := decodeHex(name, v, 0)
		if err != nil {
			writeError(w, http.StatusBadRequest, wire.ErrBadRequest, err.Error())
			return
		}
		*dst = b
	}
	if (req.Key == nil) == (req.Prefix == nil) {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "give exactly one of key=HEX and prefix=HEX")
		return
	}
	if !pageParams(w, r, &req) {
		return
	}
	data, err := json.Marshal(req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, wire.ErrInternal, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readCallTimeout)
	defer cancel()
	res, err := s.cfg.Node.ABCIQuery(ctx, "/proof", data)
	if err != nil {
		s.log.Warn("gateway: ABCI proof query failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "query unavailable")
		return
	}
	if res.Response.Code == wire.CodeOK {
		if !json.Valid(res.Response.Value) {
			writeError(w, http.StatusInternalServerError, wire.ErrInternal, "invalid answer from the application")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(res.Response.Value)
		return
	}
	s.answerRead(w, r, res.Response.Code, res.Response.Codespace, res.Response.Log, res.Response.Height, nil, nil)
}

// pageParams reads the page of a range asked for (page=true, after=HEX,
// height=N, limit=N; docs/spec/read-proofs.md, "Pages") into req; it
// answers 400 itself when they are malformed.
func pageParams(w http.ResponseWriter, r *http.Request, req *app.ProofRequest) bool {
	q := r.URL.Query()
	var err error
	req.Page = q.Get("page") == "true"
	if v := q.Get("after"); v != "" {
		if req.After, err = decodeHex("after", v, 0); err != nil {
			writeError(w, http.StatusBadRequest, wire.ErrBadRequest, err.Error())
			return false
		}
	}
	if v := q.Get("height"); v != "" && err == nil {
		req.Height, err = strconv.ParseInt(v, 10, 64)
	}
	if v := q.Get("limit"); v != "" && err == nil {
		req.Limit, err = strconv.Atoi(v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "height and limit are integers: "+err.Error())
		return false
	}
	return true
}

// answerRead maps the application's read codes to HTTP.
func (s *Server) answerRead(w http.ResponseWriter, r *http.Request, code uint32, cs, log string, height int64, value []byte, proof *readproof.Bundle) {
	d := wire.ErrorDetail{Message: log}
	if code != wire.CodeOK {
		d.ABCICode, d.Codespace = code, codespace(cs)
	}
	var status int
	switch code {
	case wire.CodeOK:
		if !json.Valid(value) {
			s.log.Error("gateway: application answered invalid JSON", "path", r.URL.Path)
			writeError(w, http.StatusInternalServerError, wire.ErrInternal, "invalid answer from the application")
			return
		}
		writeJSON(w, http.StatusOK, wire.QueryResponse{Height: height, Value: value, Proof: proof})
		return
	case wire.CodeUnknownAction:
		status, d.Code = http.StatusNotFound, wire.ErrUnknownQuery
	case wire.CodeActionFailed:
		// Decided by code only: the message is for people, and "not found"
		// and "invalid data" share the code.
		status, d.Code = http.StatusUnprocessableEntity, wire.ErrQueryFailed
	case wire.CodeForbidden:
		status, d.Code = http.StatusForbidden, wire.ErrForbidden
	case wire.CodeNotReady:
		status, d.Code = http.StatusServiceUnavailable, wire.ErrNotReady
		w.Header().Set("Retry-After", "1")
	default:
		s.log.Error("gateway: unexpected read code", "path", r.URL.Path, "code", code, "log", log)
		status, d.Code = http.StatusInternalServerError, wire.ErrInternal
	}
	writeErrorDetail(w, status, d)
}
