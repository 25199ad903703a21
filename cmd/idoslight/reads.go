package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
)

// Private reads are authenticated by signing a single-use challenge of the
// gateway; the node answers for the signing account only.

func readCommand(name, usage string, extra []cli.Flag, run func(c *cli.Context, cl *userclient.Client) error) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: "idoslight " + name + " --key NAME [--gateway URL] [--json]",
		Flags:     signingFlags(extra...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			cl, done, err := dial(c)
			if err != nil {
				return err
			}
			defer done()
			return run(c, cl)
		},
	}
}

func meCommand() *cli.Command {
	return readCommand("me", "show the user this key is a wallet of", nil, func(c *cli.Context, cl *userclient.Client) error {
		u, err := cl.User(c.Context)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return printJSON(c, u)
		}
		fmt.Fprintf(c.App.Writer, "user:            %s\nencryption key:  %s\ninserter:        %s\ncreated:         %s\n",
			u.ID, u.EncryptionPublicKey, u.Inserter, unixTime(u.Created))
		if u.EncryptionPublicKey != cl.Key.Encryption.PublicBase64() {
			fmt.Fprintf(c.App.Writer, "note: this key decrypts with %s, not the user's key; see `idoslight key set-encryption --help`\n",
				cl.Key.Encryption.PublicBase64())
		}
		return nil
	})
}

func walletsCommand() *cli.Command {
	return readCommand("wallets", "list your user's wallets", nil, func(c *cli.Context, cl *userclient.Client) error {
		ws, err := cl.Wallets(c.Context)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return printJSON(c, ws)
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WALLET ID\tTYPE\tADDRESS\tCREATED")
		for _, w := range ws {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.ID, w.WalletType, w.Address, unixTime(w.Created))
		}
		return tw.Flush()
	})
}

// credentialOut is a credential as printed, with its plaintext if asked.
type credentialOut struct {
	wire.Credential
	Plaintext *string `json:"plaintext,omitempty"`
}

// credentialsOut decrypts the credentials with --decrypt (see
// printCredentials).
func credentialsOut(c *cli.Context, cl *userclient.Client, cs []wire.Credential, skipCopies bool) ([]credentialOut, error) {
	out := make([]credentialOut, len(cs))
	for i := range cs {
		out[i].Credential = cs[i]
		if c.Bool("decrypt") && !(skipCopies && cs[i].OriginalID != "") {
			pt, err := cl.Decrypt(&cs[i])
			if err != nil {
				return nil, err
			}
			s := string(pt)
			out[i].Plaintext = &s
		}
	}
	return out, nil
}

// printCredentials prints credentials, decrypting them with --decrypt. A
// credential that does not open is an error: a silent blank would hide a
// wrong key. In the owner's list (skipCopies), shared copies are sealed to
// their grantees, whose public keys the rows do not carry, so the owner
// cannot open them and they are shown encrypted.
func printCredentials(c *cli.Context, cl *userclient.Client, cs []wire.Credential, skipCopies bool) error {
	out, err := credentialsOut(c, cl, cs, skipCopies)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, out)
	}
	w := c.App.Writer
	if len(out) == 0 {
		fmt.Fprintln(w, "no credentials")
	}
	for i, cr := range out {
		if i > 0 {
			fmt.Fprintln(w)
		}
		kind := "original"
		if cr.OriginalID != "" {
			kind = "shared copy of " + cr.OriginalID
		}
		fmt.Fprintf(w, "credential:  %s (%s)\nuser:        %s\nissuer:      %s\nnotes:       %s\nupdated:     %s\n",
			cr.ID, kind, cr.UserID, cr.IssuerAuthPublicKey, cr.PublicNotes, unixTime(cr.Updated))
		switch {
		case cr.Plaintext != nil:
			fmt.Fprintf(w, "content:\n%s\n", *cr.Plaintext)
		case skipCopies && cr.OriginalID != "":
			fmt.Fprintf(w, "content:     %d bytes encrypted to the grantee\n", len(cr.Content))
		default:
			fmt.Fprintf(w, "content:     %d bytes encrypted (--decrypt to read)\n", len(cr.Content))
		}
	}
	return nil
}

func grantsCommand() *cli.Command {
	list := func(name, usage string, f func(*cli.Context, *userclient.Client) ([]wire.Grant, error)) *cli.Command {
		cmd := readCommand(name, usage, nil, func(c *cli.Context, cl *userclient.Client) error {
			gs, err := f(c, cl)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, gs)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GRANT ID\tGRANTEE\tCOPY ID\tLOCKED UNTIL\tORIGIN")
			for _, g := range gs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.ID, g.Grantee, g.DataID, unixTime(g.LockedUntil), g.Origin)
			}
			return tw.Flush()
		})
		cmd.UsageText = "idoslight grants " + name + " --key NAME [--gateway URL] [--json]"
		return cmd
	}
	return &cli.Command{
		Name:  "grants",
		Usage: "list grants your user gave (owned) or this key received",
		Subcommands: []*cli.Command{
			list("owned", "grants your user gave", func(c *cli.Context, cl *userclient.Client) ([]wire.Grant, error) {
				return cl.GrantsOwned(c.Context)
			}),
			list("received", "grants whose grantee is this key's account", func(c *cli.Context, cl *userclient.Client) ([]wire.Grant, error) {
				return cl.GrantsReceived(c.Context)
			}),
		},
		Action: groupAction("grants"),
	}
}
