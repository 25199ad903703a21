package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/devnet"
)

func devnetCommand() *cli.Command {
	return &cli.Command{
		Name:      "devnet",
		Usage:     "run a local network of validators, one process each, until Ctrl-C",
		UsageText: "idosnode devnet [--validators N] [--dir DIR] [--base-port P] [--chain-id ID]",
		Description: "The first run creates DIR/node0..N-1 with a shared genesis (equal power),\n" +
			"full-mesh peers and ports on 127.0.0.1: node i uses P+10i (P2P), P+10i+1\n" +
			"(RPC) and P+10i+2 (gateway). DIR/devnet.json records the network; later\n" +
			"runs resume the same chain, and flags that disagree with it are an error.\n" +
			"Each node runs as `idosnode start --home DIR/nodeI --wasm-cache DIR/wasm-cache`\n" +
			"(one cache of compiled plugins for all nodes; on a fresh cache node 0 fills it\n" +
			"first) with its log in DIR/nodeI/node.log; error lines are echoed here, except\n" +
			"CometBFT's peer-dialing noise at start. The address table is printed once every\n" +
			"gateway's /v1/status names the devnet's chain and that node. Ctrl-C stops all nodes and\n" +
			"exits 0; a node that dies on its own stops the network with exit status 1.\n" +
			"Remove DIR to start a fresh chain.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "validators", Value: devnet.DefaultValidators, Usage: "number `N` of validators (new networks only)"},
			&cli.StringFlag{Name: "dir", Value: "./.devnet", Usage: "`DIR` holding the devnet"},
			&cli.IntFlag{Name: "base-port", Value: devnet.DefaultBasePort, Usage: "first `PORT` of the port range (new networks only)"},
			&cli.StringFlag{Name: "chain-id", Value: devnet.DefaultChainID, Usage: "chain `ID` (new networks only)"},
			&cli.BoolFlag{Name: "seed-demo", Usage: "once up, store a demo user, wallets, credentials and a share (new or existing network; " +
				"every devnet's genesis lists the demo inserter); its keys (public, insecure) go to DIR/demo-keys/"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			// Unset flags stay zero so that resuming compares only what the
			// user actually asked for against the existing network.
			// A new network starts with the bundled signature plugins and
			// the demo inserter, so --seed-demo works on any devnet.
			cfg := devnet.Config{Dir: c.String("dir"), AppState: devnet.DefaultAppState()}
			if c.IsSet("validators") {
				cfg.Validators = c.Int("validators")
				if cfg.Validators < 1 {
					return fmt.Errorf("--validators %d: want at least 1", cfg.Validators)
				}
			}
			if c.IsSet("base-port") {
				cfg.BasePort = c.Int("base-port")
				if cfg.BasePort < 1 {
					return fmt.Errorf("--base-port %d: want a port number", cfg.BasePort)
				}
			}
			if c.IsSet("chain-id") {
				cfg.ChainID = c.String("chain-id")
			}
			logger, err := newLogger(os.Stderr, "info", "text")
			if err != nil {
				return err
			}
			m, created, err := devnet.Prepare(cfg)
			if err != nil {
				return err
			}
			if created {
				logger.Info("created devnet", "dir", cfg.Dir, "chain_id", m.ChainID, "validators", m.Validators)
			} else {
				logger.Info("resuming devnet", "dir", cfg.Dir, "chain_id", m.ChainID, "validators", m.Validators)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if c.Bool("seed-demo") {
				go func() {
					// A failed seed is reported but leaves the network running:
					// the nodes themselves are fine.
					if err := devnet.SeedDemo(ctx, cfg.Dir, m, c.App.Writer, logger); err != nil && ctx.Err() == nil {
						logger.Error("devnet demo seed failed", "err", err)
					}
				}()
			}
			if err := devnet.Run(ctx, cfg.Dir, m, devnet.RunOptions{Out: c.App.Writer, Logger: logger}); err != nil {
				return err
			}
			logger.Info("devnet stopped")
			return nil
		},
	}
}
