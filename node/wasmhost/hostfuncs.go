package wasmhost

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"math/big"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	//lint:ignore SA1019 RIPEMD-160 is required by the ABI (Bitcoin-style addresses); x/crypto has the reference Go implementation.
	"golang.org/x/crypto/ripemd160"
)

// errOutOfBounds is the panic value of a host function given a pointer
// outside guest memory. wazero turns the panic into an error of the call
// (wrapping this value), and the instance is discarded, so the outcome is a
// deterministic trap.
var errOutOfBounds = errors.New("host function: pointer out of guest memory bounds")

const maxLogText = 1024

// Result codes of the host functions that answer valid/invalid.
const (
	hostOK      = 0
	hostInvalid = 1
)

var (
	i32 = api.ValueTypeI32
)

func (r *Runtime) hostModuleBuilder() wazero.HostModuleBuilder {
	b := r.rt.NewHostModuleBuilder(hostModule)
	// GoModuleFunction with explicit types rather than WithFunc avoids
	// reflection on every call.
	def := func(name string, params, results []api.ValueType, fn api.GoModuleFunc) {
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).Export(name)
	}
	// Every host function checks its pointers, then takes its price
	// (price.go) from the caller's fuel, then works: a call that cannot
	// pay does no work. Inputs are views of guest memory, so no input is
	// longer than the memory cap.
	hash := func(size int, base, perByte uint64, sum func([]byte) []byte) api.GoModuleFunc {
		return func(ctx context.Context, m api.Module, stack []uint64) {
			in := read(m, stack[0], stack[1])
			out := read(m, stack[2], uint64(size))
			chargeHost(ctx, m, linearPrice(base, perByte, uint64(len(in))))
			copy(out, sum(in))
		}
	}
	def("keccak256", []api.ValueType{i32, i32, i32}, nil, hash(32, PriceKeccak256Base, PriceKeccak256PerByte, func(b []byte) []byte { return crypto.Keccak256(b) }))
	def("sha256", []api.ValueType{i32, i32, i32}, nil, hash(32, PriceSHA256Base, PriceSHA256PerByte, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }))
	def("sha512", []api.ValueType{i32, i32, i32}, nil, hash(64, PriceSHA512Base, PriceSHA512PerByte, func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }))
	def("ripemd160", []api.ValueType{i32, i32, i32}, nil, hash(20, PriceRIPEMD160Base, PriceRIPEMD160PerByte, func(b []byte) []byte {
		h := ripemd160.New()
		h.Write(b)
		return h.Sum(nil)
	}))
	def("secp256k1_recover", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}, secp256k1Recover)
	def("secp256k1_verify", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, secp256k1Verify)
	def("ed25519_verify", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, ed25519Verify)
	def("log", []api.ValueType{i32, i32, i32}, nil, r.guestLog)
	return b
}

// read returns a view of guest memory [ptr, ptr+n). The view aliases guest
// memory: use it before returning to the guest.
func read(m api.Module, ptr, n uint64) []byte {
	b, ok := m.Memory().Read(uint32(ptr), uint32(n))
	if !ok {
		panic(fmt.Errorf("%w: [%d, %d+%d)", errOutOfBounds, uint32(ptr), uint32(ptr), uint32(n)))
	}
	return b
}

// secp256k1Recover: (hash_ptr, sig_ptr, out_ptr) -> 0 ok / 1 invalid.
// Every pointer is checked before any work so that an out-of-bounds output
// traps whether or not the signature is valid.
func secp256k1Recover(ctx context.Context, m api.Module, stack []uint64) {
	hash := read(m, stack[0], 32)
	sig := read(m, stack[1], 65)
	out := read(m, stack[2], 65)
	chargeHost(ctx, m, PriceSecp256k1Recover)
	stack[0] = hostInvalid
	// The ABI fixes v to 0/1 and r, s to [1, n) (high S allowed, as
	// Ethereum's ecrecover). Checking here rather than relying on the
	// backend keeps cgo (libsecp256k1) and pure-Go builds of the node in
	// agreement: they differ on recovery ids 2 and 3.
	v := sig[64]
	if v > 1 || !crypto.ValidateSignatureValues(v, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64]), false) {
		return
	}
	pub, err := crypto.Ecrecover(hash, sig)
	if err != nil || len(pub) != 65 {
		return
	}
	copy(out, pub)
	stack[0] = hostOK
}

// secp256k1Verify: (hash_ptr, sig_ptr, pub_ptr, pub_len) -> 0 valid / 1.
func secp256k1Verify(ctx context.Context, m api.Module, stack []uint64) {
	hash := read(m, stack[0], 32)
	sig := read(m, stack[1], 64)
	pub := read(m, stack[2], stack[3])
	chargeHost(ctx, m, PriceSecp256k1Verify)
	stack[0] = hostInvalid
	// Only SEC1 compressed (02/03, 33 bytes) and uncompressed (04, 65
	// bytes) keys: libsecp256k1 (cgo builds) also accepts the hybrid
	// 06/07 form and the pure-Go backend does not, which would split nodes.
	switch {
	case len(pub) == 33 && (pub[0] == 2 || pub[0] == 3):
	case len(pub) == 65 && pub[0] == 4:
	default:
		return
	}
	// VerifySignature refuses high-S signatures in both backends.
	if crypto.VerifySignature(pub, hash, sig) {
		stack[0] = hostOK
	}
}

// ed25519Verify: (pub_ptr, msg_ptr, msg_len, sig_ptr) -> 0 valid / 1.
func ed25519Verify(ctx context.Context, m api.Module, stack []uint64) {
	pub := read(m, stack[0], cmted25519.PubKeySize)
	msg := read(m, stack[1], stack[2])
	sig := read(m, stack[3], cmted25519.SignatureSize)
	chargeHost(ctx, m, linearPrice(PriceEd25519Verify, PriceEd25519PerByte, uint64(len(msg))))
	// CometBFT's verifier applies ZIP-215, the same rules as the native
	// ed25519 scheme in node/auth.
	if cmted25519.PubKey(pub).VerifySignature(msg, sig) {
		stack[0] = hostOK
	} else {
		stack[0] = hostInvalid
	}
}

type ctxKey struct{}

// guestLog: (level, ptr, len). Output never reaches results; it is for
// plugin authors. Text beyond maxLogText is cut so a guest cannot flood the
// node's log with one call; the whole range is still bounds-checked, as
// for every pointer.
func (r *Runtime) guestLog(ctx context.Context, m api.Module, stack []uint64) {
	b := read(m, stack[1], stack[2])
	if len(b) > maxLogText {
		b = b[:maxLogText]
	}
	chargeHost(ctx, m, linearPrice(PriceLogBase, PriceLogPerByte, uint64(len(b))))
	text := string(b)
	level := slog.LevelDebug
	switch uint32(stack[0]) {
	case 1:
		level = slog.LevelInfo
	case 2:
		level = slog.LevelWarn
	case 3:
		level = slog.LevelError
	}
	plugin, _ := ctx.Value(ctxKey{}).(string)
	r.log.Log(ctx, level, "wasm plugin log", "plugin", plugin, "text", text)
}
