package home

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

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
	// WasmCallTimeoutMS is the Wasm host's wall-clock safety net for one
	// plugin call, in milliseconds; 0 means wasmhost.DefaultCallTimeout.
	// A local setting, not a consensus rule: raise it if the node halted
	// with "plugin call timed out" (docs/ARCHITECTURE.md, "When a node
	// halts on a plugin").
	WasmCallTimeoutMS int `json:"wasm_call_timeout_ms,omitempty"`
}

// Default application settings.
const (
	DefaultGatewayListenAddr = "127.0.0.1:8080"
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "text"
)

// DefaultAppConfig returns the settings Init writes when options are empty.
func DefaultAppConfig() AppConfig {
	return AppConfig{
		GatewayListenAddr: DefaultGatewayListenAddr,
		LogLevel:          DefaultLogLevel,
		LogFormat:         DefaultLogFormat,
	}
}

// Validate reports the first invalid setting.
func (c AppConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.GatewayListenAddr); err != nil {
		return fmt.Errorf("gateway_listen_addr %q: want host:port: %w", c.GatewayListenAddr, err)
	}
	if c.ProofVersions < 0 {
		return fmt.Errorf("proof_versions %d: want 0 (default) or more", c.ProofVersions)
	}
	if c.WasmCallTimeoutMS < 0 {
		return fmt.Errorf("wasm_call_timeout_ms %d: want 0 (default) or more", c.WasmCallTimeoutMS)
	}
	if err := ValidateLogLevel(c.LogLevel); err != nil {
		return err
	}
	return ValidateLogFormat(c.LogFormat)
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
