package driverhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// TestHostileDriver: each misbehaviour of testdata/hostile (chosen by its
// configured contract) ends the poll with its typed error, on both
// engines, and the runtime keeps serving.
func TestHostileDriver(t *testing.T) {
	wasm, err := os.ReadFile("testdata/hostile.wasm")
	if err != nil {
		t.Fatal(err)
	}
	c := newChain(t)
	for _, interp := range []bool{false, true} {
		rt := newRuntime(t, interp)
		for _, tc := range []struct {
			mode string
			want []error
		}{
			{"loop", []error{wasmhost.ErrOutOfFuel}},
			{"trap", []error{wasmhost.ErrTrap}},
			{"memory", []error{wasmhost.ErrTrap}},
			{"endpoint", []error{ErrEndpoint}},
			{"calls", []error{ErrTooLarge}},
			{"oversized", []error{ErrDriver, observation.ErrInvalid}},
			{"malformed", []error{ErrDriver, observation.ErrInvalid}},
			{"otherchain", []error{ErrDriver, observation.ErrInvalid}},
			{"flood", []error{ErrTooLarge}},
		} {
			t.Run(fmt.Sprintf("interpreter=%v/%s", interp, tc.mode), func(t *testing.T) {
				// Enough for the flood's encoding; the interpreter spends
				// fuel slowly.
				fuel := uint64(300_000_000)
				if interp && tc.mode == "loop" {
					fuel = 50_000_000
				}
				d, err := Load(context.Background(), rt, wasm, Config{Chain: "eip155:1337", Contract: tc.mode,
					Endpoints: []string{c.URL}, FuelLimit: fuel, MaxCalls: 8})
				if err != nil {
					t.Fatal(err)
				}
				obs, next, err := d.Poll(context.Background(), nil)
				for _, w := range tc.want {
					if !errors.Is(err, w) {
						t.Errorf("interpreter=%v %s: err = %v, want %v", interp, tc.mode, err, w)
					}
				}
				if obs != nil || next != nil {
					t.Errorf("%s: results with an error: %v %q", tc.mode, obs, next)
				}
				// Not closed until the runtime is: wazero then reuses the
				// compiled code for the next mode instead of compiling again.
			})
		}
		// A well-behaved poll on the same runtime afterwards.
		d, err := Load(context.Background(), rt, wasm, Config{Chain: "eip155:1337", Contract: "ok", Endpoints: []string{c.URL}})
		if err != nil {
			t.Fatal(err)
		}
		if obs, next, err := d.Poll(context.Background(), nil); err != nil || len(obs) != 1 || string(next) != "c" {
			t.Fatalf("good poll after hostile ones: %v %q %v", obs, next, err)
		}
	}
}

// TestPollTimeout: the wall-clock bound stops a driver whose fuel would
// last far longer, with wasmhost.ErrTimeout.
func TestPollTimeout(t *testing.T) {
	wasm, err := os.ReadFile("testdata/hostile.wasm")
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, false)
	d, err := Load(context.Background(), rt, wasm, Config{Chain: "x:1", Contract: "loop", Endpoints: []string{"http://127.0.0.1:1"},
		FuelLimit: wasmhost.MaxFuelLimit, PollTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Load runs _initialize under the same bound; under the race detector
	// on a loaded machine that took over 300 ms once. Only the poll is
	// what this test times.
	d.cfg.PollTimeout = 300 * time.Millisecond
	start := time.Now()
	if _, _, err := d.Poll(context.Background(), nil); !errors.Is(err, wasmhost.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("timeout took %v", el)
	}
}

// TestLoadRefuses: a module importing anything beyond WASI and rpc_call
// (here a signature plugin, which imports idos.*) is refused, as are
// missing configuration and a driver needing confirmations without them.
func TestLoadRefuses(t *testing.T) {
	rt := newRuntime(t, false)
	plugin, err := os.ReadFile("../../sigplugins/eip191/eip191.wasm")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Chain: "x:1", Contract: "0x1", Confirmations: 1, Endpoints: []string{"http://127.0.0.1:1"}}
	if _, err := Load(context.Background(), rt, plugin, cfg); !errors.Is(err, ErrInvalidModule) {
		t.Errorf("signature plugin as driver: %v", err)
	}
	if _, err := Load(context.Background(), rt, []byte("\x00asm junk"), cfg); !errors.Is(err, ErrInvalidModule) {
		t.Errorf("junk: %v", err)
	}
	evm, err := os.ReadFile("../../wasmdrivers/evm/evm.wasm")
	if err != nil {
		t.Fatal(err)
	}
	noConf := cfg
	noConf.Confirmations = 0
	if _, err := Load(context.Background(), rt, evm, noConf); !errors.Is(err, ErrBadMetadata) {
		t.Errorf("evm without confirmations: %v", err)
	}
	noEP := cfg
	noEP.Endpoints = nil
	if _, err := Load(context.Background(), rt, evm, noEP); !errors.Is(err, ErrBadMetadata) {
		t.Errorf("no endpoints: %v", err)
	}
}

// TestCompilationCache: a second runtime on the same cache directory loads
// the driver from the compiled code the first one stored.
func TestCompilationCache(t *testing.T) {
	dir := t.TempDir()
	wasm, err := os.ReadFile("../../wasmdrivers/template/template.wasm")
	if err != nil {
		t.Fatal(err)
	}
	var took [2]time.Duration
	for i := range took {
		rt, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := Load(context.Background(), rt, wasm, Config{Chain: "x:1", Contract: "0x1", Confirmations: 1, Endpoints: []string{"http://127.0.0.1:1"}}); err != nil {
			t.Fatal(err)
		}
		took[i] = time.Since(start)
		if err := rt.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir + "/drivers")
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache directory: %v %v", entries, err)
	}
	t.Logf("load: %v compiling, %v from the cache", took[0], took[1])
}

// TestPollIsolation: every poll starts from the post-_initialize state,
// in a fresh instance or in the previous poll's reset to it: the hostile
// driver's counter, which it never resets, reads 1 after each poll. A clean
// poll's instance is reused; after a trap, or a poll that grew the memory,
// the next poll gets a fresh one.
func TestPollIsolation(t *testing.T) {
	wasm, err := os.ReadFile("testdata/hostile.wasm")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, interp := range []bool{false, true} {
		d, err := Load(ctx, newRuntime(t, interp), wasm, Config{Chain: "eip155:1337", Contract: "state", Endpoints: []string{"http://127.0.0.1:1"}})
		if err != nil {
			t.Fatal(err)
		}
		for i, step := range []struct {
			cursor, want string
			fresh        bool
		}{
			{"", "1", true},
			{"count", "1", false},
			{"count", "1", false},
			{"trap", "", false},
			{"count", "1", true},
			{"grow", "1", false},
			{"count", "1", true},
			{"count", "1", false},
		} {
			before := d.instances.Load()
			_, next, err := d.Poll(ctx, []byte(step.cursor))
			if step.cursor == "trap" && !errors.Is(err, wasmhost.ErrTrap) || step.cursor != "trap" && err != nil || string(next) != step.want {
				t.Fatalf("interpreter=%v poll %d (%s): cursor %q, %v", interp, i, step.cursor, next, err)
			}
			if fresh := d.instances.Load() != before; fresh != step.fresh {
				t.Fatalf("interpreter=%v poll %d (%s): fresh instance %v, want %v", interp, i, step.cursor, fresh, step.fresh)
			}
		}
		if err := d.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
