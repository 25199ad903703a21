package wasmhost

import (
	"context"
	"errors"
	"math/bits"

	"github.com/tetratelabs/wazero/api"

	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

// Host function prices, in the fuel units of meter's cost table
// (docs/spec/wasm-abi.md, "Host function prices"). Consensus-critical: a
// price decides which calls run out of fuel and how much fuel a call
// uses. A host function takes its price from the calling instance's fuel
// before it does any work; the price depends only on the lengths of its
// inputs. The numbers come from BenchmarkFuelCost (docs/BENCHMARKS.md):
// each keeps its host function's time per fuel unit, at small and large
// inputs, within that of ordinary guest code on the compiler engine (calls:
// about 0.5 ns per unit on the benchmark machine, at most ~2 under heavy
// load), so DefaultFuelLimit bounds the time of a call whatever mix of
// guest code and host calls it makes.
const (
	// The fixed part of each hash (the call into the host, the hash's
	// setup and finalisation) and its price per byte hashed.
	PriceKeccak256Base    = 1000
	PriceKeccak256PerByte = 3
	PriceSHA256Base       = 300
	PriceSHA256PerByte    = 1
	PriceSHA512Base       = 400
	PriceSHA512PerByte    = 3
	PriceRIPEMD160Base    = 1000
	PriceRIPEMD160PerByte = 3
	// PriceSecp256k1Recover is secp256k1_recover, whatever the inputs.
	// The secp256k1 prices are those of the pure-Go backend (a node built
	// with CGO_ENABLED=0), 3 to 5 times slower than libsecp256k1.
	PriceSecp256k1Recover = 150_000
	// PriceSecp256k1Verify is secp256k1_verify, whatever the inputs.
	PriceSecp256k1Verify = 120_000
	// PriceEd25519Verify is ed25519_verify's fixed part, and
	// PriceEd25519PerByte its price per byte of message, which the
	// verifier hashes with SHA-512.
	PriceEd25519Verify  = 50_000
	PriceEd25519PerByte = PriceSHA512PerByte
	// PriceLogBase is log's fixed part; PriceLogPerByte is charged for
	// each byte of text kept (at most maxLogText).
	PriceLogBase    = 1000
	PriceLogPerByte = 1
)

// errHostOutOfFuel is the panic value of a host function whose price is
// more than the fuel left. Like the guest's own fuel trap it leaves
// meter.FuelExhausted in the fuel global, so the call is classified as
// ErrOutOfFuel.
var errHostOutOfFuel = errors.New("host function: out of fuel")

// errNotMetered is the panic value of a host function called from a
// module without the fuel global; Register only runs metered modules.
var errNotMetered = errors.New("host function: the calling module is not metered")

type instanceKey struct{}

// linearPrice is base + perByte·n, saturating at the largest uint64 (which
// no fuel limit reaches).
func linearPrice(base, perByte, n uint64) uint64 {
	hi, lo := bits.Mul64(perByte, n)
	sum, carry := bits.Add64(lo, base, 0)
	if hi != 0 || carry != 0 {
		return ^uint64(0)
	}
	return sum
}

// chargeHost takes price from the fuel of the instance calling a host
// function, before the function does its work. With less fuel left than
// the price it leaves meter.FuelExhausted, does nothing else and traps.
// The fuel is read and written under the instance's lock so that the
// wall-clock safety net, which drains the fuel from another goroutine, is
// never overwritten.
func chargeHost(ctx context.Context, m api.Module, price uint64) {
	in, _ := ctx.Value(instanceKey{}).(*instance)
	var fuel api.MutableGlobal
	if in != nil {
		fuel = in.fuel
		in.mu.Lock()
		defer in.mu.Unlock()
	} else {
		g, ok := m.ExportedGlobal(meter.ExportFuel).(api.MutableGlobal)
		if !ok {
			panic(errNotMetered)
		}
		fuel = g
	}
	left := fuel.Get()
	if left < price {
		fuel.Set(meter.FuelExhausted)
		panic(errHostOutOfFuel)
	}
	fuel.Set(left - price)
}
