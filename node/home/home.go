// Package home creates and loads an idOS node's home directory: CometBFT's
// config.toml, keys and genesis, plus the node's own config/idos.json and
// the SQLite state file at data/idos.sqlite.
package home

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"

	"github.com/idos-network/idos-node/node/retain"
)

// File names inside a home.
const (
	AppConfigFile = "idos.json"   // in config/
	DBFile        = "idos.sqlite" // in data/
)

// Defaults for Options.
const (
	DefaultChainID       = "idos-local"
	DefaultP2PListenAddr = "127.0.0.1:26656"
	DefaultRPCListenAddr = "127.0.0.1:26657"
	DefaultTimeoutCommit = time.Second
)

// Options configures Init. Zero values take the defaults above.
type Options struct {
	ChainID string
	// Moniker is the node's human-readable name; empty keeps CometBFT's
	// default (the host name).
	Moniker string
	// P2PListenAddr and RPCListenAddr are host:port (a tcp:// prefix is
	// accepted).
	P2PListenAddr string
	RPCListenAddr string
	// GatewayListenAddr is the HTTP gateway's host:port.
	GatewayListenAddr string
	// PersistentPeers are id@host:port entries.
	PersistentPeers []string
	// TimeoutCommit is how long a validator waits after a commit before the
	// next height; it is the block interval of an idle chain.
	TimeoutCommit time.Duration
	// GenesisTime is written into the genesis; zero means now.
	GenesisTime time.Time
	LogLevel    string
	LogFormat   string
	// SnapshotInterval and SnapshotKeep are written to idos.json; 0 takes
	// the defaults (a negative interval: no snapshots).
	SnapshotInterval int64
	SnapshotKeep     int
	// RetainBlocks is written to idos.json; 0 takes DefaultRetainBlocks
	// (use a negative value for "keep every block").
	RetainBlocks int64
	// Genesis, when set, is written instead of a single-validator genesis:
	// the genesis of an existing network this node joins (it starts as a
	// full node, not a validator). Its chain id must match ChainID, if
	// given.
	Genesis *types.GenesisDoc
	// StateSync, when set, makes the node join by CometBFT's state sync:
	// it restores a snapshot served by its peers (verified against the
	// light-client-checked app hash) instead of replaying from genesis.
	StateSync *StateSync
	// Overwrite allows Init over an existing home. Keys are kept; config
	// and genesis are rewritten; data/ is left alone.
	Overwrite bool
}

// StateSync is CometBFT's [statesync] section for a joining node. The
// trust period is the app config's light_trusting_period, the one the
// network's retain windows are sized for.
type StateSync struct {
	// RPCServers are at least two CometBFT RPC URLs: the light client's
	// primary and witnesses.
	RPCServers []string
	// TrustHeight and TrustHash are a block the servers agreed on.
	TrustHeight int64
	TrustHash   string
	// DiscoveryTime is how long the node gathers snapshot offers before
	// choosing one; zero takes DefaultDiscoveryTime.
	DiscoveryTime time.Duration
}

// DefaultDiscoveryTime gives peers time to answer the snapshot request;
// CometBFT refuses less than 5 s.
const DefaultDiscoveryTime = 10 * time.Second

// ErrExists is returned by Init for a home that already has a config or
// genesis and Overwrite is false.
var ErrExists = errors.New("node home already initialised")

// Home is a loaded node home.
type Home struct {
	// Dir is the home directory.
	Dir string
	// CometBFT is the CometBFT configuration, rooted at Dir.
	CometBFT *cmtcfg.Config
	// App is the idOS node configuration.
	App AppConfig
	// GenesisPath is the genesis file.
	GenesisPath string
	// DBPath is the application's SQLite state file.
	DBPath string
}

// Init creates a node home with fresh keys (existing keys are reused when
// overwriting) and a single-validator genesis naming this node, or the
// given network genesis (Options.Genesis).
func Init(home string, opts Options) error {
	if home == "" {
		return errors.New("home directory not set")
	}
	home, err := filepath.Abs(home)
	if err != nil {
		return err
	}
	if opts.Genesis != nil {
		if opts.ChainID != "" && opts.ChainID != opts.Genesis.ChainID {
			return fmt.Errorf("chain id %q, but the network's genesis is for %q", opts.ChainID, opts.Genesis.ChainID)
		}
		opts.ChainID = opts.Genesis.ChainID
		if err := opts.Genesis.ValidateAndComplete(); err != nil {
			return fmt.Errorf("network genesis: %w", err)
		}
	}
	chainID := or(opts.ChainID, DefaultChainID)
	cfg, app, err := buildConfig(home, opts)
	if err != nil {
		return err
	}
	if !opts.Overwrite {
		for _, p := range []string{cfg.GenesisFile(), configPath(home), filepath.Join(home, "config", AppConfigFile)} {
			if fileExists(p) {
				return fmt.Errorf("%w: %s exists (use overwrite/--force to replace config and genesis)", ErrExists, p)
			}
		}
	}
	for _, d := range []string{home, filepath.Join(home, cmtcfg.DefaultConfigDir), filepath.Join(home, cmtcfg.DefaultDataDir)} {
		if err := os.MkdirAll(d, cmtcfg.DefaultDirPerm); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	if _, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile()); err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	if err := ensurePrivValidator(cfg); err != nil {
		return err
	}
	// WriteConfigFile exits the process on a write error; the directory was
	// just created, so a failure here means the disk is gone.
	cmtcfg.WriteConfigFile(configPath(home), cfg)
	if err := writeAppConfig(filepath.Join(home, "config", AppConfigFile), app); err != nil {
		return fmt.Errorf("write app config: %w", err)
	}
	if opts.Genesis != nil {
		return WriteGenesis(home, opts.Genesis)
	}
	if _, err := WriteSharedGenesis([]string{home}, GenesisOptions{ChainID: chainID, GenesisTime: opts.GenesisTime}); err != nil {
		return err
	}
	return nil
}

// ensurePrivValidator creates the validator key and sign state unless both
// exist. privval exits the process on a malformed file, so existing files
// are parsed here first and reported as errors.
func ensurePrivValidator(cfg *cmtcfg.Config) error {
	keyFile, stateFile := cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()
	switch {
	case fileExists(keyFile) && fileExists(stateFile):
		if _, err := readPrivValidatorKey(keyFile); err != nil {
			return err
		}
		return checkPrivValidatorState(stateFile)
	case fileExists(keyFile):
		return fmt.Errorf("%s exists without %s; restore the sign state or remove both", keyFile, stateFile)
	default:
		privval.GenFilePV(keyFile, stateFile).Save()
		return nil
	}
}

// buildConfig turns options into the CometBFT and application configs.
func buildConfig(home string, opts Options) (*cmtcfg.Config, AppConfig, error) {
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(home)

	if err := validateChainID(or(opts.ChainID, DefaultChainID)); err != nil {
		return nil, AppConfig{}, err
	}

	if opts.Moniker != "" {
		// CometBFT's config template does not escape the moniker.
		if strings.ContainsAny(opts.Moniker, "\"\\\n\r") {
			return nil, AppConfig{}, fmt.Errorf("moniker %q: must not contain quotes, backslashes or newlines", opts.Moniker)
		}
		cfg.Moniker = opts.Moniker
	}
	var err error
	if cfg.P2P.ListenAddress, err = tcpAddr("p2p listen address", or(opts.P2PListenAddr, DefaultP2PListenAddr)); err != nil {
		return nil, AppConfig{}, err
	}
	if cfg.RPC.ListenAddress, err = tcpAddr("rpc listen address", or(opts.RPCListenAddr, DefaultRPCListenAddr)); err != nil {
		return nil, AppConfig{}, err
	}
	for _, p := range opts.PersistentPeers {
		if err := validatePeer(p); err != nil {
			return nil, AppConfig{}, err
		}
	}
	cfg.P2P.PersistentPeers = strings.Join(opts.PersistentPeers, ",")
	// Loopback networks (local and devnet) have every peer on 127.0.0.1,
	// which the strict address book and the duplicate-IP filter reject.
	cfg.P2P.AddrBookStrict = false
	cfg.P2P.AllowDuplicateIP = true

	cfg.Consensus.TimeoutCommit = DefaultTimeoutCommit
	if opts.TimeoutCommit < 0 {
		return nil, AppConfig{}, fmt.Errorf("timeout commit %s: must not be negative", opts.TimeoutCommit)
	}
	if opts.TimeoutCommit > 0 {
		cfg.Consensus.TimeoutCommit = opts.TimeoutCommit
	}
	// Light clients verify a header at height H with the commit in H+1, so
	// blocks must keep coming when no transactions arrive.
	cfg.Consensus.CreateEmptyBlocks = true
	cfg.Mempool.Size = 50000
	cfg.Mempool.CacheSize = 100000
	cfg.TxIndex.Indexer = "kv"

	if err := cfg.ValidateBasic(); err != nil {
		return nil, AppConfig{}, fmt.Errorf("invalid CometBFT config: %w", err)
	}

	// From the defaults, so that settings Options does not name (the
	// snapshot interval) get their documented values.
	app := DefaultAppConfig()
	app.GatewayListenAddr = or(opts.GatewayListenAddr, DefaultGatewayListenAddr)
	app.LogLevel = or(opts.LogLevel, DefaultLogLevel)
	app.LogFormat = or(opts.LogFormat, DefaultLogFormat)
	if opts.SnapshotInterval != 0 {
		app.SnapshotInterval = max(opts.SnapshotInterval, 0)
	}
	if opts.SnapshotKeep > 0 {
		app.SnapshotKeep = opts.SnapshotKeep
	}
	switch {
	case opts.RetainBlocks > 0:
		app.RetainBlocks = opts.RetainBlocks
	case opts.RetainBlocks < 0:
		app.RetainBlocks = 0
	default:
		// A fast block interval needs more blocks for the same trusting
		// period: the default grows to what the rules need.
		tp, _ := app.TrustingPeriod()
		evidence := ConsensusParams().Evidence.MaxAgeNumBlocks
		if opts.Genesis != nil {
			evidence = opts.Genesis.ConsensusParams.Evidence.MaxAgeNumBlocks
		}
		need := retain.Rules{EvidenceMaxAgeBlocks: evidence,
			TrustingPeriod: tp, BlockInterval: cfg.Consensus.TimeoutCommit}.MinBlocks()
		app.RetainBlocks = max(DefaultRetainBlocks, need)
	}
	if err := app.Validate(); err != nil {
		return nil, AppConfig{}, err
	}
	if ss := opts.StateSync; ss != nil {
		tp, err := app.TrustingPeriod()
		if err != nil {
			return nil, AppConfig{}, err
		}
		cfg.StateSync.Enable = true
		cfg.StateSync.RPCServers = ss.RPCServers
		cfg.StateSync.TrustHeight = ss.TrustHeight
		cfg.StateSync.TrustHash = ss.TrustHash
		cfg.StateSync.TrustPeriod = tp
		cfg.StateSync.DiscoveryTime = DefaultDiscoveryTime
		if ss.DiscoveryTime > 0 {
			cfg.StateSync.DiscoveryTime = ss.DiscoveryTime
		}
		if err := cfg.StateSync.ValidateBasic(); err != nil {
			return nil, AppConfig{}, fmt.Errorf("state sync: %w", err)
		}
	}
	return cfg, app, nil
}

// Load reads a home created by Init.
func Load(home string) (*Home, error) {
	if home == "" {
		return nil, errors.New("home directory not set")
	}
	home, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	cfg, err := readCometConfig(configPath(home))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not an initialised node home (run init first): %w", home, err)
		}
		return nil, err
	}
	// As CometBFT's command line does: paths in the file are relative to
	// the home the node runs from, wherever the file was written.
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: invalid CometBFT config: %w", configPath(home), err)
	}
	app, err := readAppConfig(filepath.Join(home, "config", AppConfigFile))
	if err != nil {
		return nil, err
	}
	if !fileExists(cfg.GenesisFile()) {
		return nil, fmt.Errorf("genesis %s missing", cfg.GenesisFile())
	}
	return &Home{
		Dir:         home,
		CometBFT:    cfg,
		App:         app,
		GenesisPath: cfg.GenesisFile(),
		DBPath:      filepath.Join(home, cmtcfg.DefaultDataDir, DBFile),
	}, nil
}

// RetainRules are the network's needs the retain window must cover: the
// genesis evidence age, the configured light client trusting period and
// timeout_commit as the shortest block interval.
func (h *Home) RetainRules() (retain.Rules, error) {
	g, err := h.Genesis()
	if err != nil {
		return retain.Rules{}, fmt.Errorf("genesis: %w", err)
	}
	tp, err := h.App.TrustingPeriod()
	if err != nil {
		return retain.Rules{}, err
	}
	return retain.Rules{EvidenceMaxAgeBlocks: g.ConsensusParams.Evidence.MaxAgeNumBlocks,
		TrustingPeriod: tp, BlockInterval: h.CometBFT.Consensus.TimeoutCommit}, nil
}

// CheckRetain reports whether retain_blocks covers the network's needs
// (retain.Check); the error is a *retain.WindowError naming the rule.
func (h *Home) CheckRetain() error {
	r, err := h.RetainRules()
	if err != nil {
		return err
	}
	if err := retain.Check(h.App.RetainBlocks, r); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(h.Dir, "config", AppConfigFile), err)
	}
	return nil
}

// readCometConfig reads config.toml over CometBFT's defaults the way
// CometBFT's own command line does (viper, mapstructure tags).
func readCometConfig(path string) (*cmtcfg.Config, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	cfg := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return cfg, nil
}

// NodeKey loads the P2P key.
func (h *Home) NodeKey() (*p2p.NodeKey, error) {
	nk, err := p2p.LoadNodeKey(h.CometBFT.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("load node key: %w", err)
	}
	return nk, nil
}

// PrivValidator loads the validator key and its last-sign state.
func (h *Home) PrivValidator() (*privval.FilePV, error) {
	keyFile, stateFile := h.CometBFT.PrivValidatorKeyFile(), h.CometBFT.PrivValidatorStateFile()
	// Checked first because privval.LoadFilePV exits the process on error.
	if _, err := readPrivValidatorKey(keyFile); err != nil {
		return nil, err
	}
	if err := checkPrivValidatorState(stateFile); err != nil {
		return nil, err
	}
	return privval.LoadFilePV(keyFile, stateFile), nil
}

// Genesis reads the genesis document.
func (h *Home) Genesis() (*types.GenesisDoc, error) {
	return types.GenesisDocFromFile(h.GenesisPath)
}

func configPath(home string) string {
	return filepath.Join(home, cmtcfg.DefaultConfigDir, cmtcfg.DefaultConfigFileName)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// tcpAddr normalises host:port or tcp://host:port to CometBFT's tcp:// form.
func tcpAddr(what, addr string) (string, error) {
	hostPort := strings.TrimPrefix(addr, "tcp://")
	if _, _, err := net.SplitHostPort(hostPort); err != nil {
		return "", fmt.Errorf("%s %q: want host:port: %w", what, addr, err)
	}
	return "tcp://" + hostPort, nil
}

func validatePeer(p string) error {
	id, addr, ok := strings.Cut(p, "@")
	if !ok {
		return fmt.Errorf("persistent peer %q: want id@host:port", p)
	}
	if b, err := hex.DecodeString(id); err != nil || len(b) != p2p.IDByteLength {
		return fmt.Errorf("persistent peer %q: node id must be %d hex characters", p, 2*p2p.IDByteLength)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("persistent peer %q: %w", p, err)
	}
	return nil
}

func validateChainID(id string) error {
	if len(id) > types.MaxChainIDLen {
		return fmt.Errorf("chain id %q: longer than %d characters", id, types.MaxChainIDLen)
	}
	if strings.TrimSpace(id) != id || strings.ContainsAny(id, " \t\n\"\\") {
		return fmt.Errorf("chain id %q: must not contain spaces, quotes or backslashes", id)
	}
	return nil
}
