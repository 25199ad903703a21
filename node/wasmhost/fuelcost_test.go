package wasmhost

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/auth"
)

// A hand-assembled plugin whose idos_verify repeats one piece of code
// (the "class" under test) as many times as the little-endian u32 at the
// start of the message says, then answers "invalid signature"; 0xffffffff
// runs until the fuel runs out. It implements the ABI with the fewest
// instructions, so that nearly all of a call's fuel and time is the class.
//
// Memory layout: [0, 1 KiB) scratch, the metadata at 1 KiB, the result at
// 2 KiB, crypto inputs at 3 KiB, idos_alloc's buffer at 64 KiB (page 1);
// hash inputs start at 0 and may cover all of the initial memory; bulk
// memory operations write above 4 KiB.
type costClass struct {
	name    string
	imports []string // host functions, in import order
	pages   uint32   // initial memory; the maximum is the host's cap
	body    []byte   // one iteration; locals 7 and 8 are free i32s
}

const (
	ccMetaOff   = 1024
	ccResultOff = 2048
	ccCryptoOff = 3072 // hash ‖ sig (65) ‖ pub (65), or ed25519 pub ‖ sig
	ccAllocOff  = 65536
)

var ccMetadata = []byte(`{"abi":1,"kind":"signature","scheme":"fuel_bench","key_type":"ed25519","address_format":"x"}`)

var ccResult = []byte("\x01spent")

// Host import types, by name.
var ccImportType = map[string]byte{
	"keccak256": 5, "sha256": 5, "sha512": 5, "ripemd160": 5, "log": 5,
	"secp256k1_recover": 6, "secp256k1_verify": 7, "ed25519_verify": 7,
}

func leb(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func sleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func wvec(items ...[]byte) []byte {
	out := leb(uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func wstr(s string) []byte { return append(leb(uint64(len(s))), s...) }

func wsection(id byte, body []byte) []byte {
	return append(append([]byte{id}, leb(uint64(len(body)))...), body...)
}

func wbody(locals []byte, code ...[]byte) []byte {
	b := append([]byte{}, locals...)
	for _, c := range code {
		b = append(b, c...)
	}
	return append(leb(uint64(len(b))), b...)
}

func i32c(v int64) []byte { return append([]byte{0x41}, sleb(v)...) }

// wasm assembles the class's module.
func (c costClass) wasm(memCap uint32) []byte {
	const i32, i64 = 0x7f, 0x7e
	types := wvec(
		[]byte{0x60, 0, 1, i32},                               // 0 () -> i32
		[]byte{0x60, 1, i32, 1, i32},                          // 1 (i32) -> i32
		[]byte{0x60, 2, i32, i32, 0},                          // 2 (i32, i32) -> ()
		[]byte{0x60, 0, 1, i64},                               // 3 () -> i64
		[]byte{0x60, 6, i32, i32, i32, i32, i32, i32, 1, i64}, // 4 verify
		[]byte{0x60, 3, i32, i32, i32, 0},                     // 5 hash, log
		[]byte{0x60, 3, i32, i32, i32, 1, i32},                // 6 recover
		[]byte{0x60, 4, i32, i32, i32, i32, 1, i32},           // 7 verify-style
		[]byte{0x60, 0, 0},                                    // 8 () -> ()
	)
	var imps [][]byte
	for _, name := range c.imports {
		imps = append(imps, append(append(wstr(hostModule), wstr(name)...), 0, ccImportType[name]))
	}
	n := uint64(len(c.imports))
	abi, alloc, free, meta, verify, callee := n, n+1, n+2, n+3, n+4, n+5
	funcs := wvec([]byte{0}, []byte{1}, []byte{2}, []byte{3}, []byte{4}, []byte{8})
	table := wvec([]byte{0x70, 0, 1}) // one funcref
	memory := wvec(append(append([]byte{1}, leb(uint64(c.pages))...), leb(uint64(memCap))...))
	exports := wvec(
		append(wstr(exportMemory), 2, 0),
		append(wstr(exportABIVersion), append([]byte{0}, leb(abi)...)...),
		append(wstr(exportAlloc), append([]byte{0}, leb(alloc)...)...),
		append(wstr(exportFree), append([]byte{0}, leb(free)...)...),
		append(wstr(exportMetadata), append([]byte{0}, leb(meta)...)...),
		append(wstr(exportVerify), append([]byte{0}, leb(verify)...)...),
	)
	elem := wvec(append(append([]byte{0}, append(i32c(0), 0x0b)...), wvec(leb(callee))...))
	i64c := func(v int64) []byte { return append([]byte{0x42}, sleb(v)...) }
	// verify: local 6 = count; loop { if count == 0 { return result }; count--; body; br 0 }
	verifyBody := wbody(wvec([]byte{3, i32}),
		[]byte{0x20, 2, 0x28, 0, 0, 0x21, 6},
		[]byte{0x03, 0x40},
		[]byte{0x20, 6, 0x45, 0x04, 0x40}, i64c(ccResultOff<<32|int64(len(ccResult))), []byte{0x0f, 0x0b},
		[]byte{0x20, 6}, i32c(1), []byte{0x6b, 0x21, 6},
		c.body,
		[]byte{0x0c, 0, 0x0b, 0x00, 0x0b},
	)
	code := wvec(
		wbody([]byte{0}, i32c(1), []byte{0x0b}),
		wbody([]byte{0}, i32c(ccAllocOff), []byte{0x0b}),
		wbody([]byte{0}, []byte{0x0b}),
		wbody([]byte{0}, i64c(ccMetaOff<<32|int64(len(ccMetadata))), []byte{0x0b}),
		verifyBody,
		wbody([]byte{0}, []byte{0x0b}),
	)
	data := wvec(
		append(append([]byte{0}, append(i32c(ccMetaOff), 0x0b)...), append(leb(uint64(len(ccMetadata))), ccMetadata...)...),
		append(append([]byte{0}, append(i32c(ccResultOff), 0x0b)...), append(leb(uint64(len(ccResult))), ccResult...)...),
		append(append([]byte{0}, append(i32c(ccCryptoOff), 0x0b)...), append(leb(uint64(len(ccCrypto))), ccCrypto...)...),
	)
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, wsection(1, types)...)
	if len(imps) > 0 {
		out = append(out, wsection(2, wvec(imps...))...)
	}
	out = append(out, wsection(3, funcs)...)
	out = append(out, wsection(4, table)...)
	out = append(out, wsection(5, memory)...)
	out = append(out, wsection(7, exports)...)
	out = append(out, wsection(9, elem)...)
	out = append(out, wsection(10, code)...)
	out = append(out, wsection(11, data)...)
	return out
}

// ccCrypto: a secp256k1 hash, a valid signature of it (r‖s‖v) and the
// compressed key, then an Ed25519 key and signature (RFC 8032 TEST 1, of
// the empty message), so that the host does the whole of its work.
var ccCrypto = func() []byte {
	key, err := crypto.ToECDSA(mustHex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
	if err != nil {
		panic(err)
	}
	hash := crypto.Keccak256([]byte("fuel"))
	sig, err := crypto.Sign(hash, key)
	if err != nil {
		panic(err)
	}
	out := append(append(hash, sig...), crypto.CompressPubkey(&key.PublicKey)...)
	return append(append(out, rfcPub...), rfcSig...)
}()

const (
	ccSig    = ccCryptoOff + 32
	ccPub    = ccCryptoOff + 32 + 65
	ccEdPub  = ccCryptoOff + 32 + 65 + 33
	ccEdSig  = ccEdPub + 32
	ccHashTo = 512 // hash outputs
)

func repeat(n int, code ...[]byte) []byte {
	var one, out []byte
	for _, c := range code {
		one = append(one, c...)
	}
	for range n {
		out = append(out, one...)
	}
	return out
}

func call(fn int) []byte { return append([]byte{0x10}, leb(uint64(fn))...) }

// costClasses are the instruction classes and host functions measured by
// BenchmarkFuelCost, each with the worst case its name says.
func costClasses() []costClass {
	const mib = 1 << 20
	hash := func(name string, n int64) costClass {
		return costClass{name: fmt.Sprintf("%s/%d", name, n), imports: []string{name}, pages: uint32(max(n/65536, 2)),
			body: append(append(append(i32c(0), i32c(n)...), i32c(ccHashTo)...), call(0)...)}
	}
	const callee = 5 // after abi, alloc, free, metadata, verify (no imports)
	cs := []costClass{
		// The counter alone: one segment per 6 fuel, the densest metering.
		{name: "loop-empty", pages: 2},
		{name: "alu", pages: 2, body: repeat(32, []byte{0x20, 7}, i32c(3), []byte{0x6c, 0x20, 8, 0x73, 0x21, 7})},
		{name: "load-store", pages: 2, body: repeat(32, []byte{0x20, 7}, []byte{0x20, 7, 0x28, 2, 0, 0x36, 2, 0})},
		{name: "call", pages: 2, body: repeat(16, call(callee))},
		{name: "call_indirect", pages: 2, body: repeat(16, i32c(0), []byte{0x11, 8, 0})},
		{name: "memory.fill/64", pages: 2, body: append(append(append(i32c(0), i32c(0)...), i32c(64)...), 0xfc, 11, 0)},
		// Above the first 4 KiB, which hold the ABI's data.
		{name: "memory.fill/16M", pages: 256, body: append(append(append(i32c(4096), i32c(0)...), i32c(16*mib-4096)...), 0xfc, 11, 0)},
		{name: "memory.copy/8M", pages: 256, body: append(append(append(i32c(4096), i32c(8*mib)...), i32c(8*mib)...), 0xfc, 10, 0, 0)},
		// Grows by one page each time until the cap, then fails (cheaply,
		// at the same price).
		{name: "memory.grow", pages: 2, body: append(i32c(1), 0x40, 0, 0x1a)},
		hash("keccak256", 64), hash("keccak256", 4*mib),
		hash("sha256", 64), hash("sha256", 4*mib),
		hash("sha512", 64), hash("sha512", 4*mib),
		hash("ripemd160", 64), hash("ripemd160", 4*mib),
		{name: "secp256k1_recover", imports: []string{"secp256k1_recover"}, pages: 2,
			body: append(append(append(i32c(ccCryptoOff), i32c(ccSig)...), i32c(ccHashTo)...), append(call(0), 0x1a)...)},
		{name: "secp256k1_verify", imports: []string{"secp256k1_verify"}, pages: 2,
			body: append(append(append(append(i32c(ccCryptoOff), i32c(ccSig)...), i32c(ccPub)...), i32c(33)...), append(call(0), 0x1a)...)},
		{name: "ed25519_verify/0", imports: []string{"ed25519_verify"}, pages: 2,
			body: append(append(append(append(i32c(ccEdPub), i32c(0)...), i32c(0)...), i32c(ccEdSig)...), append(call(0), 0x1a)...)},
		{name: "ed25519_verify/4M", imports: []string{"ed25519_verify"}, pages: 64,
			body: append(append(append(append(i32c(ccEdPub), i32c(0)...), i32c(4*mib)...), i32c(ccEdSig)...), append(call(0), 0x1a)...)},
		{name: "log/1M", imports: []string{"log"}, pages: 16,
			body: append(append(append(i32c(0), i32c(0)...), i32c(mib)...), call(0)...)},
	}
	return cs
}

// engines are the two wazero engines: nodes use the compiler (amd64,
// arm64); the interpreter runs everywhere else.
var engines = []struct {
	name        string
	interpreter bool
}{{"compiler", false}, {"interpreter", true}}

// forever is the message that makes a cost class loop until the fuel
// runs out.
var forever = []byte{0xff, 0xff, 0xff, 0xff}

func times(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

// BenchmarkFuelCost runs each cost class to fuel exhaustion (a call with
// Config.FuelLimit fuel) on both engines and reports the time per fuel
// unit: the worst of them, times the fuel limit, is the longest a call can
// run on this machine. Each b.N iteration is one such call.
//
//	go test ./node/wasmhost -run '^$' -bench FuelCost -benchtime 3x
func BenchmarkFuelCost(b *testing.B) {
	const fuel = 20_000_000
	for _, c := range costClasses() {
		for _, e := range engines {
			b.Run(c.name+"/"+e.name, func(b *testing.B) {
				r := newTestRuntime(b, Config{FuelLimit: fuel, CallTimeout: time.Minute, interpreter: e.interpreter, MaxIdleInstances: -1})
				p, err := r.Register(context.Background(), c.wasm(DefaultMemoryLimitPages))
				if err != nil {
					b.Fatal(err)
				}
				var spent time.Duration
				for b.Loop() {
					start := time.Now()
					_, used, err := p.VerifyFuel(nil, forever, nil)
					spent += time.Since(start)
					if !errors.Is(err, ErrOutOfFuel) || used != fuel {
						b.Fatalf("used %d, err %v; want ErrOutOfFuel", used, err)
					}
				}
				b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N)/fuel, "ns/fuel")
			})
		}
	}
}

// costClassFuel pins the fuel of three iterations of each cost class: the
// meter's cost table and the host function prices are consensus-critical
// (docs/spec/wasm-abi.md). Each is the class's own cost plus ~13 units of
// loop counter.
var costClassFuel = map[string]uint64{
	"loop-empty": 39, "alu": 615, "load-store": 423, "call": 231, "call_indirect": 375,
	"memory.fill/64": 252, "memory.fill/16M": 3145200, "memory.copy/8M": 1573104,
	"memory.grow":  786777, // 3 × (100 + 2^18 for one page)
	"keccak256/64": 3633, "keccak256/4194304": 37751793,
	"sha256/64": 1149, "sha256/4194304": 12583869,
	"sha512/64": 1833, "sha512/4194304": 37749993,
	"ripemd160/64": 3633, "ripemd160/4194304": 37751793,
	"secp256k1_recover": 450060, "secp256k1_verify": 360063,
	"ed25519_verify/0": 150063, "ed25519_verify/4M": 37898799,
	"log/1M": 6129, // text cut at 1,024 bytes
}

// TestFuelCostClasses: every cost class, looping until the fuel runs out,
// ends with ErrOutOfFuel (a host function that cannot pay its price
// included), and three iterations use the pinned fuel with the same
// outcome on both engines. A long timeout keeps a loaded machine from
// turning a fuel fault into a timeout: the class is what this test checks.
func TestFuelCostClasses(t *testing.T) {
	const lowFuel = 2_000_000
	type rts struct{ low, full *Runtime }
	var byEngine []rts
	for _, e := range engines {
		byEngine = append(byEngine, rts{
			newTestRuntime(t, Config{CallTimeout: time.Minute, FuelLimit: lowFuel, interpreter: e.interpreter}),
			newTestRuntime(t, Config{CallTimeout: time.Minute, interpreter: e.interpreter}),
		})
	}
	for _, c := range costClasses() {
		t.Run(c.name, func(t *testing.T) {
			type outcome struct {
				fuel uint64
				err  string
			}
			var three [2]outcome
			for i, e := range engines {
				p, err := byEngine[i].low.Register(context.Background(), c.wasm(DefaultMemoryLimitPages))
				if err != nil {
					t.Fatal(err)
				}
				if _, used, err := p.VerifyFuel(nil, forever, nil); !errors.Is(err, ErrOutOfFuel) || used != lowFuel {
					t.Fatalf("%s: used %d, err %v; want ErrOutOfFuel", e.name, used, err)
				}
				p, err = byEngine[i].full.Register(context.Background(), c.wasm(DefaultMemoryLimitPages))
				if err != nil {
					t.Fatal(err)
				}
				_, used, err := p.VerifyFuel(nil, times(3), nil)
				if !errors.Is(err, auth.ErrInvalidSignature) {
					t.Fatalf("%s, 3 iterations: %v", e.name, err)
				}
				three[i] = outcome{used, err.Error()}
			}
			if three[0] != three[1] {
				t.Fatalf("engines differ: %s %+v, %s %+v", engines[0].name, three[0], engines[1].name, three[1])
			}
			if want := costClassFuel[c.name]; three[0].fuel != want {
				t.Fatalf("3 iterations: %d fuel, pinned %d", three[0].fuel, want)
			}
		})
	}
}

// TestHostLoopsOutOfFuel: hashing megabytes in a loop, and filling or
// copying megabytes of memory in a loop, run out of fuel with the default
// limits, on both engines; they do not reach the wall-clock safety net
// (DefaultCallTimeout; ErrTimeout otherwise), which halts a node when it
// stops a call inside a block.
func TestHostLoopsOutOfFuel(t *testing.T) {
	want := map[string]bool{"keccak256/4194304": true, "sha256/4194304": true, "memory.fill/16M": true, "memory.copy/8M": true, "ed25519_verify/4M": true}
	for _, e := range engines {
		r := newTestRuntime(t, Config{interpreter: e.interpreter})
		for _, c := range costClasses() {
			if !want[c.name] {
				continue
			}
			t.Run(e.name+"/"+c.name, func(t *testing.T) {
				p, err := r.Register(context.Background(), c.wasm(DefaultMemoryLimitPages))
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				_, used, err := p.VerifyFuel(nil, forever, nil)
				if !errors.Is(err, ErrOutOfFuel) || used != DefaultFuelLimit {
					t.Fatalf("used %d, err %v; want ErrOutOfFuel", used, err)
				}
				t.Logf("out of fuel after %s", time.Since(start))
			})
		}
	}
}

// TestTimeoutDuringHostCalls: with fuel for far longer than the timeout, a
// guest hashing in a loop is stopped by the safety net as ErrTimeout. The
// host functions take their price under the instance's lock, so their
// fuel update cannot overwrite the net's drain and let the guest run on.
func TestTimeoutDuringHostCalls(t *testing.T) {
	const timeout = 300 * time.Millisecond
	r := newTestRuntime(t, Config{CallTimeout: timeout, FuelLimit: 1 << 50})
	var c costClass
	for _, cc := range costClasses() {
		if cc.name == "keccak256/4194304" {
			c = cc
		}
	}
	p, err := r.Register(context.Background(), c.wasm(DefaultMemoryLimitPages))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, used, err := p.VerifyFuel(nil, forever, nil)
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrOutOfFuel) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if elapsed := time.Since(start); elapsed < timeout {
		t.Fatalf("stopped after %s, before the %s timeout", elapsed, timeout)
	}
	t.Logf("stopped after %s, fuel %d: %v", time.Since(start), used, err)
}
