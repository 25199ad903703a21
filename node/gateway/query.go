package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/idos-network/idos-node/node/app"
)

// QueryResponse is the body of a successful public or private query.
type QueryResponse struct {
	// Height is the committed block the answer reflects.
	Height int64           `json:"height"`
	Value  json.RawMessage `json:"value"`
}

// AccountQuery is the body of POST /v1/query/account. The ABCI query takes
// the bare account id; over HTTP it is wrapped so every body is JSON.
type AccountQuery struct {
	ID string `json:"id"`
}

// queryName is the shape of query names (the action name rule of
// docs/spec/transactions.md); anything else cannot exist.
var queryName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

const maxQueryName = 64

func validQueryName(name string) bool {
	return len(name) <= maxQueryName && queryName.MatchString(name)
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Node == nil {
		writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "queries are not configured")
		return
	}
	name := r.PathValue("name")
	if !validQueryName(name) {
		writeError(w, http.StatusNotFound, ErrUnknownQuery, fmt.Sprintf("unknown query %q", name))
		return
	}
	var data []byte
	if name == "account" {
		var q AccountQuery
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
	res, err := s.cfg.Node.ABCIQuery(ctx, "/"+name, data)
	if err != nil {
		s.log.Warn("gateway: ABCI query failed", "query", name, "err", err)
		writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "query unavailable")
		return
	}
	s.answerRead(w, r, res.Response.Code, res.Response.Codespace, res.Response.Log, res.Response.Height, res.Response.Value)
}

// answerRead maps the application's read codes to HTTP.
func (s *Server) answerRead(w http.ResponseWriter, r *http.Request, code uint32, cs, log string, height int64, value []byte) {
	d := ErrorDetail{Message: log}
	if code != app.CodeOK {
		d.ABCICode, d.Codespace = code, codespace(cs)
	}
	var status int
	switch code {
	case app.CodeOK:
		if !json.Valid(value) {
			s.log.Error("gateway: application answered invalid JSON", "path", r.URL.Path)
			writeError(w, http.StatusInternalServerError, ErrInternal, "invalid answer from the application")
			return
		}
		writeJSON(w, http.StatusOK, QueryResponse{Height: height, Value: value})
		return
	case app.CodeUnknownAction:
		status, d.Code = http.StatusNotFound, ErrUnknownQuery
	case app.CodeActionFailed:
		// Decided by code only: the message is for people, and "not found"
		// and "invalid data" share the code.
		status, d.Code = http.StatusUnprocessableEntity, ErrQueryFailed
	case app.CodeForbidden:
		status, d.Code = http.StatusForbidden, ErrForbidden
	case app.CodeNotReady:
		status, d.Code = http.StatusServiceUnavailable, ErrNotReady
		w.Header().Set("Retry-After", "1")
	default:
		s.log.Error("gateway: unexpected read code", "path", r.URL.Path, "code", code, "log", log)
		status, d.Code = http.StatusInternalServerError, ErrInternal
	}
	writeErrorDetail(w, status, d)
}
