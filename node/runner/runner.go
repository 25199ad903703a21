// Package runner runs an idOS node in-process: the ABCI application, the
// CometBFT node driving it, and the HTTP gateway, started and stopped in
// dependency order.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/cmtlog"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/gateway"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/retain"
	"github.com/idos-network/idos-node/node/valclient"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// gatewayShutdownTimeout bounds how long in-flight gateway requests may
// delay a stop.
const gatewayShutdownTimeout = 5 * time.Second

// Running is a started node. Stop it exactly once with Stop.
type Running struct {
	home    *home.Home
	app     *app.App
	node    *cmtnode.Node
	client  *local.Local
	gateway *gateway.Server
	wasm    *wasmhost.Runtimes
	log     *slog.Logger
	stores  *cometStores
	// stopPruner ends the pruner; prunerDone closes when it has.
	stopPruner context.CancelFunc
	prunerDone chan struct{}
	// stopListener ends the chain-grant listener; listenerDone closes
	// when it has.
	stopListener context.CancelFunc
	listenerDone chan struct{}
	// drivers are the standard node's Wasm drivers (nil when
	// Options.Drivers was given).
	drivers *hostDrivers

	stopOnce sync.Once
	stopErr  error
}

// Run starts the node of the home directory and blocks until ctx is
// cancelled, then stops it. It returns nil after a clean stop, and an error
// if the node fails to start or stops on its own.
func Run(ctx context.Context, homeDir string, logger *slog.Logger) error {
	return RunWithOptions(ctx, homeDir, logger, Options{})
}

// RunWithOptions is Run with Options.
func RunWithOptions(ctx context.Context, homeDir string, logger *slog.Logger, opts Options) error {
	h, err := home.Load(homeDir)
	if err != nil {
		return err
	}
	r, err := StartWithOptions(ctx, h, logger, opts)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		logger.Info("stopping node", "reason", context.Cause(ctx))
		return r.Stop()
	case <-r.node.Quit():
		// CometBFT stopped without being asked (a fatal consensus error
		// or similar); stop the rest and report it.
		err := r.Stop()
		return errors.Join(errors.New("CometBFT node stopped unexpectedly"), err)
	}
}

// Start opens the application, starts CometBFT and the gateway, and returns
// once all three are running. The home may be adjusted after home.Load and
// before Start (tests use this to pick ports). ctx bounds start-up only.
func Start(ctx context.Context, h *home.Home, logger *slog.Logger) (*Running, error) {
	return StartWithOptions(ctx, h, logger, Options{})
}

// StartWithOptions is Start with modules or gateway settings adjusted.
func StartWithOptions(ctx context.Context, h *home.Home, logger *slog.Logger, opts Options) (*Running, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Running{home: h, log: logger, stores: &cometStores{}}
	// A node that prunes must not prune what the network still needs.
	if err := h.CheckRetain(); err != nil {
		return nil, err
	}
	// The consensus WAL keeps old blocks' transactions until rotated
	// away; a stopped node needs only its tail (prune.go).
	if h.App.RetainBlocks > 0 {
		if err := trimConsensusWAL(h.CometBFT.Consensus.WalFile()); err != nil {
			return nil, err
		}
	}

	// One registry for the app (transactions) and the gateway (read
	// challenges), so both accept the same schemes.
	schemes := auth.DefaultRegistry()
	// One set of Wasm runtimes (one per set of limits in chain state)
	// checks proposed plugins and runs active ones, so a module compiles
	// once; compiled code is cached beside the state, so a restart loads
	// it without compiling again. Only local settings are given here: the
	// fuel, stack and memory limits come from state.
	cacheDir := opts.WasmCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(filepath.Dir(h.DBPath), "wasm-cache")
	}
	wasm, err := wasmhost.NewRuntimes(wasmhost.Config{CacheDir: cacheDir,
		CallTimeout: time.Duration(h.App.WasmCallTimeoutMS) * time.Millisecond,
		Logger:      logger.With("module", "wasm")})
	if err != nil {
		return nil, err
	}
	r.wasm = wasm
	modules := opts.Modules
	if modules == nil {
		modules = composition.ModulesWasm(wasm)
	}
	// The genesis tells a node restoring a snapshot which chain it joins.
	gen, err := h.Genesis()
	if err != nil {
		_ = wasm.Close(context.Background())
		return nil, err
	}
	a, err := app.New(app.Config{DBPath: h.DBPath, Logger: logger.With("module", "app"),
		Modules: modules, Schemes: schemes, Wasm: wasm, KeepVersions: h.App.ProofVersions,
		Retain:      retain.Policy{Blocks: h.App.RetainBlocks},
		SnapshotDir: filepath.Join(filepath.Dir(h.DBPath), "snapshots"), SnapshotInterval: h.App.SnapshotInterval,
		SnapshotKeep: h.App.SnapshotKeep, SnapshotChunkBytes: h.App.SnapshotChunkBytes, ChainID: gen.ChainID, GenesisAppState: gen.AppState})
	if err != nil {
		_ = wasm.Close(context.Background())
		return nil, fmt.Errorf("open application state %s: %w", h.DBPath, err)
	}
	r.app = a

	nodeKey, err := h.NodeKey()
	if err != nil {
		return nil, r.abort(err)
	}
	pv, err := h.PrivValidator()
	if err != nil {
		return nil, r.abort(err)
	}
	n, err := cmtnode.NewNodeWithContext(ctx, h.CometBFT, pv, nodeKey,
		// The application serialises ABCI calls itself, so CometBFT's
		// per-connection client avoids one global lock across mempool,
		// consensus and queries.
		proxy.NewConnSyncLocalClientCreator(a),
		cmtnode.DefaultGenesisDocProviderFunc(h.CometBFT),
		r.stores.provide,
		cmtnode.DefaultMetricsProvider(h.CometBFT.Instrumentation),
		cmtlog.New(logger, cmtlog.Options{}),
	)
	if err != nil {
		return nil, r.abort(fmt.Errorf("create CometBFT node: %w", err))
	}
	if err := n.Start(); err != nil {
		return nil, r.abort(fmt.Errorf("start CometBFT node: %w", err))
	}
	r.node = n
	r.client = local.New(n)
	if h.App.RetainBlocks > 0 {
		r.startPruner(n.BlockStore().Base, opts)
	}

	gw, err := gateway.New(r.gatewayConfig(string(nodeKey.ID()), schemes, opts))
	if err == nil {
		err = gw.Start()
	}
	if err != nil {
		return nil, r.abort(err)
	}
	r.gateway = gw
	if opts.Drivers == nil {
		r.drivers = &hostDrivers{home: h, cacheDir: cacheDir, log: logger.With("module", "drivers"),
			state: valclient.New(r.client, n.GenesisDoc().ChainID)}
		opts.Drivers = r.drivers.driver
	}
	r.startListener(pv, n.GenesisDoc().ChainID, opts)
	logger.Info("node started",
		"node_id", nodeKey.ID(), "chain_id", n.GenesisDoc().ChainID,
		"rpc", h.CometBFT.RPC.ListenAddress, "gateway", gw.Addr().String())
	return r, nil
}

// startPruner runs the pruner until Stop.
func (r *Running) startPruner(base func() int64, opts Options) {
	interval, every := opts.PruneInterval, opts.CompactEvery
	if interval <= 0 {
		interval = DefaultPruneInterval
	}
	if every <= 0 {
		every = r.home.App.CompactEveryBlocks
	}
	if every <= 0 {
		every = DefaultCompactEvery
	}
	p := &pruner{stores: r.stores, walHead: r.home.CometBFT.Consensus.WalFile(), base: base, compactEvery: every, log: r.log.With("module", "prune")}
	ctx, cancel := context.WithCancel(context.Background())
	r.stopPruner, r.prunerDone = cancel, make(chan struct{})
	go func() {
		defer close(r.prunerDone)
		p.run(ctx, interval)
	}()
}

// abort undoes a partial start and returns err with any clean-up failure.
func (r *Running) abort(err error) error {
	return errors.Join(err, r.Stop())
}

// Stop stops the gateway, then CometBFT, then closes the application:
// each stops taking work before what it depends on goes away. It is safe
// to call more than once; later calls return the first result.
//
// CometBFT's address book saves config/addrbook.json from a goroutine that
// Node.Stop does not wait for, so that file may be written just after Stop
// returns; the write is atomic, so a process exiting meanwhile is harmless.
func (r *Running) Stop() error {
	r.stopOnce.Do(func() {
		var errs []error
		if r.gateway != nil {
			ctx, cancel := context.WithTimeout(context.Background(), gatewayShutdownTimeout)
			errs = append(errs, r.gateway.Shutdown(ctx))
			cancel()
		}
		if r.stopListener != nil {
			r.stopListener()
			<-r.listenerDone
		}
		if r.drivers != nil {
			errs = append(errs, r.drivers.close())
		}
		if r.stopPruner != nil {
			r.stopPruner()
			<-r.prunerDone
		}
		if r.node != nil && r.node.IsRunning() {
			if err := r.node.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop CometBFT node: %w", err))
			}
			r.node.Wait()
		}
		// CometBFT v0.38 closes its block and state stores on stop, but
		// not the tx index, whose lock would refuse a restart in the same
		// process.
		if idx := r.stores.get("tx_index"); idx != nil {
			_ = idx.Close()
		}
		if r.node != nil && r.home.App.RetainBlocks > 0 {
			if err := trimConsensusWAL(r.home.CometBFT.Consensus.WalFile()); err != nil {
				errs = append(errs, err)
			}
			errs = append(errs, tidyStores(r.home.CometBFT, r.stores))
		}
		if r.app != nil {
			if err := r.app.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close application state: %w", err))
			}
		}
		if r.wasm != nil {
			errs = append(errs, r.wasm.Close(context.Background()))
		}
		r.stopErr = errors.Join(errs...)
		if r.stopErr == nil {
			r.log.Info("node stopped")
		}
	})
	return r.stopErr
}

// Node is the CometBFT node.
func (r *Running) Node() *cmtnode.Node { return r.node }

// Client is an RPC client calling the node in-process.
func (r *Running) Client() *local.Local { return r.client }

// App is the ABCI application.
func (r *Running) App() *app.App { return r.app }

// Home is the loaded home the node runs from.
func (r *Running) Home() *home.Home { return r.home }

// GatewayAddr is the gateway's bound address (useful with port 0).
func (r *Running) GatewayAddr() net.Addr { return r.gateway.Addr() }

// GatewayURL is the gateway's base URL, e.g. http://127.0.0.1:8080.
func (r *Running) GatewayURL() string { return "http://" + r.gateway.Addr().String() }
