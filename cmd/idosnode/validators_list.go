package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/valclient"
)

// listView is `validators list --json`: the application's set, CometBFT's
// set at its latest height (which lags by two blocks, so one sees when a
// change took effect) and the pending requests.
type listView struct {
	Height     int64                  `json:"height"`
	Validators []valclient.Validator  `json:"validators"`
	TotalPower int64                  `json:"total_power"`
	Params     valclient.Params       `json:"params"`
	CometBFT   valclient.ConsensusSet `json:"cometbft"`
	Pending    []valclient.Request    `json:"pending"`
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "show the validator set, CometBFT's current set and pending requests",
		UsageText: "idosnode validators list (--home DIR | --node URL) [--json]",
		Flags:     []cli.Flag{validatorsHomeFlag(), nodeFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("validators list takes no arguments, got %v", c.Args().Slice())
			}
			vc, err := queryClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			set, err := vc.List(ctx)
			if err != nil {
				return err
			}
			cmt, err := vc.ConsensusValidators(ctx, nil)
			if err != nil {
				return err
			}
			pending, err := vc.Requests(ctx, false)
			if err != nil {
				return err
			}
			v := listView{
				Height: set.Height, Validators: set.Validators, TotalPower: set.TotalPower,
				Params: set.Params, CometBFT: cmt, Pending: pending,
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, v)
			}
			printList(c.App.Writer, v)
			return nil
		},
	}
}

func requestsCommand() *cli.Command {
	return &cli.Command{
		Name:      "requests",
		Usage:     "show pending join and remove requests (--all: every request ever made)",
		UsageText: "idosnode validators requests (--home DIR | --node URL) [--all] [--json]",
		Flags: []cli.Flag{
			validatorsHomeFlag(), nodeFlag(), jsonFlag(),
			&cli.BoolFlag{Name: "all", Usage: "include approved, expired and withdrawn requests"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("validators requests takes no arguments, got %v", c.Args().Slice())
			}
			vc, err := queryClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			reqs, err := vc.Requests(ctx, c.Bool("all"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, valclient.Requests{Requests: reqs})
			}
			// The threshold needs the params, which only the list carries.
			set, err := vc.List(ctx)
			if err != nil {
				return err
			}
			printRequests(c.App.Writer, reqs, set.Params, c.Bool("all"))
			return nil
		},
	}
}

// queryClient needs no key: --node alone is enough for reads.
func queryClient(c *cli.Context) (*valclient.Client, error) {
	var h *home.Home
	if c.String("home") != "" {
		var err error
		if h, err = home.Load(c.String("home")); err != nil {
			return nil, err
		}
	}
	return newValClient(c, h)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
