// Package wasmtest runs a built plugin (.wasm) in a small reference host, so a
// plugin author can check the module end to end (exports, imports, the packed
// results) without a node. It implements docs/spec/wasm-abi.md with wazero and
// the same crypto libraries as the node, but it is a test kit, not the
// consensus host (node/wasmhost): no memory cap, no deadlines, a fresh
// instance for every call.
package wasmtest

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"slices"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	//lint:ignore SA1019 the ABI specifies RIPEMD-160 (Bitcoin-style addresses).
	"golang.org/x/crypto/ripemd160"
)

// Host is a compiled plugin in a reference runtime.
type Host struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	// Logs collects the plugin's log calls ("level: text").
	Logs []string
}

// Load compiles wasm and links the idos host module and WASI.
func Load(ctx context.Context, wasm []byte) (*Host, error) {
	h := &Host{rt: wazero.NewRuntime(ctx)}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.rt); err != nil {
		return nil, err
	}
	if _, err := h.hostModule().Instantiate(ctx); err != nil {
		return nil, err
	}
	c, err := h.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	for _, imp := range c.ImportedFunctions() {
		mod, name, _ := imp.Import()
		if mod != "idos" && mod != wasi_snapshot_preview1.ModuleName {
			return nil, fmt.Errorf("wasmtest: import %s.%s outside idos and wasi_snapshot_preview1", mod, name)
		}
	}
	exports := c.ExportedFunctions()
	for _, name := range []string{"_initialize", "idos_abi_version", "idos_alloc", "idos_free", "idos_metadata", "idos_verify"} {
		if _, ok := exports[name]; !ok {
			return nil, fmt.Errorf("wasmtest: module does not export %s (build with -buildmode=c-shared and import the SDK)", name)
		}
	}
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		return nil, fmt.Errorf("wasmtest: module does not export memory")
	}
	h.compiled = c
	return h, nil
}

// Close releases the runtime.
func (h *Host) Close(ctx context.Context) error { return h.rt.Close(ctx) }

// instance is a fresh instance (after _initialize).
func (h *Host) instance(ctx context.Context) (api.Module, error) {
	return h.rt.InstantiateModule(ctx, h.compiled, wazero.NewModuleConfig().
		WithName("").WithStartFunctions("_initialize"))
}

// ABIVersion calls idos_abi_version.
func (h *Host) ABIVersion(ctx context.Context) (int32, error) {
	m, err := h.instance(ctx)
	if err != nil {
		return 0, err
	}
	defer m.Close(ctx)
	r, err := m.ExportedFunction("idos_abi_version").Call(ctx)
	if err != nil {
		return 0, err
	}
	return int32(r[0]), nil
}

// Metadata calls idos_metadata and returns its JSON.
func (h *Host) Metadata(ctx context.Context) ([]byte, error) {
	m, err := h.instance(ctx)
	if err != nil {
		return nil, err
	}
	defer m.Close(ctx)
	r, err := m.ExportedFunction("idos_metadata").Call(ctx)
	if err != nil {
		return nil, err
	}
	return unpack(m, r[0])
}

// Verify calls idos_verify in a fresh instance and returns status and text.
func (h *Host) Verify(ctx context.Context, signer, msg, sig []byte) (byte, string, error) {
	in, err := h.NewInstance(ctx)
	if err != nil {
		return 0, "", err
	}
	defer in.Close(ctx)
	return in.Verify(ctx, signer, msg, sig)
}

// Instance is one instantiated plugin. Reusing it for many calls exercises
// the guest's allocator and garbage collector (the node itself uses a fresh
// or reset instance per verification).
type Instance struct{ m api.Module }

// NewInstance instantiates the plugin and runs _initialize.
func (h *Host) NewInstance(ctx context.Context) (*Instance, error) {
	m, err := h.instance(ctx)
	if err != nil {
		return nil, err
	}
	return &Instance{m}, nil
}

// MemoryBytes is the size of the instance's linear memory.
func (in *Instance) MemoryBytes() uint32 { return in.m.Memory().Size() }

// Close releases the instance.
func (in *Instance) Close(ctx context.Context) error { return in.m.Close(ctx) }

// Verify writes each input into a buffer from idos_alloc as the node does,
// calls idos_verify, frees the buffers and returns status and text.
func (in *Instance) Verify(ctx context.Context, signer, msg, sig []byte) (byte, string, error) {
	m := in.m
	alloc, free := m.ExportedFunction("idos_alloc"), m.ExportedFunction("idos_free")
	args := make([]uint64, 0, 6)
	for _, b := range [][]byte{signer, msg, sig} {
		r, err := alloc.Call(ctx, uint64(len(b)))
		if err != nil {
			return 0, "", err
		}
		ptr := uint32(r[0])
		if ptr == 0 {
			return 0, "", fmt.Errorf("wasmtest: idos_alloc(%d) returned 0", len(b))
		}
		if !m.Memory().Write(ptr, b) {
			return 0, "", fmt.Errorf("wasmtest: idos_alloc returned out-of-range %d", ptr)
		}
		args = append(args, uint64(ptr), uint64(len(b)))
	}
	r, err := m.ExportedFunction("idos_verify").Call(ctx, args...)
	if err != nil {
		return 0, "", err
	}
	out, err := unpack(m, r[0])
	if err != nil {
		return 0, "", err
	}
	if len(out) == 0 || len(out) > 4096 {
		return 0, "", fmt.Errorf("wasmtest: result of %d bytes", len(out))
	}
	for i := 0; i < len(args); i += 2 {
		if _, err := free.Call(ctx, args[i], args[i+1]); err != nil {
			return 0, "", err
		}
	}
	return out[0], string(out[1:]), nil
}

func unpack(m api.Module, packed uint64) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("wasmtest: packed result %#x out of range", packed)
	}
	return slices.Clone(b), nil
}

func (h *Host) hostModule() wazero.HostModuleBuilder {
	b := h.rt.NewHostModuleBuilder("idos")
	hash := func(name string, f func([]byte) []byte) {
		b.NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, in, n, out uint32) {
			write(m, out, f(read(m, in, n)))
		}).Export(name)
	}
	hash("keccak256", func(b []byte) []byte { return crypto.Keccak256(b) })
	hash("sha256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] })
	hash("sha512", func(b []byte) []byte { s := sha512.Sum512(b); return s[:] })
	hash("ripemd160", func(b []byte) []byte { r := ripemd160.New(); r.Write(b); return r.Sum(nil) })
	b.NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, hp, sp, out uint32) uint32 {
		pub, err := crypto.Ecrecover(read(m, hp, 32), read(m, sp, 65))
		if err != nil {
			return 1
		}
		write(m, out, pub)
		return 0
	}).Export("secp256k1_recover")
	b.NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, hp, sp, pp, pn uint32) uint32 {
		if pn != 33 && pn != 65 || !crypto.VerifySignature(read(m, pp, pn), read(m, hp, 32), read(m, sp, 64)) {
			return 1
		}
		return 0
	}).Export("secp256k1_verify")
	b.NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, pp, mp, mn, sp uint32) uint32 {
		if !cmted25519.PubKey(read(m, pp, 32)).VerifySignature(read(m, mp, mn), read(m, sp, 64)) {
			return 1
		}
		return 0
	}).Export("ed25519_verify")
	b.NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, level, p, n uint32) {
		h.Logs = append(h.Logs, fmt.Sprintf("%d: %s", level, read(m, p, n)))
	}).Export("log")
	return b
}

// read copies guest memory; out of range panics, which wazero turns into a
// trap of the call (as the ABI says).
func read(m api.Module, p, n uint32) []byte {
	b, ok := m.Memory().Read(p, n)
	if !ok {
		panic(fmt.Sprintf("out-of-bounds read %d+%d", p, n))
	}
	return slices.Clone(b)
}

func write(m api.Module, p uint32, b []byte) {
	if !m.Memory().Write(p, b) {
		panic(fmt.Sprintf("out-of-bounds write %d+%d", p, len(b)))
	}
}
