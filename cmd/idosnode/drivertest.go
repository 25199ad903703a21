package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/driverhost"
)

func driverTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run a driver offline against recorded JSON-RPC exchanges",
		UsageText: "idosnode driver test --fixtures DIR --chain ID --contract ADDR [--confirmations N] [--cursor C] MODULE.wasm",
		Description: "Loads MODULE.wasm as a node would (metering, imports, metadata) and polls it\n" +
			"with DIR/fixtures.json answering its rpc_call in place of the chain's endpoints,\n" +
			"feeding each poll's cursor to the next until the recording is used up. Prints\n" +
			"each observation as a JSON line, then the last cursor. Exit status 0 when every\n" +
			"poll succeeded, 1 when one failed or the module is refused, 2 on a bad command line.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "fixtures", Usage: "directory with fixtures.json (`DIR`)", Required: true},
			&cli.StringFlag{Name: "chain", Usage: "chain `ID` the driver is configured with, e.g. eip155:1", Required: true},
			&cli.StringFlag{Name: "contract", Usage: "grant contract `ADDR`ess", Required: true},
			&cli.Uint64Flag{Name: "confirmations", Usage: "finality depth `N`", Value: 3},
			&cli.StringFlag{Name: "cursor", Usage: "cursor `C` of the first poll (default: none)"},
			&cli.IntFlag{Name: "max-polls", Usage: "stop after `N` polls", Value: 100},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("driver test needs exactly one argument, MODULE.wasm")
			}
			wasm, err := readModuleFile(c.Args().First())
			if err != nil {
				return err
			}
			tr, err := driverhost.Replay(c.String("fixtures"))
			if err != nil {
				return usageErrorf("driver test: fixtures: %v", err)
			}
			ctx := context.Background()
			rt, err := driverhost.NewRuntime(ctx, driverhost.RuntimeConfig{})
			if err != nil {
				return err
			}
			defer rt.Close(ctx)
			d, err := driverhost.Load(ctx, rt, wasm, driverhost.Config{Chain: c.String("chain"), Contract: c.String("contract"),
				Confirmations: c.Uint64("confirmations"), Endpoints: []string{"fixtures"}, Transport: tr})
			if err != nil {
				return err
			}
			defer d.Close(ctx)
			var cursor []byte
			if s := c.String("cursor"); s != "" {
				cursor = []byte(s)
			}
			obs, next, err := driverhost.PollFixtures(ctx, d, cursor, c.Int("max-polls"))
			enc := json.NewEncoder(c.App.Writer)
			for _, g := range obs {
				if e := enc.Encode(g); e != nil {
					return e
				}
			}
			fmt.Fprintf(c.App.Writer, "cursor: %s\n%d observations\n", next, len(obs))
			return err
		},
	}
}
