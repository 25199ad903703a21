package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/valclient"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
	"github.com/idos-network/idos-node/wasmdrivers"
)

func driverProposeChainCommand() *cli.Command {
	var names []string
	for _, b := range wasmdrivers.All() {
		names = append(names, b.Name)
	}
	return &cli.Command{
		Name:  "propose-chain",
		Usage: "propose to enable (or reconfigure) an external chain's grant contract, as a validator",
		UsageText: "idosnode driver propose-chain --home DIR [--node URL] --chain ID --contract ADDR --confirmations N\n" +
			"   (--driver " + strings.Join(names, "|") + " | --driver-file FILE.wasm | --driver-sha256 HEX) [--account-scheme S] [--lock-unit s|ns]",
		Description: "Sends drivers.propose_chain signed with the home's validator key: the chain\n" +
			"config every validator's driver applies (docs/spec/drivers.md, \"Chain configs\"),\n" +
			"counting as the proposer's approval. Other validators approve it with\n" +
			"`idosnode driver approve-chain DIGEST`; with 2/3 of the power it is enabled.\n" +
			"The driver module is chain state: --driver (a driver built into idosnode) and\n" +
			"--driver-file upload the module first (plugins.upload, a line per chunk on\n" +
			"stderr) unless the state holds it already; --driver-sha256 names a module the\n" +
			"state holds (uploaded before, or the driver of an enabled chain).",
		Flags: []cli.Flag{validatorsHomeFlag(), nodeFlag(),
			&cli.StringFlag{Name: "chain", Usage: "chain `ID` as observations name it (CAIP-2 for EVM, e.g. eip155:8453)"},
			&cli.StringFlag{Name: "contract", Usage: "grant contract `ADDR`ess (lowercase hex for EVM)"},
			&cli.Int64Flag{Name: "confirmations", Value: -1, Usage: "finality depth `N` (0: the chain's own finality)"},
			&cli.StringFlag{Name: "driver", Usage: "built-in driver `NAME`: " + strings.Join(names, ", ")},
			&cli.StringFlag{Name: "driver-file", Usage: "driver module `FILE.wasm` to upload with the proposal"},
			&cli.StringFlag{Name: "driver-sha256", Usage: "hex SHA-256 of a driver module in state (`HEX`)"},
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
			sum, wasm, err := driverSource(c, names)
			if err != nil {
				return err
			}
			cfg := drivers.Chain{Chain: c.String("chain"), Contract: c.String("contract"), Confirmations: c.Int64("confirmations"),
				DriverSHA256: strings.ToLower(sum), AccountScheme: c.String("account-scheme"), LockUnit: c.String("lock-unit")}
			if err := cfg.Validate(); err != nil {
				return usageErrorf("driver propose-chain: %v", err)
			}
			vc, key, err := homeKeyClient(c, "driver propose-chain")
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			if wasm != nil {
				inState, err := driverInState(ctx, vc, cfg.DriverSHA256)
				if err != nil {
					return err
				}
				if inState {
					fmt.Fprintf(c.App.Writer, "module  %s in state already; not uploaded\n", cfg.DriverSHA256)
					wasm = nil
				} else {
					fmt.Fprintf(c.App.Writer, "module  %s (%d bytes) uploaded with the proposal\n", cfg.DriverSHA256, len(wasm))
					vc.UploadProgress = uploadProgress(c.App.ErrWriter)
				}
			}
			fmt.Fprintf(c.App.Writer, "digest  %s\n", cfg.Digest())
			res, err := vc.ProposeChain(ctx, key, wasm, cfg)
			return printTxResult(c.App.Writer, res, err)
		},
	}
}

// driverSource returns the driver module of propose-chain's flags: its hex
// SHA-256 and, for --driver and --driver-file, its bytes (statically
// checked as the chain will check them).
func driverSource(c *cli.Context, names []string) (string, []byte, error) {
	n := 0
	for _, f := range []string{"driver", "driver-file", "driver-sha256"} {
		if c.IsSet(f) {
			n++
		}
	}
	if n != 1 {
		return "", nil, usageErrorf("driver propose-chain: give exactly one of --driver, --driver-file and --driver-sha256")
	}
	var wasm []byte
	switch {
	case c.IsSet("driver-sha256"):
		return c.String("driver-sha256"), nil, nil
	case c.IsSet("driver"):
		for _, b := range wasmdrivers.All() {
			if b.Name == c.String("driver") {
				wasm = b.Wasm()
			}
		}
		if wasm == nil {
			return "", nil, usageErrorf("driver propose-chain: --driver %q: want one of %s", c.String("driver"), strings.Join(names, ", "))
		}
	default:
		var err error
		if wasm, err = readModuleFile(c.String("driver-file")); err != nil {
			return "", nil, err
		}
		if _, err := meter.Instrument(wasm); err != nil {
			return "", nil, usageErrorf("driver propose-chain: %s: %w: %w", c.String("driver-file"), plugins.ErrBadModule, err)
		}
	}
	sum := sha256.Sum256(wasm)
	return hex.EncodeToString(sum[:]), wasm, nil
}

// driverInState reports whether a proposal may name the module without
// uploading it: it is in state, or an enabled chain's driver.
func driverInState(ctx context.Context, vc *valclient.Client, sum string) (bool, error) {
	m, err := vc.DriverModule(ctx, sum, false)
	if err != nil {
		return false, fmt.Errorf("read the node's driver modules: %w", err)
	}
	if m.Found {
		return true, nil
	}
	chains, _, err := vc.DriverChains(ctx)
	if err != nil {
		return false, fmt.Errorf("read the node's chains: %w", err)
	}
	for _, ch := range chains {
		if ch.DriverSHA256 == sum {
			return true, nil
		}
	}
	return false, nil
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
			vc, key, err := homeKeyClient(c, "driver approve-chain")
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
