package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/idos-network/idos-node/node/retain"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// AppConfig is the idOS node's own configuration, stored next to CometBFT's
// in config/idos.json. It is JSON rather than TOML because the module has no
// TOML library and the file is small.
type AppConfig struct {
	// GatewayListenAddr is the host:port the HTTP gateway listens on.
	GatewayListenAddr string `json:"gateway_listen_addr"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// LogFormat is text or json.
	LogFormat string `json:"log_format"`
	// ProofVersions is how many recent heights keep a state trie version
	// in memory for read proofs (docs/spec/read-proofs.md); 0 means the
	// app's default. Each version costs only the nodes that changed.
	ProofVersions int `json:"proof_versions,omitempty"`
	// RetainBlocks is how many of the latest blocks the node keeps: older
	// blocks, their states and their transaction index entries are
	// deleted, and with them the bytes of removed user data
	// (docs/spec/data-model.md, "Deletion"). 0 keeps every block. The node
	// refuses to start with a window the network needs more of
	// (node/retain: evidence age, light client trusting period).
	RetainBlocks int64 `json:"retain_blocks"`
	// LightTrustingPeriod is the trusting period light clients of this
	// network use (idoslight's default is 168h); the retain window must
	// cover it at the configured block interval (timeout_commit).
	LightTrustingPeriod string `json:"light_trusting_period"`
	// CompactEveryBlocks is how many pruned heights trigger a full
	// compaction of CometBFT's LevelDB stores, after which deleted blocks'
	// bytes leave the files; 0 means the node's default (1,000). Smaller
	// deletes sooner and compacts more often.
	CompactEveryBlocks int64 `json:"compact_every_blocks,omitempty"`
	// WasmCallTimeoutMS is the Wasm host's wall-clock safety net for one
	// plugin call, in milliseconds; 0 means wasmhost.DefaultCallTimeout.
	// A local setting, not a consensus rule: raise it if the node halted
	// with "plugin call timed out" (docs/ARCHITECTURE.md, "When a node
	// halts on a plugin").
	WasmCallTimeoutMS int `json:"wasm_call_timeout_ms,omitempty"`
	// SnapshotInterval is how often, in blocks, the node writes a
	// state-sync snapshot of its state under data/snapshots and offers it
	// to nodes joining by state sync (docs/spec/snapshots.md); 0 takes
	// none. Snapshots are written in the background; blocks from the
	// oldest snapshot kept are not pruned.
	SnapshotInterval int64 `json:"snapshot_interval"`
	// SnapshotKeep is how many of the newest snapshots are kept; 0 means
	// the default.
	SnapshotKeep int `json:"snapshot_keep"`
	// SnapshotChunkBytes bounds the bytes of rows in one chunk of this
	// node's snapshots; 0 means 4 MiB. Smaller chunks spread a joining
	// node's fetches over more peers, but every chunk adds an entry to
	// the snapshot's metadata, which may not exceed 3 MB: a state of N
	// bytes needs chunks of at least about N/30,000 bytes, or its
	// snapshots fail (logged).
	SnapshotChunkBytes int `json:"snapshot_chunk_bytes,omitempty"`
	// DriverEndpoints gives, per external chain (its id as the enabled
	// chain configs name it, e.g. "eip155:1"), the JSON-RPC endpoints this
	// node's chain-grant drivers read it through: the only places a driver
	// can reach. With several, what a driver reads at a final block must
	// be identical on all of them (docs/drivers.md). A chain enabled in
	// state but absent here is not observed by this node (logged once at
	// INFO, shown by `idosnode driver status --home`); a validator that
	// observes no chain only leaves the others' 2/3 to decide. Local, not
	// consensus.
	DriverEndpoints map[string][]string `json:"driver_endpoints,omitempty"`
	// DriverPollIntervalMS is the time between two polling rounds of the
	// chain-grant listener, in milliseconds; 0 means 5,000.
	DriverPollIntervalMS int `json:"driver_poll_interval_ms,omitempty"`
	// DriverModulesDir holds driver modules (*.wasm) other than the ones
	// built into the binary (wasmdrivers.All); a chain config names its
	// module by SHA-256, looked up among both. Empty means
	// <home>/config/drivers. Read when a chain's driver is loaded.
	DriverModulesDir string `json:"driver_modules_dir,omitempty"`
}

// Default application settings.
const (
	DefaultGatewayListenAddr = "127.0.0.1:8080"
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "text"
	// DefaultRetainBlocks keeps 1,000,000 blocks: above 604,800 (idoslight's
	// 7-day trusting period at the default 1 s block interval) and above
	// CometBFT's default evidence age of 100,000 blocks.
	DefaultRetainBlocks = 1_000_000
	// DefaultLightTrustingPeriod matches idoslight's default.
	DefaultLightTrustingPeriod = "168h"
	// DefaultSnapshotInterval takes a snapshot every 10,000 blocks
	// (about 3 hours at one block a second): a joining node replays at
	// most that many blocks after restoring, and a snapshot of 1,000,000
	// rows takes seconds to write (docs/BENCHMARKS.md).
	DefaultSnapshotInterval = 10_000
	// DefaultSnapshotKeep keeps the two newest, so one is always whole
	// while the next is written.
	DefaultSnapshotKeep = 2
	// MaxSnapshotChunkBytes leaves room under the 15 MB a chunk may take
	// on the wire for the one row a chunk may run over (at most a block,
	// 4 MiB) and its proof.
	MaxSnapshotChunkBytes = 8 << 20
)

// DefaultAppConfig returns the settings Init writes when options are empty.
func DefaultAppConfig() AppConfig {
	return AppConfig{
		GatewayListenAddr: DefaultGatewayListenAddr,
		LogLevel:          DefaultLogLevel,
		LogFormat:         DefaultLogFormat,

		RetainBlocks:        DefaultRetainBlocks,
		LightTrustingPeriod: DefaultLightTrustingPeriod,
		SnapshotInterval:    DefaultSnapshotInterval,
		SnapshotKeep:        DefaultSnapshotKeep,
	}
}

// TrustingPeriod parses LightTrustingPeriod.
func (c AppConfig) TrustingPeriod() (time.Duration, error) {
	d, err := time.ParseDuration(c.LightTrustingPeriod)
	if err != nil {
		return 0, fmt.Errorf("light_trusting_period %q: %w", c.LightTrustingPeriod, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("light_trusting_period %q: must not be negative", c.LightTrustingPeriod)
	}
	return d, nil
}

// Validate reports the first invalid setting.
func (c AppConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.GatewayListenAddr); err != nil {
		return fmt.Errorf("gateway_listen_addr %q: want host:port: %w", c.GatewayListenAddr, err)
	}
	if c.ProofVersions < 0 {
		return fmt.Errorf("proof_versions %d: want 0 (default) or more", c.ProofVersions)
	}
	if _, err := c.TrustingPeriod(); err != nil {
		return err
	}
	if err := retain.Check(c.RetainBlocks, retain.Rules{}); err != nil {
		return err
	}
	if c.CompactEveryBlocks < 0 {
		return fmt.Errorf("compact_every_blocks %d: want 0 (default) or more", c.CompactEveryBlocks)
	}
	if c.SnapshotInterval < 0 {
		return fmt.Errorf("snapshot_interval %d: want 0 (no snapshots) or more", c.SnapshotInterval)
	}
	if c.SnapshotKeep < 0 {
		return fmt.Errorf("snapshot_keep %d: want 0 (default) or more", c.SnapshotKeep)
	}
	if c.SnapshotChunkBytes < 0 || c.SnapshotChunkBytes > MaxSnapshotChunkBytes {
		return fmt.Errorf("snapshot_chunk_bytes %d: want 0 (default) to %d", c.SnapshotChunkBytes, MaxSnapshotChunkBytes)
	}
	if c.WasmCallTimeoutMS < 0 {
		return fmt.Errorf("wasm_call_timeout_ms %d: want 0 (default) or more", c.WasmCallTimeoutMS)
	}
	if c.DriverPollIntervalMS < 0 {
		return fmt.Errorf("driver_poll_interval_ms %d: want 0 (default) or more", c.DriverPollIntervalMS)
	}
	if err := validateDriverEndpoints(c.DriverEndpoints); err != nil {
		return err
	}
	if err := ValidateLogLevel(c.LogLevel); err != nil {
		return err
	}
	return ValidateLogFormat(c.LogFormat)
}

// ErrDriverEndpoints is the class of an invalid driver_endpoints setting.
var ErrDriverEndpoints = errors.New("driver_endpoints")

// validateDriverEndpoints checks each chain id (1 to 256 bytes without
// white space, as chain configs have) and its endpoints (at least one;
// http or https URLs with a host, none twice).
func validateDriverEndpoints(m map[string][]string) error {
	for _, chain := range slices.Sorted(maps.Keys(m)) {
		eps := m[chain]
		if chain == "" || len(chain) > 256 || strings.ContainsAny(chain, " \t\r\n") {
			return fmt.Errorf("%w: chain id %q: want 1 to 256 bytes without white space", ErrDriverEndpoints, chain)
		}
		if len(eps) == 0 {
			return fmt.Errorf("%w: %q: no endpoint; list at least one, or remove the chain to not observe it", ErrDriverEndpoints, chain)
		}
		seen := map[string]bool{}
		for _, ep := range eps {
			u, err := url.Parse(ep)
			switch {
			case err != nil:
				return fmt.Errorf("%w: %q: endpoint %q: %w", ErrDriverEndpoints, chain, ep, err)
			case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
				return fmt.Errorf("%w: %q: endpoint %q: want an http:// or https:// URL with a host", ErrDriverEndpoints, chain, ep)
			case seen[ep]:
				return fmt.Errorf("%w: %q: endpoint %q listed twice", ErrDriverEndpoints, chain, ep)
			}
			seen[ep] = true
		}
	}
	return nil
}

// ValidateLogLevel accepts debug, info, warn and error.
func ValidateLogLevel(level string) error {
	switch strings.ToLower(level) {
	case "debug", "info", "warn", "error":
		return nil
	}
	return fmt.Errorf("log level %q: want debug, info, warn or error", level)
}

// ValidateLogFormat accepts text and json.
func ValidateLogFormat(format string) error {
	switch format {
	case "text", "json":
		return nil
	}
	return fmt.Errorf("log format %q: want text or json", format)
}

func readAppConfig(path string) (AppConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return AppConfig{}, fmt.Errorf("read app config: %w", err)
	}
	if err := refuseConsensusLimits(data); err != nil {
		return AppConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	cfg := DefaultAppConfig()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	// A misspelt key would otherwise silently fall back to the default.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return AppConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return AppConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// consensusLimitKeys are settings an operator might look for in idos.json
// but that are chain parameters (wasmhost.Limits, in app_state.plugins.wasm):
// a node that ran with its own would fork from the others.
var consensusLimitKeys = []string{"wasm", "fuel_limit", "init_fuel_limit", "stack_budget", "memory_limit_pages"}

// refuseConsensusLimits names a consensus limit set in the file, with a
// clearer error than the unknown-field one.
func refuseConsensusLimits(data []byte) error {
	var keys map[string]json.RawMessage
	if json.Unmarshal(data, &keys) != nil {
		return nil // the strict decode reports it
	}
	for _, k := range consensusLimitKeys {
		if _, ok := keys[k]; ok {
			return fmt.Errorf("%q: %w", k, wasmhost.ErrLocalLimits)
		}
	}
	return nil
}

func writeAppConfig(path string, cfg AppConfig) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o644)
}

// writeFileAtomic writes through a temporary file and a rename so a crash
// never leaves a half-written file behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// DriverModulesDir is where the node looks for driver modules besides the
// built-in ones: App.DriverModulesDir, relative to the home unless
// absolute, or <home>/config/drivers.
func (h *Home) DriverModulesDir() string {
	d := h.App.DriverModulesDir
	switch {
	case d == "":
		return filepath.Join(h.Dir, "config", "drivers")
	case filepath.IsAbs(d):
		return d
	}
	return filepath.Join(h.Dir, d)
}
