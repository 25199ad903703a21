package runner

import (
	"time"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/gateway"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/drivers"
)

// Options adjust StartWithOptions; the zero value is a standard node.
type Options struct {
	// Modules replace composition.Modules() (tests add modules with private
	// queries).
	Modules []module.Module
	// Gateway, if set, may adjust the gateway configuration before the
	// gateway is created (challenge TTL, clock, limits).
	Gateway func(*gateway.Config)
	// WasmCacheDir holds compiled plugin code; empty means wasm-cache
	// beside the state database. Nodes on one machine may share one (the
	// devnet does): wazero writes each entry to a temporary file and
	// renames it, and the key covers the module, wazero and the CPU.
	WasmCacheDir string
	// PruneInterval and CompactEvery tune the pruner (0: the defaults,
	// DefaultPruneInterval and idos.json's compact_every_blocks or
	// DefaultCompactEvery); tests shorten them.
	PruneInterval time.Duration
	CompactEvery  int64
	// Drivers gives each enabled chain (drivers.chains, read every
	// DriverInterval) its driver; the node runs a listener beside
	// consensus that, while the node is a validator, attests what the
	// drivers report, signed with the validator key (node/listener). Nil
	// is the standard node: the Wasm driver with the config's
	// driver_sha256 (built in, or in the home's driver modules directory)
	// run by node/driverhost with the endpoints of config/idos.json, and
	// chains without endpoints are not observed (ErrNoEndpoints).
	Drivers func(c drivers.ChainRow) (listener.Poller, error)
	// DriverInterval is the time between polling rounds; 0 means
	// idos.json's driver_poll_interval_ms, else 5 s.
	DriverInterval time.Duration
}

// gatewayConfig wires the gateway to the running node: the in-process RPC
// client for status, transactions and public queries, the app for private
// reads, and the same scheme registry the app verifies transactions with.
func (r *Running) gatewayConfig(nodeID string, schemes *auth.Registry, opts Options) gateway.Config {
	rpc := r.home.CometBFT.RPC
	cfg := gateway.Config{
		ListenAddr: r.home.App.GatewayListenAddr,
		Status:     r.client,
		Node:       r.client,
		Reader:     r.app,
		Schemes:    schemes,
		NodeID:     nodeID,
		// All commit-mode waits share one CometBFT subscriber name.
		MaxCommitWaiters: rpc.MaxSubscriptionsPerClient,
		// A commit-mode answer may take CometBFT's whole commit timeout.
		WriteTimeout: max(gateway.DefaultWriteTimeout, rpc.TimeoutBroadcastTxCommit+5*time.Second),
		Logger:       r.log.With("module", "gateway"),
	}
	if opts.Gateway != nil {
		opts.Gateway(&cfg)
	}
	return cfg
}
