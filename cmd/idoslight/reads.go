package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/lightclient/idosverify"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
)

// Private reads are authenticated by signing a single-use challenge of the
// gateway; the node answers for the signing account only.
//
// Every read is verified (lightclient/idosverify) once `idoslight init` has
// run for --home; otherwise, or with --no-verify, the gateway's answer is
// printed with a warning on stderr and "verified": false in --json.

// verifyMode decides whether a read is verified: --verify and --no-verify
// say so; without either, verification is on when the light client is
// configured (light.json exists). A --home given explicitly (flag or
// IDOSLIGHT_HOME) must be configured: a typo must not silently turn
// verification off. reason says why a read is not verified.
func verifyMode(c *cli.Context) (verify bool, reason string, err error) {
	switch {
	case c.Bool("verify") && c.Bool("no-verify"):
		return false, "", usageErrorf("give at most one of --verify and --no-verify")
	case c.Bool("verify"):
		return true, "", nil
	case c.Bool("no-verify"):
		return false, "--no-verify", nil
	}
	p := lightConfigPath(c.String("home"))
	_, err = os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) && c.IsSet("home"):
		return false, "", fmt.Errorf("%w: --home %s: %s does not exist; run `idoslight init --home %s` or give --no-verify",
			errNoLightConfig, c.String("home"), p, c.String("home"))
	case errors.Is(err, fs.ErrNotExist):
		return false, "no light client configured (" + p + " does not exist; see `idoslight init --help`)", nil
	case err != nil:
		return false, "", err
	}
	return true, "", nil
}

// warnUnverified says on stderr that what follows is the gateway's word.
func warnUnverified(c *cli.Context, reason string) {
	fmt.Fprintf(c.App.ErrWriter, "WARNING: NOT VERIFIED: %s; printing the gateway's answer as it came\n", reason)
}

func verifyFlags() []cli.Flag {
	return append(lightFlags(),
		&cli.BoolFlag{Name: "verify", Usage: "prove the answer against verified headers (default when idoslight init was run)"},
		&cli.BoolFlag{Name: "no-verify", Usage: "trust the gateway's answer (a warning says so)"},
	)
}

// reader is a read command's connection: the client, and the verifier when
// the read is verified (nil otherwise, with reason saying why).
type reader struct {
	cl     *userclient.Client
	v      *idosverify.Verifier
	reason string
}

// readStatus is in every read's --json: whether it was verified, and if
// not, why.
type readStatus struct {
	Verified bool   `json:"verified"`
	Reason   string `json:"not_verified_because,omitempty"`
}

func (r *reader) status() readStatus { return readStatus{Verified: r.v != nil, Reason: r.reason} }

// openReader dials the gateway and, when verifying, the light client.
func openReader(c *cli.Context) (*reader, func(), error) {
	verify, reason, err := verifyMode(c)
	if err != nil {
		return nil, nil, err
	}
	if !verify {
		cl, done, err := dialUnverified(c, reason)
		if err != nil {
			return nil, nil, err
		}
		return &reader{cl: cl, reason: reason}, done, nil
	}
	cl, s, done, err := dialVerified(c)
	if err != nil {
		return nil, nil, err
	}
	return &reader{cl: cl, v: verifierOf(cl, s)}, done, nil
}

// dialUnverified dials the gateway (the light client's, if there is one and
// no --gateway) and warns on stderr that what follows is its word.
func dialUnverified(c *cli.Context, reason string) (*userclient.Client, func(), error) {
	var cfg *lightConfig
	if c.String("home") != "" {
		cfg, _ = readLightConfig(c.String("home")) // no light client: no configured gateway
	}
	cl, done, err := dial(c, cfg)
	if err != nil {
		return nil, nil, err
	}
	warnUnverified(c, reason)
	return cl, done, nil
}

// verifierOf proves cl's private reads against s's verified headers.
func verifierOf(cl *userclient.Client, s *lightSession) *idosverify.Verifier {
	return &idosverify.Verifier{
		Reader: s.reader, Scheme: cl.Key.Scheme, Identifier: cl.Key.Identifier,
		Query: func(ctx context.Context, name string, data any) (*readproof.Bundle, error) {
			res, err := cl.GW.PrivateProven(ctx, name, cl.Key.Signer, data)
			if err != nil {
				return nil, err
			}
			if res.Proof == nil {
				return nil, fmt.Errorf("%w: %s answered without the proof asked for", readproof.ErrWrongAnswer, name)
			}
			return res.Proof, nil
		},
		QueryPage: func(ctx context.Context, name string, data any, after []byte, height int64) (*readproof.Bundle, error) {
			res, err := cl.GW.PrivatePage(ctx, name, cl.Key.Signer, data, after, height, 0)
			if err != nil {
				return nil, err
			}
			return res.Proof, nil
		},
	}
}

func readCommand(name, usage string, extra []cli.Flag, run func(c *cli.Context, r *reader) error) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: "idoslight " + name + " --key NAME [--verify | --no-verify] [--gateway URL] [--home DIR] [--json]",
		Description: "Verified by default once `idoslight init` was run for --home: the answer is\n" +
			"built from rows proven against headers this client verified, and --json\n" +
			"carries \"verified\": true. Otherwise (or with --no-verify) the gateway's\n" +
			"answer is printed with a warning on stderr and \"verified\": false.",
		Flags: signingFlags(append(verifyFlags(), extra...)...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			r, done, err := openReader(c)
			if err != nil {
				return err
			}
			defer done()
			return run(c, r)
		},
	}
}

func meCommand() *cli.Command {
	return readCommand("me", "show the user this key is a wallet of", nil, func(c *cli.Context, r *reader) error {
		var u idosschema.User
		var height int64
		if r.v == nil {
			pu, err := r.cl.User(c.Context)
			if err != nil {
				return err
			}
			u = *pu
		} else {
			pu, err := r.v.User(c.Context)
			if err != nil {
				return verified(err)
			}
			u, height = pu.User, pu.Height
		}
		if c.Bool("json") {
			return printJSON(c, struct {
				readStatus
				idosschema.User
				Height int64 `json:"height,omitempty"`
			}{r.status(), u, height})
		}
		fmt.Fprintf(c.App.Writer, "user:            %s\nencryption key:  %s\ninserter:        %s\ncreated:         %s\n",
			u.ID, u.EncryptionPublicKey, u.Inserter, unixTime(u.Created))
		if r.cl.Key.Encryption != nil && u.EncryptionPublicKey != r.cl.Key.Encryption.PublicBase64() {
			fmt.Fprintf(c.App.Writer, "note: this key decrypts with %s, not the user's key; see `idoslight key set-encryption --help`\n",
				r.cl.Key.Encryption.PublicBase64())
		}
		if r.v != nil {
			fmt.Fprintf(c.App.Writer, "verified at height %d\n", height)
		}
		return nil
	})
}

func walletsCommand() *cli.Command {
	return readCommand("wallets", "list your user's wallets", nil, func(c *cli.Context, r *reader) error {
		var ws []idosschema.Wallet
		var height int64
		if r.v == nil {
			var err error
			if ws, err = r.cl.Wallets(c.Context); err != nil {
				return err
			}
		} else {
			pc, err := r.v.Caller(c.Context)
			if err != nil {
				return verified(err)
			}
			ws, height = pc.Wallets, pc.WalletsHeight
		}
		if c.Bool("json") {
			return printJSON(c, struct {
				readStatus
				Height  int64               `json:"height,omitempty"`
				Wallets []idosschema.Wallet `json:"wallets"`
			}{r.status(), height, nonNil(ws)})
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WALLET ID\tTYPE\tADDRESS\tCREATED")
		for _, w := range ws {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.ID, w.WalletType, w.Address, unixTime(w.Created))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if r.v != nil {
			fmt.Fprintf(c.App.Writer, "\n%d wallets, complete at height %d\n", len(ws), height)
		}
		return nil
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// credentialOut is a credential as printed, with its plaintext if asked.
type credentialOut struct {
	idosschema.Credential
	Plaintext *string `json:"plaintext,omitempty"`
}

// credentialsOut decrypts the credentials with --decrypt (see
// printCredentials).
func credentialsOut(c *cli.Context, cl *userclient.Client, cs []idosschema.Credential, skipCopies bool) ([]credentialOut, error) {
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

// printCredentials prints credentials (already decrypted by
// credentialsOut). In the owner's list (skipCopies), shared copies are
// sealed to their grantees, whose public keys the rows do not carry, so the
// owner cannot open them and they are shown encrypted.
func printCredentials(c *cli.Context, out []credentialOut, skipCopies bool) {
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
}

// chainOrigin is where a grant from an external chain was made: the
// drivers module's record of the last observation applied to it
// (driver_grants, docs/spec/drivers.md).
type chainOrigin struct {
	Kind        string `json:"kind"`
	BlockNumber int64  `json:"block_number"`
	BlockHash   string `json:"block_hash"`
	TxRef       string `json:"tx_ref"`
	// Height is the state the record was proven in (0: not verified).
	Height int64 `json:"height,omitempty"`
}

// chainOrigins reads the record of every grant in gs whose origin is a
// chain: proven row by row when r verifies (a missing record is an
// error: the drivers module writes one with every grant it applies), from
// the gateway's drivers.grant otherwise.
func chainOrigins(c *cli.Context, r *reader, gs []idosschema.Grant) (map[string]chainOrigin, error) {
	out := map[string]chainOrigin{}
	for _, g := range gs {
		if g.Origin == wire.OriginInternal {
			continue
		}
		var o chainOrigin
		if r.v == nil {
			res, err := r.cl.GW.Query(c.Context, "drivers.grant", map[string]string{"grant_id": g.ID})
			if err != nil {
				return nil, fmt.Errorf("origin of grant %s: %w", g.ID, err)
			}
			if err := json.Unmarshal(res.Value, &o); err != nil {
				return nil, fmt.Errorf("origin of grant %s: %w", g.ID, err)
			}
			out[g.ID] = o
			continue
		}
		key, err := buildKey("driver_grants", []any{g.ID}, true)
		if err != nil {
			return nil, err
		}
		read, err := r.v.Reader.Get(c.Context, key)
		if err != nil {
			return nil, verified(fmt.Errorf("origin of grant %s: %w", g.ID, err))
		}
		ans, err := answerOf(read.Height, read.Kind, key, read.Rows)
		if err != nil {
			return nil, err
		}
		if len(ans.Rows) != 1 {
			return nil, verified(fmt.Errorf("grant %s names origin %s, but the proven state holds no record of it from a chain (%s)",
				g.ID, g.Origin, read.Kind))
		}
		b, err := json.Marshal(ans.Rows[0])
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, err
		}
		o.Height = read.Height
		out[g.ID] = o
	}
	return out, nil
}

func grantsCommand() *cli.Command {
	list := func(name, usage string, unverified func(*cli.Context, *userclient.Client) ([]idosschema.Grant, error),
		proven func(*idosverify.Verifier, context.Context) (*idosverify.ProvenGrants, error)) *cli.Command {
		cmd := readCommand(name, usage, nil, func(c *cli.Context, r *reader) error {
			var gs []idosschema.Grant
			var height int64
			if r.v == nil {
				var err error
				if gs, err = unverified(c, r.cl); err != nil {
					return err
				}
			} else {
				pg, err := proven(r.v, c.Context)
				if err != nil {
					return verified(err)
				}
				gs, height = pg.Grants, pg.Height
			}
			origins, err := chainOrigins(c, r, gs)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, struct {
					readStatus
					Height int64              `json:"height,omitempty"`
					Grants []idosschema.Grant `json:"grants"`
					// ChainOrigins: by grant id, the chain event of each
					// grant from a chain (origin other than "internal").
					ChainOrigins map[string]chainOrigin `json:"chain_origins,omitempty"`
				}{r.status(), height, nonNil(gs), origins})
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GRANT ID\tGRANTEE\tDATA ID\tLOCKED UNTIL\tORIGIN")
			for _, g := range gs {
				origin := g.Origin
				if o, ok := origins[g.ID]; ok {
					origin = fmt.Sprintf("%s (block %d %s, log %s)", g.Origin, o.BlockNumber, o.BlockHash, o.TxRef)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.ID, g.Grantee, g.DataID, unixTime(g.LockedUntil), origin)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if r.v != nil {
				fmt.Fprintf(c.App.Writer, "\n%d grants, complete at height %d\n", len(gs), height)
			}
			return nil
		})
		cmd.UsageText = "idoslight grants " + name + " --key NAME [--verify | --no-verify] [--gateway URL] [--home DIR] [--json]"
		return cmd
	}
	return &cli.Command{
		Name:  "grants",
		Usage: "list grants your user gave (owned) or this key received",
		Subcommands: []*cli.Command{
			list("owned", "grants your user gave",
				func(c *cli.Context, cl *userclient.Client) ([]idosschema.Grant, error) {
					return cl.GrantsOwned(c.Context)
				},
				(*idosverify.Verifier).GrantsOwned),
			list("received", "grants whose grantee is this key's account",
				func(c *cli.Context, cl *userclient.Client) ([]idosschema.Grant, error) {
					return cl.GrantsReceived(c.Context)
				},
				(*idosverify.Verifier).GrantsReceived),
		},
		Action: groupAction("grants"),
	}
}
