package wasmhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/schemename"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

// Guest export names (docs/spec/wasm-abi.md).
const (
	exportMemory     = "memory"
	exportInitialize = "_initialize"
	exportABIVersion = "idos_abi_version"
	exportAlloc      = "idos_alloc"
	exportFree       = "idos_free"
	exportMetadata   = "idos_metadata"
	exportVerify     = "idos_verify"
)

type signature struct{ params, results []api.ValueType }

var requiredExports = map[string]signature{
	exportABIVersion: {nil, []api.ValueType{api.ValueTypeI32}},
	exportAlloc:      {[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	exportFree:       {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, nil},
	exportMetadata:   {nil, []api.ValueType{api.ValueTypeI64}},
	exportVerify:     {slices.Repeat([]api.ValueType{api.ValueTypeI32}, 6), []api.ValueType{api.ValueTypeI64}},
}

// Key types a signature plugin may declare.
const (
	KeyTypeSecp256k1 = "secp256k1"
	KeyTypeEd25519   = "ed25519"
)

// maxAddressFormat bounds the free-text address_format field; it is shown
// to people, not parsed.
const maxAddressFormat = 256

// Metadata is a plugin's self-description (idos_metadata).
type Metadata struct {
	ABI           int    `json:"abi"`
	Kind          string `json:"kind"`
	Scheme        string `json:"scheme"`
	KeyType       string `json:"key_type"`
	AddressFormat string `json:"address_format"`
}

// Plugin is a registered signature-scheme module. It implements auth.Scheme
// and is safe for concurrent use: each verification gets its own instance,
// taken from a pool of instances reset to their post-_initialize state.
type Plugin struct {
	rt       *Runtime
	compiled wazero.CompiledModule
	metered  *meter.Module
	hash     [sha256.Size]byte
	codeHash [sha256.Size]byte // of the metered bytes, what actually runs
	meta     Metadata
	hasInit  bool
	// snap is the state right after _initialize; nil for a stateful
	// module (meter.Module.Stateful) or a runtime that keeps no idle
	// instances: then every call gets a fresh instance and _initialize.
	snap *snapshot
	idle chan *instance
}

var _ auth.Scheme = (*Plugin)(nil)

// Register validates a module and returns it as a plugin. It instruments
// the module with fuel and stack metering (package meter; the
// plugin's hash stays that of the original bytes), compiles the result
// (through the compilation cache), checks imports and exports against the
// ABI, instantiates it, runs _initialize, records the resulting memory and
// globals as the snapshot every call starts from, and reads the ABI version
// and the metadata.
func (r *Runtime) Register(ctx context.Context, wasm []byte) (*Plugin, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, ErrClosed
	}
	p := &Plugin{rt: r, hash: sha256.Sum256(wasm)}
	metered, err := meter.Instrument(wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	p.metered = metered
	p.codeHash = sha256.Sum256(metered.Wasm)
	compiled, err := r.rt.CompileModule(ctx, metered.Wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	p.compiled = compiled
	if r.maxIdle > 0 {
		p.idle = make(chan *instance, r.maxIdle)
	}
	if err := p.validate(ctx); err != nil {
		_ = p.Close(ctx)
		return nil, err
	}
	return p, nil
}

func (p *Plugin) validate(ctx context.Context) error {
	if err := p.rt.checkImports(p.compiled); err != nil {
		return err
	}
	if err := p.checkExports(); err != nil {
		return err
	}
	_, err := p.run(ctx, func(ctx context.Context, in *instance) error {
		stack := make([]uint64, 1)
		if err := in.call(ctx, exportABIVersion, in.abi, stack); err != nil {
			return err
		}
		if v := int32(stack[0]); v != ABIVersion {
			return fmt.Errorf("%w: module implements ABI %d, this node implements %d", ErrABIVersion, v, ABIVersion)
		}
		if err := in.call(ctx, exportMetadata, in.metadata, stack); err != nil {
			return err
		}
		raw, err := readResult(in.m, stack[0], ErrBadMetadata)
		if err != nil {
			return fmt.Errorf("%s: %w", exportMetadata, err)
		}
		meta, err := parseMetadata(raw)
		if err != nil {
			return err
		}
		p.meta = meta
		return nil
	})
	return err
}

func (r *Runtime) checkImports(c wazero.CompiledModule) error {
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		host, ok := r.allowed[mod][name]
		if !ok {
			return fmt.Errorf("%w: %s.%s (a plugin may import only the %q functions of the ABI and %s)", ErrForbiddenImport, mod, name, hostModule, wasiModule)
		}
		if !sameSignature(f, host) {
			return fmt.Errorf("%w: %s.%s has type %s, the host provides %s", ErrForbiddenImport, mod, name, typeString(f), typeString(host))
		}
	}
	for _, m := range c.ImportedMemories() {
		mod, name, _ := m.Import()
		return fmt.Errorf("%w: memory %s.%s (a plugin must define and export its own memory)", ErrForbiddenImport, mod, name)
	}
	return nil
}

func (p *Plugin) checkExports() error {
	if _, ok := p.compiled.ExportedMemories()[exportMemory]; !ok {
		return fmt.Errorf("%w: memory %q", ErrMissingExport, exportMemory)
	}
	fns := p.compiled.ExportedFunctions()
	// Sorted so that a module missing several exports always gets the
	// same message.
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range requiredExports {
			if !yield(n) {
				return
			}
		}
	}) {
		want := requiredExports[name]
		f, ok := fns[name]
		if !ok {
			return fmt.Errorf("%w: function %s", ErrMissingExport, name)
		}
		if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
			return fmt.Errorf("%w: function %s has type %s, the ABI requires %s", ErrMissingExport, name, typeString(f), sigString(want))
		}
	}
	// _initialize is what a WASI reactor (Go c-shared, Rust cdylib for
	// wasip1) exports; a module without it needs no initialisation.
	if f, ok := fns[exportInitialize]; ok {
		if len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
			return fmt.Errorf("%w: function %s has type %s, must be () -> ()", ErrMissingExport, exportInitialize, typeString(f))
		}
		p.hasInit = true
	}
	return nil
}

func sameSignature(a, b api.FunctionDefinition) bool {
	return slices.Equal(a.ParamTypes(), b.ParamTypes()) && slices.Equal(a.ResultTypes(), b.ResultTypes())
}

func typeString(f api.FunctionDefinition) string {
	return sigString(signature{f.ParamTypes(), f.ResultTypes()})
}

func sigString(s signature) string {
	names := func(ts []api.ValueType) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(out, ", ") + ")"
	}
	return names(s.params) + " -> " + names(s.results)
}

// parseMetadata is strict: UTF-8, exactly one JSON object with exactly the
// five ABI fields, each once, of the right type, nothing after it. The
// metadata is chain state once plugins are, so two spellings of the same
// meaning are refused rather than normalised.
func parseMetadata(raw []byte) (Metadata, error) {
	var m Metadata
	if !utf8.Valid(raw) {
		return m, fmt.Errorf("%w: not UTF-8", ErrBadMetadata)
	}
	if err := checkKeys(raw, []string{"abi", "kind", "scheme", "key_type", "address_format"}); err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadMetadata, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadMetadata, err)
	}
	switch {
	case m.ABI != ABIVersion:
		return m, fmt.Errorf("%w: abi is %d, want %d", ErrBadMetadata, m.ABI, ABIVersion)
	case m.Kind != "signature":
		return m, fmt.Errorf("%w: kind %q, this host runs only \"signature\" plugins", ErrBadMetadata, m.Kind)
	case !schemename.Valid(m.Scheme):
		return m, fmt.Errorf("%w: scheme %q must match %s", ErrBadMetadata, m.Scheme, schemename.Rule)
	case m.KeyType != KeyTypeSecp256k1 && m.KeyType != KeyTypeEd25519:
		return m, fmt.Errorf("%w: key_type %q must be %q or %q", ErrBadMetadata, m.KeyType, KeyTypeSecp256k1, KeyTypeEd25519)
	case m.AddressFormat == "" || len(m.AddressFormat) > maxAddressFormat:
		return m, fmt.Errorf("%w: address_format must be 1 to %d bytes", ErrBadMetadata, maxAddressFormat)
	}
	return m, nil
}

// checkKeys walks the top-level object and requires exactly the keys
// wanted, each once (encoding/json would silently keep the last of a
// duplicated key), and no trailing data.
func checkKeys(raw []byte, want []string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]bool, len(want))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		if !slices.Contains(want, key) {
			return fmt.Errorf("unknown key %q", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	for _, k := range want {
		if !seen[k] {
			return fmt.Errorf("missing key %q", k)
		}
	}
	return nil
}

// Name implements auth.Scheme: the scheme name from the metadata.
func (p *Plugin) Name() string { return p.meta.Scheme }

// Metadata returns the plugin's metadata as read at registration.
func (p *Plugin) Metadata() Metadata { return p.meta }

// Hash returns the SHA-256 of the module bytes as registered (before
// metering), the plugin's identity.
func (p *Plugin) Hash() [sha256.Size]byte { return p.hash }

// Limits are the consensus limits the plugin runs under (its runtime's).
func (p *Plugin) Limits() Limits { return p.rt.Limits() }

// Close releases the idle instances and the compiled module. Calls must
// have stopped.
// CodeHash is the SHA-256 of the metered module the host compiles and runs:
// a function of the original bytes and the meter version. The node puts it
// in state, so two nodes that would meter a module differently (and so
// spend fuel differently) disagree on the app hash at once.
func (p *Plugin) CodeHash() [sha256.Size]byte { return p.codeHash }

func (p *Plugin) Close(ctx context.Context) error {
	if p.idle != nil {
		for {
			select {
			case in := <-p.idle:
				_ = in.m.Close(ctx)
				continue
			default:
			}
			break
		}
	}
	return p.compiled.Close(ctx)
}

// Verify implements auth.Scheme by running idos_verify in a reset instance.
func (p *Plugin) Verify(signer, msg, sig []byte) (string, error) {
	id, _, err := p.VerifyFuel(signer, msg, sig)
	return id, err
}

// VerifyFuel is Verify that also returns the fuel the call used (its
// idos_alloc and idos_verify), a deterministic measure of its work. On
// ErrOutOfFuel (and ErrTimeout, whose safety net drains the fuel) the fuel
// used is Config.FuelLimit; on other guest faults it is 0.
func (p *Plugin) VerifyFuel(signer, msg, sig []byte) (string, uint64, error) {
	total := uint64(len(signer)) + uint64(len(msg)) + uint64(len(sig))
	if total >= 1<<31 {
		return "", 0, fmt.Errorf("%w: %d bytes", ErrInputTooLarge, total)
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, p.meta.Scheme)
	var out []byte
	used, err := p.run(ctx, func(ctx context.Context, in *instance) error {
		m := in.m
		// One buffer for the three inputs: one call into the guest instead
		// of three. The guest sees three pointers into memory it owns.
		stack := make([]uint64, 6)
		stack[0] = api.EncodeU32(uint32(max(total, 1)))
		if err := in.call(ctx, exportAlloc, in.alloc, stack); err != nil {
			return err
		}
		base := api.DecodeU32(stack[0])
		if base == 0 {
			return fmt.Errorf("%w: %s(%d) returned 0 (out of memory)", ErrProtocol, exportAlloc, total)
		}
		input := make([]byte, 0, total)
		input = append(append(append(input, signer...), msg...), sig...)
		if !m.Memory().Write(base, input) {
			return fmt.Errorf("%w: %s returned a buffer outside guest memory", ErrProtocol, exportAlloc)
		}
		ls, lm, lg := uint32(len(signer)), uint32(len(msg)), uint32(len(sig))
		stack[0], stack[1] = uint64(base), uint64(ls)
		stack[2], stack[3] = uint64(base+ls), uint64(lm)
		stack[4], stack[5] = uint64(base+ls+lm), uint64(lg)
		if err := in.call(ctx, exportVerify, in.verify, stack); err != nil {
			return err
		}
		var err error
		out, err = readResult(m, stack[0], ErrProtocol)
		return err
	})
	if err != nil {
		return "", used, fmt.Errorf("plugin %s: %w", p.meta.Scheme, err)
	}
	text := string(out[1:])
	if !utf8.ValidString(text) {
		return "", used, fmt.Errorf("plugin %s: %w: result text is not UTF-8", p.meta.Scheme, ErrProtocol)
	}
	switch out[0] {
	case 0:
		// The identifier becomes the sender in state (SQLite TEXT, which
		// the node refuses with NUL).
		if text == "" || strings.ContainsRune(text, 0) {
			return "", used, fmt.Errorf("plugin %s: %w: identifier is empty or contains NUL", p.meta.Scheme, ErrProtocol)
		}
		return text, used, nil
	case 1:
		return "", used, fmt.Errorf("%w: %s: %s", auth.ErrInvalidSignature, p.meta.Scheme, text)
	case 2:
		return "", used, fmt.Errorf("%w: %s: %s", auth.ErrInvalidSigner, p.meta.Scheme, text)
	default:
		return "", used, fmt.Errorf("plugin %s: %w: unknown status %d", p.meta.Scheme, ErrProtocol, out[0])
	}
}

// callErr keeps wazero's error in the chain (errors.Is/As still reach it)
// but prints only its first line: the rest is a wasm stack trace, noise in
// a transaction result.
type callErr struct {
	class, cause error
	msg          string
}

func (e *callErr) Error() string   { return e.msg }
func (e *callErr) Unwrap() []error { return []error{e.class, e.cause} }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// readResult copies out a packed (ptr << 32 | len) result. class is the
// error for a result that is empty or out of bounds.
func readResult(m api.Module, packed uint64, class error) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if n == 0 {
		return nil, fmt.Errorf("%w: empty result", class)
	}
	if n > MaxResultSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrOutputTooLarge, n, MaxResultSize)
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("%w: result [%d, %d+%d) outside guest memory", class, ptr, ptr, n)
	}
	return bytes.Clone(b), nil
}

// limitedBuffer keeps the first max bytes written and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
