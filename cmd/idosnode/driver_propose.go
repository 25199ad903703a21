package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/valclient"
	"github.com/idos-network/idos-node/wasmdrivers"
)

// driverTxClient loads --home, its validator key and a client for it.
func driverTxClient(c *cli.Context, cmd string) (*valclient.Client, *home.Home, error) {
	if c.String("home") == "" {
		return nil, nil, usageErrorf("driver %s: --home is required (it holds the signing key)", cmd)
	}
	h, err := home.Load(c.String("home"))
	if err != nil {
		return nil, nil, err
	}
	vc, err := newValClient(c, h)
	return vc, h, err
}

func driverProposeChainCommand() *cli.Command {
	var names []string
	for _, b := range wasmdrivers.All() {
		names = append(names, b.Name)
	}
	return &cli.Command{
		Name:  "propose-chain",
		Usage: "propose to enable (or reconfigure) an external chain's grant contract, as a validator",
		UsageText: "idosnode driver propose-chain --home DIR [--node URL] --chain ID --contract ADDR --confirmations N\n" +
			"   (--driver " + strings.Join(names, "|") + " | --driver-sha256 HEX) [--account-scheme S] [--lock-unit s|ns]",
		Description: "Sends drivers.propose_chain signed with the home's validator key: the chain\n" +
			"config every validator's driver applies (docs/spec/drivers.md, \"Chain configs\"),\n" +
			"counting as the proposer's approval. Other validators approve it with\n" +
			"`idosnode driver approve-chain DIGEST`; with 2/3 of the power it is enabled.\n" +
			"--driver names a driver built into idosnode; --driver-sha256 a module each\n" +
			"validator puts in its driver modules directory (docs/drivers.md).",
		Flags: []cli.Flag{validatorsHomeFlag(), nodeFlag(),
			&cli.StringFlag{Name: "chain", Usage: "chain `ID` as observations name it (CAIP-2 for EVM, e.g. eip155:8453)"},
			&cli.StringFlag{Name: "contract", Usage: "grant contract `ADDR`ess (lowercase hex for EVM)"},
			&cli.Int64Flag{Name: "confirmations", Value: -1, Usage: "finality depth `N` (0: the chain's own finality)"},
			&cli.StringFlag{Name: "driver", Usage: "built-in driver `NAME`: " + strings.Join(names, ", ")},
			&cli.StringFlag{Name: "driver-sha256", Usage: "hex SHA-256 of the driver module (`HEX`)"},
			&cli.StringFlag{Name: "account-scheme", Value: auth.SchemeEIP191, Usage: "signature scheme of the chain's addresses (`S`)"},
			&cli.StringFlag{Name: "lock-unit", Value: "s", Usage: "unit of the contract's locked_until: s or ns"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("driver propose-chain takes no arguments, got %v", c.Args().Slice())
			}
			for _, f := range []string{"chain", "contract", "confirmations"} {
				if !c.IsSet(f) {
					return usageErrorf("driver propose-chain: --%s is required", f)
				}
			}
			sum := c.String("driver-sha256")
			switch {
			case c.IsSet("driver") == c.IsSet("driver-sha256"):
				return usageErrorf("driver propose-chain: give exactly one of --driver and --driver-sha256")
			case c.IsSet("driver"):
				found := false
				for _, b := range wasmdrivers.All() {
					if b.Name == c.String("driver") {
						sum, found = b.SHA256(), true
					}
				}
				if !found {
					return usageErrorf("driver propose-chain: --driver %q: want one of %s", c.String("driver"), strings.Join(names, ", "))
				}
			}
			cfg := drivers.Chain{Chain: c.String("chain"), Contract: c.String("contract"), Confirmations: c.Int64("confirmations"),
				DriverSHA256: strings.ToLower(sum), AccountScheme: c.String("account-scheme"), LockUnit: c.String("lock-unit")}
			if err := cfg.Validate(); err != nil {
				return usageErrorf("driver propose-chain: %v", err)
			}
			vc, h, err := driverTxClient(c, "propose-chain")
			if err != nil {
				return err
			}
			key, err := valclient.HomeKey(h)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			fmt.Fprintf(c.App.Writer, "digest  %s\n", cfg.Digest())
			res, err := vc.Submit(ctx, key, "drivers.propose_chain", drivers.ChainPayload{Chain: cfg})
			return printTxResult(c.App.Writer, res, err)
		},
	}
}

func driverApproveChainCommand() *cli.Command {
	return &cli.Command{
		Name:      "approve-chain",
		Usage:     "approve a proposed chain config by its digest, as a validator",
		UsageText: "idosnode driver approve-chain --home DIR [--node URL] DIGEST",
		Description: "Sends drivers.approve_chain signed with the home's validator key. The digest\n" +
			"is printed by propose-chain and listed by `idosnode driver status`.",
		Flags: []cli.Flag{validatorsHomeFlag(), nodeFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("driver approve-chain needs exactly one argument, DIGEST")
			}
			vc, h, err := driverTxClient(c, "approve-chain")
			if err != nil {
				return err
			}
			key, err := valclient.HomeKey(h)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			res, err := vc.Submit(ctx, key, "drivers.approve_chain", drivers.ApproveChainPayload{Digest: c.Args().First()})
			return printTxResult(c.App.Writer, res, err)
		},
	}
}
