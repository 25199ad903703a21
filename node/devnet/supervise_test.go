package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/wire"
)

// statusServer answers /v1/status with st (HTTP 200) on a loopback port and
// returns its address.
func statusServer(t *testing.T, st wire.StatusResponse) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status" && r.URL.Path != "/v1/health" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(st)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// Readiness is the node's identity, not any HTTP 200: a server on the
// gateway's port answering for another chain, or for another node of the
// same chain, is refused until the deadline; the node itself is accepted.
func TestWaitReadyChecksIdentity(t *testing.T) {
	const chain, id = "idos-devnet", "c3601b70319fe1b4bb0d00a7af67ae5588a67d2d"
	for _, tc := range []struct {
		name string
		st   wire.StatusResponse
		ok   bool
	}{
		{"foreign chain", wire.StatusResponse{ChainID: "other-chain", NodeID: id}, false},
		{"other node", wire.StatusResponse{ChainID: chain, NodeID: "609c19b4bce4683531032e6d913ad5cebdf336e2"}, false},
		{"empty answer", wire.StatusResponse{}, false},
		{"the node", wire.StatusResponse{ChainID: chain, NodeID: id}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := Node{Name: "node0", GatewayAddr: statusServer(t, tc.st), NodeID: id}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := waitReady(ctx, chain, []Node{n})
			if tc.ok {
				if err != nil {
					t.Fatalf("the node itself not ready: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrWrongNode) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "node0") {
				t.Fatalf("foreign server accepted or wrong error: %v", err)
			}
		})
	}
}

// The console shows a node's errors but not CometBFT's peer-dialing noise
// at start; the node's log file keeps every line.
func TestConsoleFilter(t *testing.T) {
	lines := []struct {
		line    string
		console bool
	}{
		{`time=2026-12-01T16:33:05.845Z level=ERROR msg="Error dialing peer" module=p2p err="dial tcp 127.0.0.1:41320: connect: connection refused"`, false},
		{`time=2026-12-01T16:33:17.163Z level=ERROR msg="Stopping peer for error" module=p2p peer="Peer{MConn{127.0.0.1:53700} 609c in}" err=EOF`, false},
		{`{"time":"2026-12-01T16:33:17Z","level":"ERROR","msg":"Stopping peer for error","module":"p2p","err":"EOF"}`, false},
		{`time=2026-12-01T16:33:17.163Z level=ERROR msg="error while stopping peer" module=p2p error="already stopped"`, false},
		{`time=2026-12-01T16:33:17.163Z level=ERROR msg="Stopping peer for error" module=p2p err="auth failure: secret conn failed"`, true},
		{`time=2026-12-01T16:33:18Z level=ERROR msg="commit failed" module=app err="disk full"`, true},
		{`time=2026-12-01T16:33:18Z level=INFO msg="committed state" height=3`, false},
		{`panic: runtime error: index out of range`, true},
	}
	var file, console bytes.Buffer
	var stopping atomic.Bool
	w := &summaryWriter{file: &file, console: &console, prefix: "[node0] ", stopping: &stopping}
	var all string
	for _, l := range lines {
		all += l.line + "\n"
	}
	// Written in odd pieces, as a pipe delivers them.
	for b := []byte(all); len(b) > 0; {
		k := min(len(b), 37)
		if _, err := w.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	if file.String() != all {
		t.Fatalf("log file lost lines:\n%s", file.String())
	}
	var want string
	for _, l := range lines {
		if l.console {
			want += "[node0] " + l.line + "\n"
		}
	}
	if console.String() != want {
		t.Fatalf("console:\n%s\nwant:\n%s", console.String(), want)
	}
}

// On a fresh shared cache node 0 starts alone; if it dies there, Run says
// so at once (not after the readiness timeout) and starts no other node.
func TestRunNodeDiesWhileFillingCache(t *testing.T) {
	falseBin, err := exec.LookPath("false")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := Create(Config{Dir: dir, Validators: 3, BasePort: 20000})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	began := time.Now()
	err = Run(context.Background(), dir, m, RunOptions{Executable: falseBin, Out: &out, ReadyTimeout: time.Minute})
	if !errors.Is(err, ErrNodeDied) || !strings.Contains(err.Error(), "node0") {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Fatalf("death noticed after %s", d)
	}
	if strings.Contains(out.String(), "node1") {
		t.Fatalf("other nodes started:\n%s", out.String())
	}
	if fi, err := os.Stat(filepath.Join(dir, WasmCacheDir)); err != nil || !fi.IsDir() {
		t.Fatalf("no shared cache directory: %v", err)
	}
}
