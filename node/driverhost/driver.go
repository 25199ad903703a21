package driverhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Config is one chain's driver configuration, set by the operator.
type Config struct {
	// Chain is the chain's identifier (CAIP-2 for EVM, e.g. "eip155:1");
	// every observation must carry it.
	Chain string
	// Contract is the grant contract's address; every observation must
	// carry it.
	Contract string
	// Confirmations is the finality depth of drivers whose finality is
	// FinalityConfirmations.
	Confirmations uint64
	// Endpoints are the chain's JSON-RPC endpoints: the only places the
	// driver can read. At least one; a cross-checked call goes to all.
	Endpoints []string
	// Transport sends a JSON-RPC request body to an endpoint; nil is
	// HTTP POST (HTTPTransport with CallTimeout and MaxResponse).
	Transport Transport
	// FuelLimit is the fuel of one poll; zero means DefaultFuelLimit.
	FuelLimit uint64
	// MaxObservations caps the observations of one poll; zero means
	// DefaultMaxObservations.
	MaxObservations int
	// MaxCalls caps rpc_call per poll; zero means DefaultMaxCalls.
	MaxCalls int
	// PollTimeout bounds one poll in wall-clock time; zero means
	// DefaultPollTimeout.
	PollTimeout time.Duration
	// Logger receives endpoint failures at debug level; nil discards.
	Logger *slog.Logger
}

// Driver is a loaded driver bound to its chain's configuration.
type Driver struct {
	rt   *Runtime
	mod  wazero.CompiledModule
	cfg  Config
	meta Metadata

	// Instance reuse, as wasmhost's plugins do: every poll starts from the
	// post-_initialize state, either a fresh instance or the last poll's
	// reset to snap (nil: never reused, a stateful module).
	globals   []string
	snap      *snapshot
	idle      chan api.Module
	instances atomic.Int64 // instantiations, for tests
}

// snapshot is an instance's linear memory and mutable globals right after
// _initialize.
type snapshot struct {
	mem     []byte
	globals []uint64
}

// Load meters and compiles wasm, checks its imports, ABI version and
// metadata, and binds it to cfg.
func Load(ctx context.Context, rt *Runtime, wasm []byte, cfg Config) (*Driver, error) {
	if cfg.Chain == "" || cfg.Contract == "" || len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: chain, contract and at least one endpoint are required", ErrBadMetadata)
	}
	if cfg.Transport == nil {
		cfg.Transport = HTTPTransport(nil)
	}
	if cfg.FuelLimit == 0 {
		cfg.FuelLimit = DefaultFuelLimit
	}
	if cfg.FuelLimit > wasmhost.MaxFuelLimit {
		return nil, fmt.Errorf("%w: fuel limit %d over %d", ErrBadMetadata, cfg.FuelLimit, uint64(wasmhost.MaxFuelLimit))
	}
	if cfg.MaxObservations <= 0 {
		cfg.MaxObservations = DefaultMaxObservations
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = DefaultMaxCalls
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Endpoints = slices.Clone(cfg.Endpoints)
	mm, err := meter.Instrument(wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	mod, err := rt.rt.CompileModule(ctx, mm.Wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	for _, f := range mod.ImportedFunctions() {
		m, n, _ := f.Import()
		if m != "wasi_snapshot_preview1" && !(m == hostModule && n == "rpc_call") {
			_ = mod.Close(ctx)
			return nil, fmt.Errorf("%w: forbidden import %s.%s", ErrInvalidModule, m, n)
		}
	}
	d := &Driver{rt: rt, mod: mod, cfg: cfg, globals: mm.Globals, idle: make(chan api.Module, 1)}
	ctx, cancel := context.WithTimeout(ctx, cfg.PollTimeout)
	defer cancel()
	m, err := d.instantiate(ctx)
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	defer m.Close(ctx)
	if !mm.Stateful {
		if d.snap, err = d.takeSnapshot(m); err != nil {
			_ = mod.Close(ctx)
			return nil, err
		}
	}
	res, err := metered(ctx, m, rt.limits.FuelLimit, rt.limits.StackBudget, "idos_abi_version")
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	if v := int32(res[0]); v != ABIVersion {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("%w: ABI version %d, want %d", ErrBadMetadata, v, ABIVersion)
	}
	b, err := d.callPacked(ctx, m, rt.limits.FuelLimit, MaxMetadata, "idos_driver_metadata")
	if err == nil {
		err = decodeStrict(b, &d.meta)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrBadMetadata, err)
		} else {
			err = d.meta.validate()
		}
	}
	if err == nil && d.meta.Finality == FinalityConfirmations && slices.Contains(d.meta.Config, "confirmations") && cfg.Confirmations == 0 {
		err = fmt.Errorf("%w: driver %s needs confirmations > 0", ErrBadMetadata, d.meta.Name)
	}
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	return d, nil
}

// Metadata returns what the driver declared.
func (d *Driver) Metadata() Metadata { return d.meta }

// Close releases the compiled driver and its idle instance.
func (d *Driver) Close(ctx context.Context) error {
	select {
	case m := <-d.idle:
		_ = m.Close(ctx)
	default:
	}
	return d.mod.Close(ctx)
}

func (d *Driver) takeSnapshot(m api.Module) (*snapshot, error) {
	buf, _ := m.Memory().Read(0, m.Memory().Size())
	s := &snapshot{mem: bytes.Clone(buf)}
	for _, name := range d.globals {
		g, ok := m.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			return nil, fmt.Errorf("%w: global %s missing", ErrInvalidModule, name)
		}
		s.globals = append(s.globals, g.Get())
	}
	return s, nil
}

// acquire returns an instance in the post-_initialize state: the idle one
// or a fresh one.
func (d *Driver) acquire(ctx context.Context) (api.Module, error) {
	select {
	case m := <-d.idle:
		return m, nil
	default:
		return d.instantiate(ctx)
	}
}

// release resets an instance whose poll ended without a fault to the
// snapshot and keeps it for the next poll, or closes it: after a trap,
// timeout or host failure (the guest may have stopped halfway through its
// bookkeeping), when its memory grew (it cannot shrink, and a Go guest
// would grow it again on every reuse), or when one is already idle.
func (d *Driver) release(m api.Module, healthy bool) {
	ctx := context.Background()
	if !healthy || d.snap == nil || m.IsClosed() || m.Memory().Size() != uint32(len(d.snap.mem)) {
		_ = m.Close(ctx)
		return
	}
	buf, _ := m.Memory().Read(0, m.Memory().Size())
	for off := 0; off < len(buf); off += resetPage {
		end := min(off+resetPage, len(buf))
		if !bytes.Equal(buf[off:end], d.snap.mem[off:end]) {
			copy(buf[off:end], d.snap.mem[off:end])
		}
	}
	for i, name := range d.globals {
		m.ExportedGlobal(name).(api.MutableGlobal).Set(d.snap.globals[i])
	}
	select {
	case d.idle <- m:
	default:
		_ = m.Close(ctx)
	}
}

// resetPage is the granularity of the memory reset: pages that differ
// from the snapshot are copied back, the others are only compared.
const resetPage = 4096

// instantiate makes a fresh instance and runs _initialize.
func (d *Driver) instantiate(ctx context.Context) (api.Module, error) {
	d.instances.Add(1)
	m, err := d.rt.rt.InstantiateModule(ctx, d.mod, wasmhost.DeterministicModuleConfig())
	if err != nil {
		return nil, fmt.Errorf("%w: instantiate: %w", ErrInvalidModule, err)
	}
	if m.ExportedFunction("_initialize") != nil {
		if _, err := metered(ctx, m, d.rt.limits.InitFuelLimit, d.rt.limits.StackBudget, "_initialize"); err != nil {
			_ = m.Close(ctx)
			return nil, err
		}
	}
	return m, nil
}

// callPacked calls an export returning (ptr<<32)|len and copies the bytes.
func (d *Driver) callPacked(ctx context.Context, m api.Module, fuel uint64, limit uint32, name string, params ...uint64) ([]byte, error) {
	res, err := metered(ctx, m, fuel, d.rt.limits.StackBudget, name, params...)
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("%w: %s has the wrong type", ErrInvalidModule, name)
	}
	ptr, n := uint32(res[0]>>32), uint32(res[0])
	if n > limit {
		return nil, fmt.Errorf("%w: %s returned %d bytes, cap %d", ErrTooLarge, name, n, limit)
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("%w: %s result out of bounds", ErrDriver, name)
	}
	return bytes.Clone(b), nil
}

// pollRequest is the input of idos_driver_poll.
type pollRequest struct {
	Chain         string `json:"chain"`
	Contract      string `json:"contract"`
	Confirmations uint64 `json:"confirmations"`
	Cursor        []byte `json:"cursor"`
}

// pollResult is its output: observations and cursor, or an error.
type pollResult struct {
	Observations *[]observation.Grant `json:"observations"`
	Cursor       []byte               `json:"cursor"`
	Error        string               `json:"error"`
}

// Poll runs one poll from cursor (nil on the first) and returns the
// observations, each valid and of the configured chain and contract, and
// the cursor of the next poll. On any error the caller keeps its cursor:
// the next poll repeats the work.
func (d *Driver) Poll(ctx context.Context, cursor []byte) ([]observation.Grant, []byte, error) {
	if len(cursor) > MaxCursor {
		return nil, nil, fmt.Errorf("%w: cursor of %d bytes", ErrTooLarge, len(cursor))
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.PollTimeout)
	defer cancel()
	st := &pollState{d: d}
	ctx = context.WithValue(ctx, stateKey{}, st)
	m, err := d.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	healthy := false
	defer func() { d.release(m, healthy) }()
	st.fuel, _ = m.ExportedGlobal(meter.ExportFuel).(api.MutableGlobal)
	in, err := json.Marshal(pollRequest{d.cfg.Chain, d.cfg.Contract, d.cfg.Confirmations, cursor})
	if err != nil {
		return nil, nil, err
	}
	ptr, err := d.write(ctx, m, in)
	if err != nil {
		return nil, nil, err
	}
	out, err := d.callPacked(ctx, m, d.cfg.FuelLimit, MaxResult, "idos_driver_poll", uint64(ptr), uint64(len(in)))
	// A host failure (endpoint, size) is the cause whatever the guest
	// made of it.
	if hf := st.failure(); hf != nil {
		return nil, nil, hf
	}
	if err != nil {
		return nil, nil, err
	}
	healthy = true
	var res pollResult
	if err := decodeStrict(out, &res); err != nil {
		return nil, nil, fmt.Errorf("%w: malformed poll result: %w", ErrDriver, err)
	}
	if res.Error != "" {
		return nil, nil, fmt.Errorf("%w: %s", ErrDriver, res.Error)
	}
	if res.Observations == nil {
		return nil, nil, fmt.Errorf("%w: poll result without observations", ErrDriver)
	}
	obs := *res.Observations
	if len(obs) > d.cfg.MaxObservations {
		return nil, nil, fmt.Errorf("%w: %d observations in one poll, cap %d", ErrTooLarge, len(obs), d.cfg.MaxObservations)
	}
	if len(res.Cursor) > MaxCursor {
		return nil, nil, fmt.Errorf("%w: cursor of %d bytes, cap %d", ErrTooLarge, len(res.Cursor), MaxCursor)
	}
	for i, g := range obs {
		if err := g.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%w: observation %d: %w", ErrDriver, i, err)
		}
		if g.Chain != d.cfg.Chain || g.Contract != d.cfg.Contract {
			return nil, nil, fmt.Errorf("%w: observation %d: %w: chain %q contract %q, configured %q %q",
				ErrDriver, i, observation.ErrInvalid, g.Chain, g.Contract, d.cfg.Chain, d.cfg.Contract)
		}
	}
	return obs, res.Cursor, nil
}

// write copies b into a buffer from the guest's idos_alloc.
func (d *Driver) write(ctx context.Context, m api.Module, b []byte) (uint32, error) {
	res, err := metered(ctx, m, d.cfg.FuelLimit, d.rt.limits.StackBudget, "idos_alloc", uint64(len(b)))
	if err != nil {
		return 0, err
	}
	ptr := uint32(res[0])
	if ptr == 0 || !m.Memory().Write(ptr, b) {
		return 0, fmt.Errorf("%w: idos_alloc returned an unusable buffer", ErrDriver)
	}
	return ptr, nil
}

type stateKey struct{}

// pollState is one poll's host-side state.
type pollState struct {
	d     *Driver
	fuel  api.MutableGlobal
	mu    sync.Mutex
	calls int
	err   error
}

func (s *pollState) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *pollState) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// charge takes price from the poll's fuel or traps.
func (s *pollState) charge(price uint64) {
	if s.fuel == nil {
		panic(errors.New("rpc_call outside a poll"))
	}
	left := s.fuel.Get()
	if left < price {
		s.fuel.Set(meter.FuelExhausted)
		panic(errors.New("rpc_call: out of fuel"))
	}
	s.fuel.Set(left - price)
}

// rpc_call status codes (docs/spec/wasm-abi.md). Non-negative results are
// status<<32 | length.
const (
	statusOK        = 0
	statusRPCError  = 1
	failHost        = -1
	flagCrossCheck  = 1
	knownFlags      = flagCrossCheck
	errOutOfBounds  = "rpc_call: pointer out of guest memory"
	maxRequestBytes = 64 << 10
)

// rpcCall is the host function rpc_call(req_ptr, req_len, flags, out_ptr,
// out_cap) -> i64.
func rpcCall(ctx context.Context, m api.Module, stack []uint64) {
	st, _ := ctx.Value(stateKey{}).(*pollState)
	if st == nil {
		panic(errors.New("rpc_call outside a poll"))
	}
	reqPtr, reqLen, flags, outPtr, outCap := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3]), uint32(stack[4])
	req, ok := m.Memory().Read(reqPtr, reqLen)
	if !ok {
		panic(errors.New(errOutOfBounds))
	}
	out, ok := m.Memory().Read(outPtr, outCap)
	if !ok {
		panic(errors.New(errOutOfBounds))
	}
	st.charge(PriceRPCCall)
	res, status, err := st.call(ctx, bytes.Clone(req), flags)
	if err == nil && len(res) > len(out) {
		err = fmt.Errorf("%w: response of %d bytes, guest buffer %d", ErrTooLarge, len(res), len(out))
	}
	if err != nil {
		st.fail(err)
		st.d.cfg.Logger.Debug("driver rpc_call failed", "chain", st.d.cfg.Chain, "err", err)
		stack[0] = api.EncodeI64(failHost)
		return
	}
	st.charge(uint64(len(res)) * PriceRPCPerByte)
	copy(out, res)
	stack[0] = uint64(status)<<32 | uint64(len(res))
}

// call validates the guest's request and sends it to the endpoints.
func (s *pollState) call(ctx context.Context, req []byte, flags uint32) ([]byte, int, error) {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	if n > s.d.cfg.MaxCalls {
		return nil, 0, fmt.Errorf("%w: more than %d rpc_call in one poll", ErrTooLarge, s.d.cfg.MaxCalls)
	}
	if len(req) > maxRequestBytes {
		return nil, 0, fmt.Errorf("%w: request of %d bytes", ErrTooLarge, len(req))
	}
	if flags&^knownFlags != 0 {
		return nil, 0, fmt.Errorf("%w: unknown rpc_call flags %#x", ErrEndpoint, flags)
	}
	// The request names a method and its parameters, nothing else: the
	// host chooses the endpoints, the id and the envelope.
	var r struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := decodeStrict(req, &r); err != nil || r.Method == "" {
		return nil, 0, fmt.Errorf("%w: the driver's request is not {\"method\",\"params\"}: %v", ErrEndpoint, err)
	}
	if len(r.Params) == 0 {
		r.Params = json.RawMessage("[]")
	}
	body, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      int             `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}{"2.0", n, r.Method, r.Params})
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrEndpoint, err)
	}
	endpoints := s.d.cfg.Endpoints[:1]
	if flags&flagCrossCheck != 0 {
		endpoints = s.d.cfg.Endpoints
	}
	var first []byte
	var firstStatus int
	for i, ep := range endpoints {
		res, status, err := s.send(ctx, ep, body)
		if err != nil {
			return nil, 0, err
		}
		if i == 0 {
			first, firstStatus = res, status
		} else if status != firstStatus || !bytes.Equal(res, first) {
			return nil, 0, &EndpointError{Endpoint: ep, Err: fmt.Errorf("%s: answer differs from %s's", r.Method, endpoints[0])}
		}
	}
	return first, firstStatus, nil
}

// send sends body to one endpoint and returns the compacted result (status
// 0) or error object (status 1).
func (s *pollState) send(ctx context.Context, ep string, body []byte) ([]byte, int, error) {
	raw, err := s.d.cfg.Transport(ctx, ep, body)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, 0, err
		}
		return nil, 0, &EndpointError{Endpoint: ep, Err: err}
	}
	if len(raw) > MaxResponse+1024 {
		return nil, 0, fmt.Errorf("%w: endpoint %s: response of %d bytes", ErrTooLarge, ep, len(raw))
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, 0, &EndpointError{Endpoint: ep, Err: fmt.Errorf("not a JSON-RPC response: %w", err)}
	}
	var buf bytes.Buffer
	switch {
	case len(env.Error) > 0 && string(env.Error) != "null":
		if err := json.Compact(&buf, env.Error); err != nil {
			return nil, 0, &EndpointError{Endpoint: ep, Err: err}
		}
		return buf.Bytes(), statusRPCError, nil
	case len(env.Result) > 0:
		if err := json.Compact(&buf, env.Result); err != nil {
			return nil, 0, &EndpointError{Endpoint: ep, Err: err}
		}
		if buf.Len() > MaxResponse {
			return nil, 0, fmt.Errorf("%w: endpoint %s: result of %d bytes, cap %d", ErrTooLarge, ep, buf.Len(), MaxResponse)
		}
		return buf.Bytes(), statusOK, nil
	default:
		return nil, 0, &EndpointError{Endpoint: ep, Err: errors.New("JSON-RPC response with neither result nor error")}
	}
}
