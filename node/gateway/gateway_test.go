package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/idos-network/idos-node/node/wire"
)

// failingStatus is only for error paths; the success path runs against a
// real node in the runner test.
type failingStatus struct{}

func (failingStatus) Status(context.Context) (*coretypes.ResultStatus, error) {
	return nil, errors.New("node stopped")
}

func TestErrors(t *testing.T) {
	s, err := New(Config{ListenAddr: "127.0.0.1:0", Status: failingStatus{}})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/v1/", http.StatusNotFound, "not_found"},
		{http.MethodPost, "/v1/health", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodDelete, "/v1/status", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/v1/status", http.StatusServiceUnavailable, "unavailable"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: content type %q", tc.method, tc.path, ct)
		}
		var body wire.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: body %q: %v", tc.method, tc.path, rec.Body, err)
		}
		if body.Error.Code != tc.code || body.Error.Message == "" {
			t.Errorf("%s %s: error %+v, want code %q", tc.method, tc.path, body.Error, tc.code)
		}
		if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, rec.Header().Get("Allow"))
		}
	}
}

func TestHealthAndLifecycle(t *testing.T) {
	s, err := New(Config{ListenAddr: "127.0.0.1:0", Status: failingStatus{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr().String() + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || body["status"] != "ok" {
		t.Fatalf("health: %d %v %v", resp.StatusCode, body, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/v1/health"); err == nil {
		t.Error("gateway still answers after Shutdown")
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Config{ListenAddr: "127.0.0.1:0"}); err == nil {
		t.Error("New without status source succeeded")
	}
	if _, err := New(Config{ListenAddr: "8080", Status: failingStatus{}}); err == nil {
		t.Error("New with bad address succeeded")
	}
}
