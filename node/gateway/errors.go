package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/idos-network/idos-node/internal/jsontext"
	"github.com/idos-network/idos-node/node/wire"
)

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeErrorDetail(w, status, wire.ErrorDetail{Code: code, Message: msg})
}

func writeErrorDetail(w http.ResponseWriter, status int, d wire.ErrorDetail) {
	if d.Message == "" {
		d.Message = http.StatusText(status)
	}
	writeJSON(w, status, wire.ErrorBody{Error: d})
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
// false then. An empty body is refused when required, a body declared as
// something else than JSON always (jsonContent).
func decodeBody(w http.ResponseWriter, r *http.Request, v any, required bool) (ok bool) {
	if ct := r.Header.Get("Content-Type"); !jsonContent(ct) {
		writeError(w, http.StatusUnsupportedMediaType, wire.ErrUnsupportedMedia,
			fmt.Sprintf("Content-Type %q: the body must be JSON, sent as application/json (curl: -H 'Content-Type: application/json')", ct))
		return false
	}
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "request body is empty; want a JSON object")
			return false
		}
		return true
	}
	if err := decodeStrict(body, v); err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, err.Error())
		return false
	}
	return true
}

// jsonContent reports whether a request's Content-Type allows a JSON body:
// none (as many HTTP tools send), application/json or a +json type. A body
// declared as text or a form is not parsed as JSON by guess: the sender
// meant something else, and 415 says what to send.
func jsonContent(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")))
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
			return errors.New(jsontext.TypeError(typeErr))
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
