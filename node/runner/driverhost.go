package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/driverhost"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/valclient"
	"github.com/idos-network/idos-node/wasmdrivers"
)

// Errors of the standard node's drivers (Options.Drivers unset).
var (
	// ErrNoEndpoints: config/idos.json lists no endpoint for the chain,
	// so this node does not observe it.
	ErrNoEndpoints = errors.New("no endpoints for the chain in config/idos.json driver_endpoints")
	// ErrNoModule: neither the state, the binary nor the driver modules
	// directory holds a module with the chain config's driver_sha256.
	ErrNoModule = errors.New("no driver module with the chain config's SHA-256")
	// ErrDriverMismatch: the module's own metadata (family, finality,
	// config keys) does not fit the chain config that names it.
	ErrDriverMismatch = errors.New("driver module does not fit the chain config")
	// errStateRead: the node could not read its own state for the module;
	// unlike the errors above it may pass, so the listener tries again
	// next round.
	errStateRead = errors.New("read driver module from state")
)

// hostDrivers loads the chain configs' Wasm drivers (node/driverhost) with
// the endpoints of the home's config: Options.Drivers of a standard node.
type hostDrivers struct {
	home     *home.Home
	cacheDir string
	log      *slog.Logger
	// state reads driver modules from committed state (drivers.module).
	state *valclient.Client

	mu     sync.Mutex
	rt     *driverhost.Runtime // created at the first load
	loaded []*driverhost.Driver
}

// driver loads the driver of c, bound to c's chain, contract and
// confirmations and to this node's endpoints for the chain.
func (d *hostDrivers) driver(c drivers.ChainRow) (listener.Poller, error) {
	eps := d.home.App.DriverEndpoints[c.Chain.Chain]
	if len(eps) == 0 {
		return nil, ErrNoEndpoints
	}
	ctx := context.Background()
	wasm, where, err := d.findModule(ctx, c.DriverSHA256)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rt == nil {
		if d.rt, err = driverhost.NewRuntime(ctx, driverhost.RuntimeConfig{CacheDir: d.cacheDir}); err != nil {
			return nil, err
		}
	}
	drv, err := driverhost.Load(ctx, d.rt, wasm, driverhost.Config{
		Chain: c.Chain.Chain, Contract: c.Contract, Confirmations: uint64(c.Confirmations),
		Endpoints: eps, Logger: d.log,
	})
	if err != nil {
		return nil, fmt.Errorf("driver %s: %w", where, err)
	}
	m := drv.Metadata()
	if err := fitChain(m, c.Chain); err != nil {
		_ = drv.Close(ctx)
		return nil, fmt.Errorf("driver %s: %w", where, err)
	}
	d.loaded = append(d.loaded, drv)
	d.log.Info("driver loaded", "chain", c.Chain.Chain, "contract", c.Contract, "driver", m.Name, "module", where,
		"finality", m.Finality, "confirmations", c.Confirmations, "endpoints", len(eps))
	return drv, nil
}

// release closes a driver replaced by a new chain config.
func (d *hostDrivers) release(p listener.Poller) {
	drv, ok := p.(*driverhost.Driver)
	if !ok {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if i := slices.Index(d.loaded, drv); i >= 0 {
		d.loaded = slices.Delete(d.loaded, i, i+1)
		_ = drv.Close(context.Background())
	}
}

// close releases the loaded drivers and the runtime.
func (d *hostDrivers) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx := context.Background()
	var errs []error
	for _, drv := range d.loaded {
		errs = append(errs, drv.Close(ctx))
	}
	d.loaded = nil
	if d.rt != nil {
		errs = append(errs, d.rt.Close(ctx))
		d.rt = nil
	}
	return errors.Join(errs...)
}

// findModule returns the module whose hex SHA-256 is sum, and where it was
// found: in committed state (uploaded with the chain's proposal), else
// built into the binary, else a *.wasm file of the driver modules
// directory (for offline development and genesis chains).
func (d *hostDrivers) findModule(ctx context.Context, sum string) ([]byte, string, error) {
	if d.state != nil {
		m, err := d.state.DriverModule(ctx, sum, true)
		if err != nil {
			return nil, "", fmt.Errorf("%w %s: %w", errStateRead, sum, err)
		}
		if m.Found {
			if h := sha256.Sum256(m.Module); hex.EncodeToString(h[:]) != sum {
				return nil, "", fmt.Errorf("%w %s: state answered a module with SHA-256 %x", ErrNoModule, sum, h)
			}
			return m.Module, fmt.Sprintf("state (height %d)", m.Height), nil
		}
	}
	return findDriverModule(d.home.DriverModulesDir(), sum)
}

// familySchemes are the account schemes of the chain families whose
// drivers ship with the node; a driver of another family is not checked
// against account_scheme.
var familySchemes = map[string]string{"evm": auth.SchemeEIP191, "near": "nep413"} // nep413 is a signature plugin (sigplugins/nep413)

// fitChain checks a driver's metadata against the chain config that names
// it, outside consensus: a driver of a known family must match the
// config's account scheme, and the finality rule decides confirmations (a
// driver counting confirmations needs at least one; a driver of the
// chain's own finality that takes no "confirmations" key needs 0, or the
// validators agreed on a depth nobody applies).
func fitChain(m driverhost.Metadata, c drivers.Chain) error {
	if want, ok := familySchemes[m.Family]; ok && want != c.AccountScheme {
		return fmt.Errorf("%w: the driver's family is %s, account_scheme %q (want %q)", ErrDriverMismatch, m.Family, c.AccountScheme, want)
	}
	takesConfirmations := slices.Contains(m.Config, "confirmations")
	switch {
	case m.Finality == driverhost.FinalityConfirmations && c.Confirmations < 1:
		return fmt.Errorf("%w: the driver counts confirmations, the config sets %d", ErrDriverMismatch, c.Confirmations)
	case m.Finality == driverhost.FinalityTag && !takesConfirmations && c.Confirmations != 0:
		return fmt.Errorf("%w: the driver reads the chain's own finality and takes no confirmations, the config sets %d",
			ErrDriverMismatch, c.Confirmations)
	}
	return nil
}

// findDriverModule returns the module whose hex SHA-256 is sum: a driver
// built into the binary, else a *.wasm file of dir (in name order), and
// where it was found.
func findDriverModule(dir, sum string) ([]byte, string, error) {
	if b, ok := wasmdrivers.BySHA256(sum); ok {
		return b.Wasm(), "built-in " + b.Name, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil {
		return nil, "", err
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, "", fmt.Errorf("driver module %s: %w", f, err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) == sum {
			return b, f, nil
		}
	}
	return nil, "", fmt.Errorf("%w %s (looked in state, the binary and %s)", ErrNoModule, sum, dir)
}
