package wasmhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/auth"
)

// RFC 8032 section 7.1, TEST 1 (empty message).
var (
	rfcPub = mustHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	rfcSig = mustHex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" +
		"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestValidPluginEd25519(t *testing.T) {
	r := newTestRuntime(t, Config{})
	wasm := guest(t, guestVariant{})
	p := register(t, r, guestVariant{})

	if got, want := p.Hash(), sha256.Sum256(wasm); got != want {
		t.Fatalf("Hash = %x, want %x", got, want)
	}
	want := Metadata{ABI: 1, Kind: "signature", Scheme: "test_ed25519", KeyType: "ed25519", AddressFormat: "lowercase hex of the 32-byte public key"}
	if p.Metadata() != want || p.Name() != "test_ed25519" {
		t.Fatalf("metadata %+v name %q", p.Metadata(), p.Name())
	}

	id, err := p.Verify(rfcPub, nil, rfcSig)
	if err != nil {
		t.Fatalf("RFC 8032 vector 1: %v", err)
	}
	// Same identifier as the native scheme.
	native, _ := auth.DefaultRegistry().Lookup(auth.SchemeEd25519)
	nativeID, err := native.Verify(rfcPub, nil, rfcSig)
	if err != nil || id != nativeID {
		t.Fatalf("plugin id %q, native %q (%v)", id, nativeID, err)
	}

	for i := range []int{0, 31, 63} {
		bad := bytes.Clone(rfcSig)
		bad[i] ^= 1
		if _, err := p.Verify(rfcPub, nil, bad); !errors.Is(err, auth.ErrInvalidSignature) {
			t.Fatalf("flipped bit %d: err = %v, want ErrInvalidSignature", i, err)
		}
	}
	if _, err := p.Verify(rfcPub, []byte("x"), rfcSig); !errors.Is(err, auth.ErrInvalidSignature) {
		t.Fatalf("other message: err = %v", err)
	}
	if _, err := p.Verify(rfcPub[:31], nil, rfcSig); !errors.Is(err, auth.ErrInvalidSigner) || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("short signer: err = %v, want ErrInvalidSigner with the guest's text", err)
	}

	// A plugin joins the registry like a native scheme.
	reg, err := auth.NewRegistry(p)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := reg.Lookup("test_ed25519"); err != nil || s != auth.Scheme(p) {
		t.Fatalf("lookup: %v", err)
	}
}

func TestRegisterRejects(t *testing.T) {
	r := newTestRuntime(t, Config{})
	cases := []struct {
		v    guestVariant
		want error
		text string
	}{
		{guestVariant{mode: "abi2"}, ErrABIVersion, "ABI 2"},
		{guestVariant{tags: "noverify"}, ErrMissingExport, "idos_verify"},
		{guestVariant{tags: "badsig"}, ErrMissingExport, "idos_verify has type (i32) -> (i64)"},
		{guestVariant{tags: "envimport"}, ErrForbiddenImport, "env.foo"},
		{guestVariant{mode: "badjson"}, ErrBadMetadata, ""},
		{guestVariant{mode: "badscheme"}, ErrBadMetadata, "Ed-25519"},
		{guestVariant{mode: "badkeytype"}, ErrBadMetadata, "rsa"},
		{guestVariant{mode: "unknownfield"}, ErrBadMetadata, "extra"},
		{guestVariant{mode: "dupkey"}, ErrBadMetadata, "duplicate"},
	}
	for _, c := range cases {
		t.Run(c.v.mode+c.v.tags, func(t *testing.T) {
			_, err := r.Register(context.Background(), guest(t, c.v))
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.text)
			}
		})
	}
	t.Run("garbage", func(t *testing.T) {
		if _, err := r.Register(context.Background(), []byte("\x00asm garbage")); !errors.Is(err, ErrInvalidModule) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseMetadata(t *testing.T) {
	ok := `{"abi":1,"kind":"signature","scheme":"eip191","key_type":"secp256k1","address_format":"EIP-55"}`
	if _, err := parseMetadata([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		``, `[]`, `null`, ok + ` {}`, ok + `x`,
		`{"abi":1.0,"kind":"signature","scheme":"eip191","key_type":"secp256k1","address_format":"x"}`,
		`{"abi":"1","kind":"signature","scheme":"eip191","key_type":"secp256k1","address_format":"x"}`,
		`{"abi":2,"kind":"signature","scheme":"eip191","key_type":"secp256k1","address_format":"x"}`,
		`{"abi":1,"kind":"driver","scheme":"eip191","key_type":"secp256k1","address_format":"x"}`,
		`{"abi":1,"kind":"signature","scheme":"","key_type":"secp256k1","address_format":"x"}`,
		`{"abi":1,"kind":"signature","scheme":"` + strings.Repeat("a", 33) + `","key_type":"secp256k1","address_format":"x"}`,
		`{"abi":1,"kind":"signature","scheme":"eip191","key_type":"secp256k1","address_format":""}`,
		`{"abi":1,"kind":"signature","scheme":"eip191","key_type":"secp256k1"}`,
		`{"ABI":1,"kind":"signature","scheme":"eip191","key_type":"secp256k1","address_format":"x"}`,
		"{\"abi\":1,\"kind\":\"signature\",\"scheme\":\"eip191\",\"key_type\":\"secp256k1\",\"address_format\":\"\xff\"}",
	} {
		if _, err := parseMetadata([]byte(bad)); !errors.Is(err, ErrBadMetadata) {
			t.Errorf("%q: err = %v, want ErrBadMetadata", bad, err)
		}
	}
}

// TestHostileCalls runs every call-time attack of the hostile guest twice:
// each must fail with the same classified error and use the same fuel both
// times, and the plugin must still verify correctly afterwards.
func TestHostileCalls(t *testing.T) {
	// These attacks must fail by their own deterministic fault (trap, fuel,
	// call depth, size, protocol), never by the local timeout, which is a
	// safety net only. A generous timeout keeps the race detector's
	// slowdown from turning a deterministic fault into a timeout.
	r := newTestRuntime(t, Config{CallTimeout: 60 * time.Second})
	p := register(t, r, guestVariant{mode: "hostile"})
	cases := []struct {
		cmd  string
		want error
	}{
		{"panic", ErrTrap},
		{"nil", ErrTrap},
		// memory.grow costs a unit of fuel per byte asked for, so the
		// default fuel runs out before the 64 MiB memory cap (see
		// bomb-at-cap below).
		{"bomb", ErrOutOfFuel},
		{"recurse", ErrCallDepth},
		{"loop", ErrOutOfFuel},
		{"hostoob", ErrTrap},
		{"huge", ErrOutputTooLarge},
		{"oob", ErrProtocol},
		{"empty", ErrProtocol},
		{"badstatus", ErrProtocol},
		{"badutf8", ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.cmd, func(t *testing.T) {
			start := time.Now()
			_, fuel1, err1 := p.VerifyFuel(rfcPub, []byte(c.cmd), rfcSig)
			elapsed := time.Since(start)
			_, fuel2, err2 := p.VerifyFuel(rfcPub, []byte(c.cmd), rfcSig)
			if !errors.Is(err1, c.want) {
				t.Fatalf("err = %v, want %v", err1, c.want)
			}
			if errors.Is(err1, auth.ErrInvalidSignature) || errors.Is(err1, auth.ErrInvalidSigner) {
				t.Fatalf("a plugin fault must not look like a verdict: %v", err1)
			}
			if err2 == nil || err1.Error() != err2.Error() || fuel1 != fuel2 {
				t.Fatalf("not deterministic:\n%v (fuel %d)\n%v (fuel %d)", err1, fuel1, err2, fuel2)
			}
			t.Logf("%s in %s, fuel %d: %v", c.cmd, elapsed, fuel1, err1)
			if _, err := p.Verify(rfcPub, nil, rfcSig); err != nil {
				t.Fatalf("plugin broken after %s: %v", c.cmd, err)
			}
		})
	}
	t.Run("hostoob-is-bounds", func(t *testing.T) {
		_, err := p.Verify(rfcPub, []byte("hostoob"), rfcSig)
		if !errors.Is(err, errOutOfBounds) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bomb-at-cap", func(t *testing.T) {
		r := newTestRuntime(t, Config{CallTimeout: 60 * time.Second, FuelLimit: 1 << 32})
		p := register(t, r, guestVariant{mode: "hostile"})
		if _, err := p.Verify(rfcPub, []byte("bomb"), rfcSig); !errors.Is(err, ErrTrap) {
			t.Fatalf("with fuel for more than the memory cap: err = %v, want ErrTrap", err)
		}
	})
	t.Run("fresh-instance", func(t *testing.T) {
		for range 3 {
			if id, err := p.Verify(rfcPub, []byte("state"), rfcSig); err != nil || id != "1" {
				t.Fatalf("state leaked between calls: %q %v", id, err)
			}
		}
	})
}

func TestGuestLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := newTestRuntime(t, Config{Logger: logger})
	p := register(t, r, guestVariant{mode: "hostile"})
	if id, err := p.Verify(rfcPub, []byte("log"), rfcSig); err != nil || id != "logged" {
		t.Fatalf("%q %v", id, err)
	}
	// A panicking guest's stderr reaches the debug log.
	if _, err := p.Verify(rfcPub, []byte("panic"), rfcSig); !errors.Is(err, ErrTrap) {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"hello from the guest", "plugin=test_ed25519", "guest panic"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestTimeoutSafetyNet gives a guest spinning forever more fuel than it
// could burn before the wall-clock timeout: the safety net must stop it
// (by draining its fuel, without wazero's per-loop termination checks) and
// say so with ErrTimeout, not ErrOutOfFuel.
//
// Garbage collection is off during the call: compiled guest code has no Go
// safepoints, so a stop-the-world that begins while the guest spins waits
// for the guest, and the timer that drains the fuel waits for the world.
// Fuel is then the only bound (see Plugin.guarded); 2^40 units keep that
// case to about a minute instead of forever.
func TestTimeoutSafetyNet(t *testing.T) {
	const timeout = 300 * time.Millisecond
	r := newTestRuntime(t, Config{CallTimeout: timeout, FuelLimit: 1 << 40})
	p := register(t, r, guestVariant{mode: "hostile"})
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	start := time.Now()
	_, err := p.Verify(rfcPub, []byte("loop"), rfcSig)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrOutOfFuel) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	// No upper bound: the safety net is best effort by design (the timer
	// goroutine cannot run while a stop-the-world waits for the spinning
	// guest, which has no safepoints), and CI machines are loaded. What
	// must hold is the class: a timeout, never mistaken for fuel.
	if elapsed < timeout {
		t.Fatalf("stopped after %s, before the %s timeout", elapsed, timeout)
	}
	t.Logf("loop stopped after %s: %v", elapsed, err)
	if _, err := p.Verify(rfcPub, nil, rfcSig); err != nil {
		t.Fatalf("plugin broken after timeout: %v", err)
	}
}

// TestFuelDeterministic pins down what consensus relies on: a call uses
// the same fuel on a pooled (reset) instance, on a fresh instance, after
// loading the compiled code from the cache directory, on the interpreter
// engine, and on repeated runs; and the limit is exact: a call succeeds with exactly the fuel it
// uses and fails with ErrOutOfFuel with one unit less.
func TestFuelDeterministic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	type input struct {
		name             string
		wasm             []byte
		signer, msg, sig []byte
	}
	inputs := []input{
		{"ed25519 guest", guest(t, guestVariant{}), rfcPub, nil, rfcSig},
		{"ed25519 guest, invalid", guest(t, guestVariant{}), rfcPub, []byte("x"), rfcSig},
		{"eip191 plugin", readPlugin(t, "eip191"), eip191Signer, eip191Msg, eip191Sig},
	}
	fuelOf := func(t *testing.T, cfg Config, in input, calls int) uint64 {
		t.Helper()
		r := newTestRuntime(t, cfg)
		p, err := r.Register(ctx, in.wasm)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = p.Close(ctx) }()
		var first uint64
		for i := range calls {
			_, used, err := p.VerifyFuel(in.signer, in.msg, in.sig)
			if err != nil && !errors.Is(err, auth.ErrInvalidSignature) {
				t.Fatal(err)
			}
			if used == 0 {
				t.Fatal("no fuel used")
			}
			if i == 0 {
				first = used
			} else if used != first {
				t.Fatalf("call %d used %d fuel, call 0 used %d", i, used, first)
			}
		}
		return first
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			pooled := fuelOf(t, Config{CacheDir: dir}, in, 5)
			fresh := fuelOf(t, Config{MaxIdleInstances: -1}, in, 2)
			cached := fuelOf(t, Config{CacheDir: dir}, in, 2)
			interpreted := fuelOf(t, Config{interpreter: true}, in, 2)
			if pooled != fresh || pooled != cached || pooled != interpreted {
				t.Fatalf("fuel: pooled %d, fresh %d, from cache %d, interpreter %d", pooled, fresh, cached, interpreted)
			}
			t.Logf("%s: %d fuel", in.name, pooled)

			exact := fuelOf(t, Config{CacheDir: dir, FuelLimit: pooled}, in, 2)
			if exact != pooled {
				t.Fatalf("with a limit of exactly %d: used %d", pooled, exact)
			}
			r := newTestRuntime(t, Config{CacheDir: dir, FuelLimit: pooled - 1})
			p, err := r.Register(ctx, in.wasm)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				_, used, err := p.VerifyFuel(in.signer, in.msg, in.sig)
				if !errors.Is(err, ErrOutOfFuel) || used != pooled-1 {
					t.Fatalf("limit %d: used %d, err %v; want ErrOutOfFuel", pooled-1, used, err)
				}
			}
		})
	}
}

// TestInitFuel: _initialize has its own limit, applied at registration.
func TestInitFuel(t *testing.T) {
	r := newTestRuntime(t, Config{InitFuelLimit: 1000})
	_, err := r.Register(context.Background(), guest(t, guestVariant{}))
	if !errors.Is(err, ErrOutOfFuel) || !strings.Contains(err.Error(), "_initialize") {
		t.Fatalf("err = %v, want ErrOutOfFuel in _initialize", err)
	}
}

func TestConcurrentVerify(t *testing.T) {
	r := newTestRuntime(t, Config{})
	p := register(t, r, guestVariant{})
	bad := bytes.Clone(rfcSig)
	bad[10] ^= 0x80
	const workers, rounds = 8, 10
	type result struct {
		id  string
		err string
	}
	results := make([][]result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				sig := rfcSig
				if i%2 == 1 {
					sig = bad
				}
				id, err := p.Verify(rfcPub, nil, sig)
				res := result{id: id}
				if err != nil {
					res.err = err.Error()
				}
				results[w] = append(results[w], res)
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for i, res := range results[w] {
			if res != results[0][i] {
				t.Fatalf("worker %d round %d: %+v, worker 0: %+v", w, i, res, results[0][i])
			}
			if (i%2 == 0) != (res.err == "") {
				t.Fatalf("round %d: %+v", i, res)
			}
		}
	}
}

func TestCompilationCacheDir(t *testing.T) {
	dir := t.TempDir()
	wasm := guest(t, guestVariant{})
	var times [2]time.Duration
	for i := range times {
		r := newTestRuntime(t, Config{CacheDir: dir})
		start := time.Now()
		p, err := r.Register(context.Background(), wasm)
		if err != nil {
			t.Fatal(err)
		}
		times[i] = time.Since(start)
		if _, err := p.Verify(rfcPub, nil, rfcSig); err != nil {
			t.Fatal(err)
		}
		_ = r.Close(context.Background())
	}
	t.Logf("register cold %s, from cache %s", times[0], times[1])
	if times[1] >= times[0] {
		t.Fatalf("cached registration (%s) not faster than cold (%s)", times[1], times[0])
	}
}

// TestStackBudgetConfig: the budget is in stack units, bounded by
// MaxStackBudget (the engines' ceilings), and a budget too small for the
// Go runtime's own call chain stops _initialize with ErrCallDepth.
func TestStackBudgetConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := NewRuntime(ctx, Config{StackBudget: MaxStackBudget + 1}); err == nil {
		t.Fatalf("stack budget %d accepted", MaxStackBudget+1)
	}
	r := newTestRuntime(t, Config{StackBudget: 500})
	_, err := r.Register(ctx, guest(t, guestVariant{mode: "valid"}))
	if !errors.Is(err, ErrCallDepth) || !strings.Contains(err.Error(), "_initialize") {
		t.Fatalf("register with a 500-unit stack: %v, want ErrCallDepth in _initialize", err)
	}
}
