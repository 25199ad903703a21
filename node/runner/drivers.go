package runner

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/privval"

	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/valclient"
)

// DriverCursorsDir is the listener's directory under the home's data
// directory: one cursor file per chain and listener.StatusFile.
const DriverCursorsDir = "driver-cursors"

// startListener runs the chain-grant listener until Stop: every round it
// reads the validator set and the enabled chains from committed state,
// gives each chain its driver (opts.Drivers, kept while the chain's config
// digest stays), polls them and submits drivers.attest with the validator
// key through the node's own mempool, waiting for commit. A node whose key
// has no voting power polls nothing (its cursors stay where they are until
// it is a validator). Cursors and the status file live beside the state,
// outside it.
func (r *Running) startListener(pv *privval.FilePV, chainID string, opts Options) {
	vc := valclient.New(r.client, chainID)
	vc.Wait = true
	key := ed25519.PrivateKey(pv.Key.PrivKey.Bytes())
	self := valclient.ValidatorID(key)
	log := r.log.With("module", "drivers")
	type cached struct {
		digest string
		poller listener.Poller
		err    error
	}
	pollers := map[string]cached{}
	// said is the last reason logged per chain ("" while polling), so a
	// state that lasts is logged once.
	said := map[string]string{}
	interval := opts.DriverInterval
	if interval <= 0 {
		interval = time.Duration(r.home.App.DriverPollIntervalMS) * time.Millisecond
	}
	l := &listener.Listener{
		Submit:   listener.ValSubmitter{Client: vc, Key: key},
		Dir:      filepath.Join(filepath.Dir(r.home.DBPath), DriverCursorsDir),
		Interval: interval,
		Log:      log,
		Refresh: func(ctx context.Context) ([]listener.Source, error) {
			set, err := vc.List(ctx)
			if err != nil {
				return nil, fmt.Errorf("validator set: %w", err)
			}
			validator := false
			for _, v := range set.Validators {
				validator = validator || (v.PubKey == self && v.Power > 0)
			}
			chains, _, err := vc.DriverChains(ctx)
			if err != nil {
				return nil, err
			}
			var out []listener.Source
			for _, c := range chains { // in (chain, contract) order
				if c.Status != "enabled" {
					continue
				}
				k := c.Chain.Chain + "\x00" + c.Contract
				src := listener.Source{Chain: c.Chain.Chain, Contract: c.Contract}
				p, ok := pollers[k]
				switch {
				case !validator:
					src.Skip = "not a validator: only validators attest"
				case !ok || p.digest != c.Digest:
					if ok && p.poller != nil && r.drivers != nil {
						r.drivers.release(p.poller) // polled by this goroutine only
					}
					poller, err := opts.Drivers(c)
					p = cached{c.Digest, poller, err}
					pollers[k] = p
				}
				if src.Skip == "" {
					switch {
					case errors.Is(p.err, ErrNoEndpoints):
						src.Skip = "not observed: no endpoints for " + c.Chain.Chain + " in config/idos.json (driver_endpoints)"
					case p.err != nil:
						src.Skip = "driver not loaded: " + p.err.Error()
					default:
						src.Poller = p.poller
					}
				}
				if said[k] != src.Skip || !ok && src.Skip == "" {
					switch {
					case src.Skip == "":
						log.Info("observing chain", "chain", c.Chain.Chain, "contract", c.Contract)
					case p.err != nil && !errors.Is(p.err, ErrNoEndpoints):
						log.Error("chain not observed", "chain", c.Chain.Chain, "contract", c.Contract, "reason", src.Skip)
					default:
						log.Info("chain not observed", "chain", c.Chain.Chain, "contract", c.Contract, "reason", src.Skip)
					}
					said[k] = src.Skip
				}
				if errors.Is(p.err, errStateRead) {
					delete(pollers, k) // load again next round
				}
				out = append(out, src)
			}
			return out, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stopListener, r.listenerDone = cancel, make(chan struct{})
	go func() {
		defer close(r.listenerDone)
		_ = l.Run(ctx) // ends with ctx
	}()
}
