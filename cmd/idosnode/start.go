package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "run the node of a home until SIGINT or SIGTERM",
		UsageText: "idosnode start --home DIR [--log-level LEVEL] [--log-format text|json] [--wasm-cache DIR]",
		Description: "Runs CometBFT, the idOS application and the HTTP gateway in one process.\n" +
			"Logs go to stderr. SIGINT or SIGTERM stops the gateway, then CometBFT, then\n" +
			"closes the state database, and exits 0. Log level and format default to\n" +
			"the values in DIR/config/idos.json.",
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error (default from idos.json)"},
			&cli.StringFlag{Name: "log-format", Usage: "text or json (default from idos.json)"},
			&cli.StringFlag{Name: "wasm-cache", Usage: "`DIR` for compiled plugin code, shareable by nodes on one machine (default: wasm-cache beside the state)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			dir := c.String("home")
			h, err := home.Load(dir)
			if err != nil {
				return err
			}
			level, format := h.App.LogLevel, h.App.LogFormat
			if c.IsSet("log-level") {
				level = c.String("log-level")
			}
			if c.IsSet("log-format") {
				format = c.String("log-format")
			}
			logger, err := newLogger(os.Stderr, level, format)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runner.RunWithOptions(ctx, dir, logger, runner.Options{WasmCacheDir: c.String("wasm-cache")})
		},
	}
}
