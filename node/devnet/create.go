package devnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/idos-network/idos-node/node/home"
)

// Config describes the devnet to create or resume. Zero fields mean "not
// given": defaults when creating, the recorded values when resuming.
type Config struct {
	Dir        string
	Validators int
	BasePort   int
	ChainID    string
	// TimeoutCommit of new networks; zero means one second.
	TimeoutCommit time.Duration
	// SnapshotInterval and SnapshotKeep of new networks' nodes; zero means
	// DefaultSnapshotInterval and DefaultSnapshotKeep, so that a node can
	// join a devnet by state sync within seconds of its start.
	SnapshotInterval int64
	SnapshotKeep     int
	// GenesisTime of new networks; zero means now.
	GenesisTime time.Time
	// AppState of new networks replaces the application's default genesis
	// state (tests shorten the validators module's join expiry with it);
	// empty means the default. It is not recorded in the manifest: the
	// genesis files hold it.
	AppState json.RawMessage
}

// Prepare returns the manifest of the devnet in cfg.Dir, creating the
// network first if the directory has none. created reports which happened.
// Given settings that disagree with an existing network are an error.
func Prepare(cfg Config) (m *Manifest, created bool, err error) {
	if cfg.Dir == "" {
		return nil, false, errors.New("devnet directory not set")
	}
	m, err = LoadManifest(cfg.Dir)
	switch {
	case err == nil:
		if err := m.check(cfg); err != nil {
			return nil, false, err
		}
		return m, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, err
	}
	m, err = Create(cfg)
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// Create makes a new network in cfg.Dir: one home per validator, full-mesh
// persistent peers and one shared genesis. The manifest is written last,
// so a failed Create leaves no manifest, and a directory with node homes
// but no manifest is refused rather than half-reused.
func Create(cfg Config) (*Manifest, error) {
	if cfg.Validators == 0 {
		cfg.Validators = DefaultValidators
	}
	if cfg.BasePort == 0 {
		cfg.BasePort = DefaultBasePort
	}
	if cfg.ChainID == "" {
		cfg.ChainID = DefaultChainID
	}
	if cfg.TimeoutCommit == 0 {
		cfg.TimeoutCommit = time.Second
	}
	if cfg.SnapshotInterval == 0 {
		cfg.SnapshotInterval = DefaultSnapshotInterval
	}
	if cfg.SnapshotKeep == 0 {
		cfg.SnapshotKeep = DefaultSnapshotKeep
	}
	if cfg.GenesisTime.IsZero() {
		cfg.GenesisTime = time.Now()
	}
	cfg.GenesisTime = cfg.GenesisTime.UTC()
	if cfg.Validators < 1 || cfg.Validators > MaxValidators {
		return nil, fmt.Errorf("--validators %d: want 1 to %d", cfg.Validators, MaxValidators)
	}
	if last := cfg.BasePort + PortStride*(cfg.Validators-1) + 2; cfg.BasePort < 1 || last > 65535 {
		return nil, fmt.Errorf("--base-port %d: ports %d-%d must lie in 1-65535", cfg.BasePort, cfg.BasePort, last)
	}

	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create devnet directory: %w", err)
	}
	m := &Manifest{
		Version:     manifestVersion,
		ChainID:     cfg.ChainID,
		Validators:  cfg.Validators,
		BasePort:    cfg.BasePort,
		GenesisTime: cfg.GenesisTime,
	}
	homes := make([]string, cfg.Validators)
	for i := range homes {
		name := fmt.Sprintf("node%d", i)
		homes[i] = filepath.Join(cfg.Dir, name)
		if _, err := os.Stat(homes[i]); err == nil {
			return nil, fmt.Errorf("%s exists but %s has no %s: a previous devnet creation failed or the manifest was removed; delete the directory to start over",
				homes[i], cfg.Dir, ManifestFile)
		}
		p2p, rpc, gw := Addrs(cfg.BasePort, i)
		m.Nodes = append(m.Nodes, Node{Name: name, P2PAddr: p2p, RPCAddr: rpc, GatewayAddr: gw})
	}

	// First pass: create the homes to get their node IDs; the peer lists
	// need everyone's ID, so the configs are rewritten in a second pass.
	opts := func(i int) home.Options {
		return home.Options{
			ChainID:           cfg.ChainID,
			Moniker:           m.Nodes[i].Name,
			P2PListenAddr:     m.Nodes[i].P2PAddr,
			RPCListenAddr:     m.Nodes[i].RPCAddr,
			GatewayListenAddr: m.Nodes[i].GatewayAddr,
			TimeoutCommit:     cfg.TimeoutCommit,
			GenesisTime:       cfg.GenesisTime,
			SnapshotInterval:  cfg.SnapshotInterval,
			SnapshotKeep:      cfg.SnapshotKeep,
		}
	}
	for i, h := range homes {
		if err := home.Init(h, opts(i)); err != nil {
			return nil, fmt.Errorf("create %s: %w", m.Nodes[i].Name, err)
		}
		id, err := home.ReadIdentity(h)
		if err != nil {
			return nil, err
		}
		m.Nodes[i].NodeID = string(id.NodeID)
	}
	for i, h := range homes {
		o := opts(i)
		o.Overwrite = true
		for j, peer := range m.Nodes {
			if j != i {
				o.PersistentPeers = append(o.PersistentPeers, peer.NodeID+"@"+peer.P2PAddr)
			}
		}
		if err := home.Init(h, o); err != nil {
			return nil, fmt.Errorf("configure peers of %s: %w", m.Nodes[i].Name, err)
		}
	}
	if _, err := home.WriteSharedGenesis(homes, home.GenesisOptions{
		ChainID:     cfg.ChainID,
		GenesisTime: cfg.GenesisTime,
		Power:       home.DefaultValidatorPower,
		AppState:    cfg.AppState,
	}); err != nil {
		return nil, err
	}
	if err := m.save(cfg.Dir); err != nil {
		return nil, fmt.Errorf("write devnet manifest: %w", err)
	}
	return m, nil
}
