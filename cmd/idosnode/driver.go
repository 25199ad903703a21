package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/module/drivers"
)

func driverCommand() *cli.Command {
	return &cli.Command{
		Name:  "driver",
		Usage: "chain-grant drivers: enabled chains, pending observations, offline tests",
		Description: "Access grants made on external chains enter the state when validators with at\n" +
			"least 2/3 of the voting power attest the identical observation\n" +
			"(docs/spec/drivers.md). `list` shows the enabled chains, `status` the\n" +
			"observations and chain proposals still open, with the power that attested them;\n" +
			"`test` runs a driver module offline against recorded JSON-RPC exchanges (docs/drivers.md).\n" +
			"Exit status: 0 ok, 1 failed, 2 wrong command line.",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "show the enabled chains (contract, finality rule, driver module hash)",
				UsageText: "idosnode driver list (--home DIR | --node URL) [--json]",
				Flags:     []cli.Flag{validatorsHomeFlag(), nodeFlag(), jsonFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return usageErrorf("driver list takes no arguments, got %v", c.Args().Slice())
					}
					vc, err := queryClient(c)
					if err != nil {
						return err
					}
					ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
					defer cancel()
					l, h, err := vc.DriverChains(ctx)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON(c.App.Writer, l)
					}
					printDriverChains(c.App.Writer, h, l)
					return nil
				},
			},
			{
				Name:      "status",
				Usage:     "show the pending observations and chain proposals with their attested power",
				UsageText: "idosnode driver status (--home DIR | --node URL) [--all] [--json]",
				Flags: []cli.Flag{validatorsHomeFlag(), nodeFlag(), jsonFlag(),
					&cli.BoolFlag{Name: "all", Usage: "also the decided ones"}},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return usageErrorf("driver status takes no arguments, got %v", c.Args().Slice())
					}
					vc, err := queryClient(c)
					if err != nil {
						return err
					}
					ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
					defer cancel()
					l, h, err := vc.DriverPending(ctx, c.Bool("all"))
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON(c.App.Writer, l)
					}
					printDriverPending(c.App.Writer, h, l)
					return nil
				},
			},
			driverTestCommand(),
		},
	}
}

func printDriverChains(w io.Writer, height int64, l []drivers.ChainRow) {
	fmt.Fprintf(w, "height %d: %d chain(s)\n", height, len(l))
	for _, c := range l {
		fmt.Fprintf(w, "%s %s  %s  confirmations %d  accounts %s  lock %s  driver %s  (since height %d)\n",
			c.Chain.Chain, c.Contract, c.Status, c.Confirmations, c.AccountScheme, c.LockUnit, c.DriverSHA256, c.Height)
	}
}

func printDriverPending(w io.Writer, height int64, l []drivers.Pending) {
	fmt.Fprintf(w, "height %d: %d proposal(s)\n", height, len(l))
	for _, p := range l {
		what := p.Digest
		switch {
		case p.Observation != nil:
			o := p.Observation
			what = fmt.Sprintf("%s %s→%s data %s on %s at block %d", o.Kind, o.Owner, o.Grantee, o.DataID, o.Chain, o.BlockNumber)
		case p.Chain != nil:
			what = fmt.Sprintf("enable %s %s", p.Chain.Chain, p.Chain.Contract)
		}
		fmt.Fprintf(w, "%s %s  %s  power %d of %d by %d validator(s)  open %d..%d  %s\n",
			p.Kind, p.Digest[:min(12, len(p.Digest))], p.Status, p.AttestedPower, p.TotalPower, len(p.Attesters), p.Created, p.Expires-1, what)
	}
}
