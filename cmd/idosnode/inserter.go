package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/valclient"
)

func inserterCommand() *cli.Command {
	return &cli.Command{
		Name:  "inserter",
		Usage: "propose, approve or remove inserters (issuers) by validator approval; list them",
		Description: "Inserters are the accounts allowed to create users (docs/inserters.md). Besides\n" +
			"the genesis list, validators add one by approval: a validator proposes the\n" +
			"account (`propose`, which counts as its approval), others `approve` it, and\n" +
			"with approvals from at least the genesis threshold (2/3) of the current voting\n" +
			"power before the proposal expires it is an inserter. `remove` proposes, or\n" +
			"approves, removing one by the same rule. ACCOUNT is scheme:identifier as the\n" +
			"account signs, e.g. eip191:0x… (any case; sent checksummed) or ed25519:<64 hex>\n" +
			"(sent lowercase). Transactions are signed with the home's validator key\n" +
			"(config/priv_validator_key.json). A transaction the node refuses exits 1 with\n" +
			"the node's message; a wrong command line exits 2.",
		Subcommands: []*cli.Command{
			groupTxCommand("inserter", "propose", "propose adding an inserter (validators only)", "ACCOUNT", valclient.ParseAccountID,
				func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, a string) (valclient.Result, error) {
					return c.ProposeInserter(ctx, key, a)
				}, inserterOutcome(idos.KindAddInserter)),
			groupTxCommand("inserter", "approve", "approve the proposal to add an inserter (validators only)", "ACCOUNT", valclient.ParseAccountID,
				func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, a string) (valclient.Result, error) {
					return c.ApproveInserter(ctx, key, a)
				}, inserterOutcome(idos.KindAddInserter)),
			groupTxCommand("inserter", "remove", "propose, or approve a proposal, to remove an inserter (validators only)", "ACCOUNT", valclient.ParseAccountID,
				func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, a string) (valclient.Result, error) {
					return c.RemoveInserter(ctx, key, a)
				}, inserterOutcome(idos.KindRemoveInserter)),
			inserterListCommand(),
		},
	}
}

// inserterOutcome prints where the proposal of kind about the account
// stands after a vote: decided, or the power still missing.
func inserterOutcome(kind string) afterFunc {
	return func(ctx context.Context, w io.Writer, c *valclient.Client, account string) error {
		ps, h, err := c.InserterProposals(ctx, true)
		if err != nil {
			return err
		}
		ins, _, err := c.Inserters(ctx)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Kind != kind || p.Target != account {
				continue
			}
			if p.Status != idos.StatusPending {
				fmt.Fprintf(w, "proposal %s %s: %s at height %d\n", p.Kind, p.Target, p.Status, p.Decided)
				return nil
			}
			fmt.Fprintf(w, "proposal %s %s: pending at height %d, approved by %d validator(s) with power %d of %d, needs %d; open until height %d\n",
				p.Kind, p.Target, h, len(p.Approvals), p.ApprovedPower, p.TotalPower, needed(ins.Threshold, p.TotalPower), p.Expires-1)
			return nil
		}
		return nil
	}
}

// needed is the approved power that reaches threshold t of total.
func needed(t idos.Fraction, total int64) int64 {
	return valclient.Params{ApprovalThreshold: valclient.Fraction(t)}.Needed(total)
}

type inserterView struct {
	Height    int64                   `json:"height"`
	Inserters idos.InsertersResult    `json:"inserters"`
	Proposals []idos.InserterProposal `json:"proposals"`
}

func inserterListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "show the inserters and the open proposals (--all: every proposal ever made)",
		UsageText: "idosnode inserter list (--home DIR | --node URL) [--all] [--json]",
		Flags: []cli.Flag{validatorsHomeFlag(), nodeFlag(), jsonFlag(),
			&cli.BoolFlag{Name: "all", Usage: "include approved, expired and gone proposals"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("inserter list takes no arguments, got %v", c.Args().Slice())
			}
			vc, err := queryClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			var v inserterView
			if v.Inserters, v.Height, err = vc.Inserters(ctx); err != nil {
				return err
			}
			if v.Proposals, _, err = vc.InserterProposals(ctx, c.Bool("all")); err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, v)
			}
			printInserters(c.App.Writer, v)
			return nil
		},
	}
}

func printInserters(w io.Writer, v inserterView) {
	r := v.Inserters
	fmt.Fprintf(w, "height %d: %d inserter(s); a proposal needs %d/%d of the voting power and expires after %d blocks\n",
		v.Height, len(r.Inserters), r.Threshold.Numerator, r.Threshold.Denominator, r.ExpiryBlocks)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Inserters) > 0 {
		fmt.Fprintf(tw, "INSERTER\tADDED (block time)\n")
		for _, i := range r.Inserters {
			added := "genesis"
			if i.Added != 0 {
				added = time.Unix(i.Added, 0).UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\n", i.ID, added)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	if len(v.Proposals) == 0 {
		fmt.Fprintln(w, "no open proposals")
		return
	}
	fmt.Fprintf(tw, "KIND\tINSERTER\tSTATUS\tCREATED\tEXPIRES\tDECIDED\tAPPROVED\tAPPROVALS\n")
	for _, p := range v.Proposals {
		decided, approved := "-", "-"
		if p.Decided > 0 {
			decided = fmt.Sprint(p.Decided)
		}
		if p.Status == idos.StatusPending {
			approved = fmt.Sprintf("%d/%d (need %d)", p.ApprovedPower, p.TotalPower, needed(r.Threshold, p.TotalPower))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n",
			p.Kind, p.Target, p.Status, p.Created, p.Expires, decided, approved, shortIDs(p.Approvals))
	}
	tw.Flush()
}
