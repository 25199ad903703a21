package wasmhost

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// guestVariant selects one build of testdata/guest.
type guestVariant struct {
	mode string // -X main.mode
	tags string // build tags, comma separated
}

var (
	guestDir   string // per-process build output, removed by TestMain
	guestMu    sync.Mutex
	guestCache = map[guestVariant]*guestBuild{}
)

type guestBuild struct {
	once sync.Once
	wasm []byte
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmhost-guests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guestDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// guest builds the test guest once per variant per test process: the Go
// compiler is the slow part of these tests (the first build compiles the
// runtime for wasip1; later variants only link).
func guest(tb testing.TB, v guestVariant) []byte {
	tb.Helper()
	guestMu.Lock()
	b, ok := guestCache[v]
	if !ok {
		b = &guestBuild{}
		guestCache[v] = b
	}
	guestMu.Unlock()
	b.once.Do(func() { b.wasm, b.err = buildGuest(v) })
	if b.err != nil {
		tb.Fatalf("build guest %+v: %v", v, b.err)
	}
	return b.wasm
}

func buildGuest(v guestVariant) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	name := strings.NewReplacer(",", "_").Replace(fmt.Sprintf("guest-%s-%s.wasm", v.mode, v.tags))
	out := filepath.Join(guestDir, name)
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", out}
	if v.mode != "" {
		args = append(args, "-ldflags=-X=main.mode="+v.mode)
	}
	if v.tags != "" {
		args = append(args, "-tags="+v.tags)
	}
	args = append(args, "./testdata/guest")
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return os.ReadFile(out)
}

// newTestRuntime shares one compilation cache per test process unless cfg
// names its own: compiling a metered Go guest takes seconds (much longer
// under -race), and most tests register the same few modules.
func newTestRuntime(tb testing.TB, cfg Config) *Runtime {
	tb.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(guestDir, "compilation-cache")
	}
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func register(tb testing.TB, r *Runtime, v guestVariant) *Plugin {
	tb.Helper()
	start := time.Now()
	p, err := r.Register(context.Background(), guest(tb, v))
	if err != nil {
		tb.Fatalf("register %+v: %v", v, err)
	}
	tb.Logf("registered %+v in %s", v, time.Since(start))
	return p
}
