package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Error codes of the gateway's error bodies. They are part of the API:
// clients branch on them, never on the message.
const (
	ErrBadRequest       = "bad_request"        // 400: malformed JSON, unknown field, wrong type, bad value
	ErrUnknownScheme    = "unknown_scheme"     // 400: the signature scheme is not registered
	ErrChallengeInvalid = "challenge_invalid"  // 401: challenge unknown, expired or already used
	ErrBadSignature     = "bad_signature"      // 401: the signature does not verify
	ErrForbidden        = "forbidden"          // 403: the caller may not read this
	ErrNotFound         = "not_found"          // 404: no such endpoint
	ErrTxNotFound       = "tx_not_found"       // 404: no committed transaction with this hash
	ErrUnknownQuery     = "unknown_query"      // 404: no such query
	ErrMethodNotAllowed = "method_not_allowed" // 405
	ErrTxInCache        = "tx_in_cache"        // 409: the node has seen this transaction already
	ErrBodyTooLarge     = "body_too_large"     // 413: request body over MaxBodyBytes
	ErrTxTooLarge       = "tx_too_large"       // 413: transaction over the mempool's limit
	ErrTxRejected       = "tx_rejected"        // 422: CheckTx refused the transaction (see abci_code)
	ErrQueryFailed      = "query_failed"       // 422: the query refused its data or found nothing
	ErrInternal         = "internal"           // 500
	ErrUnavailable      = "unavailable"        // 503: the node cannot answer now
	ErrNotReady         = "not_ready"          // 503: no block committed yet
	ErrMempoolFull      = "mempool_full"       // 503
	ErrBusy             = "busy"               // 503: too many waiting commit submissions or challenges
	ErrCommitTimeout    = "commit_timeout"     // 504: the transaction was not committed in time
)

// ErrorCodes lists every error code the gateway answers with.
func ErrorCodes() []string {
	return []string{
		ErrBadRequest, ErrUnknownScheme, ErrChallengeInvalid, ErrBadSignature, ErrForbidden,
		ErrNotFound, ErrTxNotFound, ErrUnknownQuery, ErrMethodNotAllowed, ErrTxInCache,
		ErrBodyTooLarge, ErrTxTooLarge, ErrTxRejected, ErrQueryFailed, ErrInternal,
		ErrUnavailable, ErrNotReady, ErrMempoolFull, ErrBusy, ErrCommitTimeout,
	}
}

// ErrorDetail is the "error" member of an error body.
type ErrorDetail struct {
	// Code is stable and meant for programs; Message is for people.
	Code    string `json:"code"`
	Message string `json:"message"`
	// ABCICode and Codespace are the application's result code when the
	// application refused a transaction or a read (docs/spec/transactions.md).
	ABCICode  uint32 `json:"abci_code,omitempty"`
	Codespace string `json:"codespace,omitempty"`
	// Hash is the transaction hash (hex) for errors of POST /v1/tx.
	Hash string `json:"hash,omitempty"`
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeErrorDetail(w, status, ErrorDetail{Code: code, Message: msg})
}

func writeErrorDetail(w http.ResponseWriter, status int, d ErrorDetail) {
	if d.Message == "" {
		d.Message = http.StatusText(status)
	}
	writeJSON(w, status, ErrorBody{Error: d})
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

// decodeBody reads the body and decodes it strictly into v: one JSON value,
// no unknown fields, no trailing data. It answers the error itself; ok is
// false then. An empty body is refused when required.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, required bool) (ok bool) {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			writeError(w, http.StatusBadRequest, ErrBadRequest, "request body is empty; want a JSON object")
			return false
		}
		return true
	}
	if err := decodeStrict(body, v); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return false
	}
	return true
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields, so that a misspelt field is an error rather than silently ignored.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			field := typeErr.Field
			if field == "" {
				field = "body"
			}
			return fmt.Errorf("%s: want %s, got JSON %s", field, typeErr.Type, typeErr.Value)
		case errors.As(err, &syntaxErr):
			return fmt.Errorf("malformed JSON at byte %d: %v", syntaxErr.Offset, err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("malformed JSON: unexpected end of input")
		}
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("malformed JSON: trailing data after the value")
	}
	return nil
}
