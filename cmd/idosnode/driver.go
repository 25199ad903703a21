package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/listener"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/runner"
)

func driverCommand() *cli.Command {
	return &cli.Command{
		Name:  "driver",
		Usage: "chain-grant drivers: enabled chains, pending observations, chain proposals, offline tests",
		Description: "Access grants made on external chains enter the state when validators with at\n" +
			"least 2/3 of the voting power attest the identical observation\n" +
			"(docs/spec/drivers.md). `list` shows the enabled chains, `status` the\n" +
			"observations and chain proposals still open, with the power that attested them;\n" +
			"`propose-chain` and `approve-chain` enable a chain by approval of the validators;\n" +
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
				Usage:     "show the pending observations and chain proposals with their attested power, and with --home what this node's listener does",
				UsageText: "idosnode driver status (--home DIR | --node URL) [--all] [--json]",
				Description: "Lists the open observation and chain proposals (--all: also the decided ones)\n" +
					"with the power that attested them. With --home (text output), also this node's\n" +
					"side per enabled chain: whether it observes it (endpoints in config/idos.json,\n" +
					"validator), its listener's cursor, last poll and last error.",
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
					if c.String("home") == "" {
						return nil
					}
					hm, err := home.Load(c.String("home"))
					if err != nil {
						return err
					}
					chains, _, err := vc.DriverChains(ctx)
					if err != nil {
						return err
					}
					st, err := listener.ReadStatus(filepath.Join(filepath.Dir(hm.DBPath), runner.DriverCursorsDir))
					if err != nil && !errors.Is(err, listener.ErrNoStatus) {
						return err
					}
					printDriverLocal(c.App.Writer, hm, chains, st)
					return nil
				},
			},
			driverProposeChainCommand(),
			driverApproveChainCommand(),
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

// printDriverLocal shows this node's side of each enabled chain: its
// endpoints and what its listener last did.
func printDriverLocal(w io.Writer, h *home.Home, chains []drivers.ChainRow, st listener.Status) {
	if st.Updated.IsZero() {
		fmt.Fprintf(w, "this node (%s): the listener has not run yet\n", h.Dir)
	} else {
		fmt.Fprintf(w, "this node (%s), listener round at %s:\n", h.Dir, st.Updated.Format(time.RFC3339))
	}
	for _, c := range chains {
		if c.Status != "enabled" {
			continue
		}
		eps := h.App.DriverEndpoints[c.Chain.Chain]
		if len(eps) == 0 {
			fmt.Fprintf(w, "%s %s  not observed: no endpoints in config/idos.json (driver_endpoints)\n", c.Chain.Chain, c.Contract)
			continue
		}
		var cs *listener.ChainStatus
		for i := range st.Chains {
			if st.Chains[i].Chain == c.Chain.Chain && st.Chains[i].Contract == c.Contract {
				cs = &st.Chains[i]
			}
		}
		switch {
		case cs == nil:
			fmt.Fprintf(w, "%s %s  %d endpoint(s); not polled yet\n", c.Chain.Chain, c.Contract, len(eps))
		case cs.Skip != "":
			fmt.Fprintf(w, "%s %s  %d endpoint(s); %s\n", c.Chain.Chain, c.Contract, len(eps), cs.Skip)
		default:
			fmt.Fprintf(w, "%s %s  %d endpoint(s); cursor %s  attested %d  last poll %s", c.Chain.Chain, c.Contract, len(eps),
				cs.Cursor, cs.Attested, cs.LastPoll.Format(time.RFC3339))
			if cs.LastError != "" {
				fmt.Fprintf(w, "  last error: %s", cs.LastError)
			}
			fmt.Fprintln(w)
		}
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
