// Package devnet creates a local multi-validator network on loopback and
// supervises one node process per validator. The network's shape is kept
// in DIR/devnet.json so a later run resumes the same chain.
package devnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ManifestFile is the file in a devnet directory that marks it as created
// and records its shape.
const ManifestFile = "devnet.json"

// Defaults for Config.
const (
	DefaultValidators = 4
	DefaultBasePort   = 26600
	DefaultChainID    = "idos-devnet"
	// PortStride is the gap between consecutive nodes' ports: node i uses
	// base+10*i (P2P), +1 (RPC) and +2 (gateway).
	PortStride = 10
	// DefaultSnapshotInterval and DefaultSnapshotKeep: a devnet's state is
	// small, so a snapshot every 10 blocks is cheap and lets a node join
	// by state sync (`init --state-sync`) soon after the devnet starts;
	// 6 kept covers a minute at 1 s blocks, longer than a join fetches.
	DefaultSnapshotInterval = 10
	DefaultSnapshotKeep     = 6
	// MaxValidators bounds the network to what one machine runs sensibly.
	MaxValidators = 64
)

// manifestVersion is bumped when the manifest format changes.
const manifestVersion = 1

// Manifest describes a created devnet.
type Manifest struct {
	Version     int       `json:"version"`
	ChainID     string    `json:"chain_id"`
	Validators  int       `json:"validators"`
	BasePort    int       `json:"base_port"`
	GenesisTime time.Time `json:"genesis_time"`
	Nodes       []Node    `json:"nodes"`
}

// Node is one validator of the devnet.
type Node struct {
	// Name is the node's directory name inside the devnet directory.
	Name        string `json:"name"`
	NodeID      string `json:"node_id"`
	P2PAddr     string `json:"p2p_addr"`
	RPCAddr     string `json:"rpc_addr"`
	GatewayAddr string `json:"gateway_addr"`
}

// RPCURL is the node's CometBFT RPC endpoint.
func (n Node) RPCURL() string { return "http://" + n.RPCAddr }

// GatewayURL is the node's gateway base URL.
func (n Node) GatewayURL() string { return "http://" + n.GatewayAddr }

// Addrs returns the loopback addresses of node i for a base port.
func Addrs(basePort, i int) (p2p, rpc, gateway string) {
	at := func(off int) string {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(basePort+PortStride*i+off))
	}
	return at(0), at(1), at(2)
}

// LoadManifest reads DIR/devnet.json. The error wraps os.ErrNotExist when
// the directory holds no devnet.
func LoadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("%s: manifest version %d, this binary understands %d", filepath.Join(dir, ManifestFile), m.Version, manifestVersion)
	}
	if len(m.Nodes) != m.Validators || m.Validators == 0 {
		return nil, fmt.Errorf("%s: %d nodes listed for %d validators", filepath.Join(dir, ManifestFile), len(m.Nodes), m.Validators)
	}
	return &m, nil
}

func (m *Manifest) save(dir string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, ManifestFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	// Renamed into place last, so a devnet.json only exists for a
	// completely created network.
	return os.Rename(tmp, path)
}

// check reports every setting in cfg that was given (non-zero) and
// disagrees with the existing network.
func (m *Manifest) check(cfg Config) error {
	var errs []error
	if cfg.Validators != 0 && cfg.Validators != m.Validators {
		errs = append(errs, fmt.Errorf("--validators %d, but the network has %d", cfg.Validators, m.Validators))
	}
	if cfg.BasePort != 0 && cfg.BasePort != m.BasePort {
		errs = append(errs, fmt.Errorf("--base-port %d, but the network uses %d", cfg.BasePort, m.BasePort))
	}
	if cfg.ChainID != "" && cfg.ChainID != m.ChainID {
		errs = append(errs, fmt.Errorf("--chain-id %q, but the network is %q", cfg.ChainID, m.ChainID))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s already holds a devnet that differs from the flags (omit them to resume it, or use another --dir): %w",
			cfg.Dir, errors.Join(errs...))
	}
	return nil
}
