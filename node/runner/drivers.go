package runner

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"

	"github.com/cometbft/cometbft/privval"

	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/valclient"
)

// startListener runs the chain-grant listener until Stop: every round it
// reads the enabled chains from committed state, gives each its driver
// (opts.Drivers, kept while the chain's config digest stays), polls them
// and submits drivers.attest with the validator key through the node's own
// mempool, waiting for commit. Cursors live beside the state, outside it.
func (r *Running) startListener(pv *privval.FilePV, chainID string, opts Options) {
	vc := valclient.New(r.client, chainID)
	vc.Wait = true
	key := ed25519.PrivateKey(pv.Key.PrivKey.Bytes())
	type cached struct {
		digest string
		poller listener.Poller
	}
	pollers := map[string]cached{}
	l := &listener.Listener{
		Submit:   listener.ValSubmitter{Client: vc, Key: key},
		Dir:      filepath.Join(filepath.Dir(r.home.DBPath), "driver-cursors"),
		Interval: opts.DriverInterval,
		Log:      r.log.With("module", "drivers"),
		Refresh: func(ctx context.Context) ([]listener.Source, error) {
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
				p, ok := pollers[k]
				if !ok || p.digest != c.Digest {
					poller, err := opts.Drivers(c)
					if err != nil {
						return nil, fmt.Errorf("driver for %s %s: %w", c.Chain.Chain, c.Contract, err)
					}
					p = cached{c.Digest, poller}
					pollers[k] = p
				}
				out = append(out, listener.Source{Chain: c.Chain.Chain, Contract: c.Contract, Poller: p.poller})
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
