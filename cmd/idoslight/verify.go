package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/userclient"
)

var (
	// errWalletNotProven: the verified wallets of the user the gateway
	// named do not include the caller's wallet, so nothing binds that user
	// to the caller.
	errWalletNotProven = errors.New("the caller's wallet is not among the user's verified wallets")
	// errCredentialPresent: verify-deleted proved the credential there.
	errCredentialPresent = errors.New("not deleted")
)

func gatewayFlag() cli.Flag {
	return &cli.StringFlag{Name: "gateway", EnvVars: []string{"IDOSLIGHT_GATEWAY"},
		Usage: "untrusted gateway `URL` (default: the one given to idoslight init)"}
}

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "read rows of a public table, verified against a header this client verified",
		UsageText: "idoslight get --table T (--key JSON_ARRAY | --prefix JSON_ARRAY) [--gateway URL] [--home DIR] [--max-lag N]",
		Description: "The key is built here (docs/spec/commitment.md) from the table and the\n" +
			"primary key values, a JSON array: strings are TEXT, integers INTEGER.\n" +
			"--key names one row (every primary key column) and proves it present or\n" +
			"absent; --prefix names the leading key columns ([] for the whole table) and\n" +
			"proves the rows complete. The gateway's bundle (GET /v1/proof) is verified\n" +
			"against header H+1's app hash; the answer is printed as JSON, each row with\n" +
			"its column names (BLOB values in hex):\n" +
			"  {\"height\":H,\"kind\":\"row|absent|range\",\"table\":T,\"key\":HEX,\"rows\":[{...}]}\n\n" +
			"  idoslight get --table kv --key '[\"ed25519:ab12…\",\"color\"]'\n" +
			"  idoslight get --table kv --prefix '[\"ed25519:ab12…\"]'\n" +
			"  idoslight get --table validators --prefix '[]'" + verifiedHelp,
		Flags: append(lightFlags(), gatewayFlag(),
			&cli.StringFlag{Name: "table", Usage: "table `NAME` (required)"},
			&cli.StringFlag{Name: "key", Usage: "primary key values, a `JSON_ARRAY`"},
			&cli.StringFlag{Name: "prefix", Usage: "leading primary key values, a `JSON_ARRAY`"},
		),
		Action: func(c *cli.Context) error {
			if err := need(c, "table"); err != nil {
				return err
			}
			if c.IsSet("key") == c.IsSet("prefix") {
				return usageErrorf("give exactly one of --key and --prefix")
			}
			flag := "key"
			if c.IsSet("prefix") {
				flag = "prefix"
			}
			values, err := parseKeyValues(c.String(flag))
			if err != nil {
				return usageErrorf("--%s: %v", flag, err)
			}
			key, err := buildKey(c.String("table"), values, flag == "key")
			if err != nil {
				return usageErrorf("--%s: %v", flag, err)
			}
			log, err := logger(c)
			if err != nil {
				return err
			}
			ctx, cancel := commandContext(c)
			defer cancel()
			c.Context = ctx
			s, err := openLight(c, log)
			if err != nil {
				return err
			}
			defer s.Close()
			var read *lightclient.Read
			if flag == "key" {
				read, err = s.reader.Get(ctx, key)
			} else {
				read, err = s.reader.Range(ctx, key)
			}
			if err != nil {
				return verified(err)
			}
			ans, err := answerOf(read.Height, read.Kind, key, read.Rows)
			if err != nil {
				return err
			}
			return printJSON(c, ans)
		},
	}
}

// provenCredentials is the caller's complete set of credentials, proven.
type provenCredentials struct {
	UserID string `json:"user_id"`
	// WalletsHeight is the height at which the caller's wallet was proven
	// to belong to UserID; Height the one of the credentials.
	WalletsHeight int64             `json:"wallets_height"`
	Height        int64             `json:"height"`
	Credentials   []idos.Credential `json:"-"`
}

// proveCredentials proves which user the caller is and every credential of
// that user, trusting the gateway for nothing:
//
//  1. idos.get_wallets with its proof: a range bundle under
//     Key("idos_wallets", [uid]), where uid is read from the bundle (any
//     value would do: it is checked next); verified complete against a
//     verified header. Among the verified rows must be the caller's own
//     wallet (scheme, identifier) (errWalletNotProven). Wallets are unique
//     by (wallet_type, address) in the state, so this binds uid to the
//     caller.
//  2. idos.get_credentials with its proof: a range bundle under
//     Key("idos_credentials", [uid]), verified complete.
//
// The credentials returned are built from the verified rows only, never
// from the node's JSON answer.
func proveCredentials(ctx context.Context, cl *userclient.Client, r *lightclient.Reader) (*provenCredentials, error) {
	wres, err := cl.GW.PrivateProven(ctx, "idos.get_wallets", cl.Key.Signer, nil)
	if err != nil {
		return nil, fmt.Errorf("idos.get_wallets: %w", err)
	}
	uid, err := claimedUser(wres.Proof)
	if err != nil {
		return nil, err
	}
	wprefix, err := commitment.Key("idos_wallets", []any{uid})
	if err != nil {
		return nil, err
	}
	wread, err := r.Verify(ctx, readproof.KindRange, wprefix, wres.Proof)
	if err != nil {
		return nil, fmt.Errorf("wallets of user %s: %w", uid, err)
	}
	wallets, err := nameRows("idos_wallets", stateTables["idos_wallets"], wread.Rows)
	if err != nil {
		return nil, err
	}
	bound := false
	for _, w := range wallets {
		if w.text("wallet_type") == cl.Key.Scheme && w.text("address") == cl.Key.Identifier && w.text("user_id") == uid {
			bound = true
		}
	}
	if !bound {
		return nil, fmt.Errorf("%w: %s among %d verified wallets of user %s at height %d",
			errWalletNotProven, cl.Key.AccountID(), len(wallets), uid, wread.Height)
	}

	cres, err := cl.GW.PrivateProven(ctx, "idos.get_credentials", cl.Key.Signer, nil)
	if err != nil {
		return nil, fmt.Errorf("idos.get_credentials: %w", err)
	}
	cprefix, err := commitment.Key("idos_credentials", []any{uid})
	if err != nil {
		return nil, err
	}
	cread, err := r.Verify(ctx, readproof.KindRange, cprefix, cres.Proof)
	if err != nil {
		return nil, fmt.Errorf("credentials of user %s: %w", uid, err)
	}
	rows, err := nameRows("idos_credentials", stateTables["idos_credentials"], cread.Rows)
	if err != nil {
		return nil, err
	}
	out := &provenCredentials{UserID: uid, WalletsHeight: wread.Height, Height: cread.Height,
		Credentials: make([]idos.Credential, len(rows))}
	for i, row := range rows {
		out.Credentials[i] = idos.Credential{
			ID: row.text("id"), UserID: row.text("user_id"), IssuerAuthPublicKey: row.text("issuer_auth_public_key"),
			EncryptorPublicKey: row.text("encryptor_public_key"), Content: row.text("content"),
			PublicNotes: row.text("public_notes"), OriginalID: row.text("original_id"),
			Created: row.integer("created"), Updated: row.integer("updated"),
		}
	}
	return out, nil
}

// claimedUser is the user id a wallets bundle claims: the user_id of its
// first row. Unverified; proveCredentials checks it.
func claimedUser(b *readproof.Bundle) (string, error) {
	if b == nil || len(b.Rows) == 0 {
		return "", fmt.Errorf("%w: the gateway's proof of the caller's wallets has no rows", readproof.ErrWrongAnswer)
	}
	vals, err := commitment.DecodeRow(b.Rows[0].Row)
	if err != nil {
		return "", fmt.Errorf("%w: wallet row: %w", readproof.ErrBadRows, err)
	}
	uid, ok := "", false
	if len(vals) > 1 {
		uid, ok = vals[1].(string)
	}
	if !ok || uid == "" {
		return "", fmt.Errorf("%w: wallet row without a user id", readproof.ErrBadRows)
	}
	return uid, nil
}

// verifyMode decides whether credentials are verified: --verify and
// --no-verify say so; without either, verification is on when the light
// client is configured (light.json exists).
func verifyMode(c *cli.Context) (bool, error) {
	switch {
	case c.Bool("verify") && c.Bool("no-verify"):
		return false, usageErrorf("give at most one of --verify and --no-verify")
	case c.Bool("verify"):
		return true, nil
	case c.Bool("no-verify"):
		return false, nil
	}
	_, err := os.Stat(lightConfigPath(c.String("home")))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// dialVerified unlocks the key and opens the light client, both talking to
// the same gateway: --gateway if given, else light.json's.
func dialVerified(c *cli.Context) (*userclient.Client, *lightSession, func(), error) {
	log, err := logger(c)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := readLightConfig(c.String("home"))
	if err != nil {
		return nil, nil, nil, err
	}
	if !c.IsSet("gateway") && cfg.Gateway != "" {
		if err := c.Set("gateway", cfg.Gateway); err != nil {
			return nil, nil, nil, err
		}
	}
	if c.String("chain-id") == "" {
		// The chain is known: no need to ask the gateway's /v1/status.
		if err := c.Set("chain-id", cfg.ChainID); err != nil {
			return nil, nil, nil, err
		}
	}
	cl, done, err := dial(c)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := openLight(c, log)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return cl, s, func() { s.Close(); done() }, nil
}

func verifyFlags() []cli.Flag {
	return append(lightFlags(),
		&cli.BoolFlag{Name: "verify", Usage: "prove the user and every credential against verified headers (default when idoslight init was run)"},
		&cli.BoolFlag{Name: "no-verify", Usage: "trust the gateway's answer"},
	)
}

func credentialsCommand() *cli.Command {
	return &cli.Command{
		Name:      "credentials",
		Usage:     "list your user's credentials (originals and shared copies), proven complete",
		UsageText: "idoslight credentials --key NAME [--decrypt] [--verify | --no-verify] [--gateway URL] [--home DIR] [--json]",
		Description: "With --verify (the default once `idoslight init` was run) the list is\n" +
			"proven: the caller's wallet among the verified wallets of the user, then\n" +
			"every credential of that user, complete, against headers this client\n" +
			"verified. Only the verified rows are printed or decrypted, followed by\n" +
			"\"N credentials, complete at height H\". With --json and verification the\n" +
			"output is {\"user_id\",\"wallets_height\",\"height\",\"complete\":true,\"credentials\":[...]};\n" +
			"without, the list alone.",
		Flags: signingFlags(append(verifyFlags(),
			&cli.BoolFlag{Name: "decrypt", Usage: "decrypt the contents here with this key's encryption key"})...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			verify, err := verifyMode(c)
			if err != nil {
				return err
			}
			if !verify {
				// The light client's gateway, if there is one and no --gateway.
				if cfg, err := readLightConfig(c.String("home")); err == nil && cfg.Gateway != "" && !c.IsSet("gateway") {
					if err := c.Set("gateway", cfg.Gateway); err != nil {
						return err
					}
				}
				cl, done, err := dial(c)
				if err != nil {
					return err
				}
				defer done()
				cs, err := cl.Credentials(c.Context)
				if err != nil {
					return err
				}
				return printCredentials(c, cl, cs, true)
			}
			cl, s, done, err := dialVerified(c)
			if err != nil {
				return err
			}
			defer done()
			pc, err := proveCredentials(c.Context, cl, s.reader)
			if err != nil {
				return verified(err)
			}
			if c.Bool("json") {
				out, err := credentialsOut(c, cl, pc.Credentials, true)
				if err != nil {
					return err
				}
				return printJSON(c, struct {
					*provenCredentials
					Complete    bool            `json:"complete"`
					Credentials []credentialOut `json:"credentials"`
				}{pc, true, out})
			}
			if err := printCredentials(c, cl, pc.Credentials, true); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "\n%d credentials, complete at height %d (user %s)\n", len(pc.Credentials), pc.Height, pc.UserID)
			return nil
		},
	}
}

func verifyDeletedCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify-deleted",
		Usage:     "prove that a credential is gone from your user's credentials",
		UsageText: "idoslight verify-deleted --key NAME --id CREDENTIAL_ID [--gateway URL] [--home DIR] [--max-lag N]",
		Description: "Proves the complete set of the caller's user's credentials (as\n" +
			"`credentials --verify`) and that the credential is not in it. Exit status 1\n" +
			"if it is present, or if anything fails to verify." + verifiedHelp,
		Flags: signingFlags(append(lightFlags(), &cli.StringFlag{Name: "id", Usage: "credential `ID` (required)"})...),
		Action: func(c *cli.Context) error {
			if err := need(c, "id"); err != nil {
				return err
			}
			id := c.String("id")
			cl, s, done, err := dialVerified(c)
			if err != nil {
				return err
			}
			defer done()
			pc, err := proveCredentials(c.Context, cl, s.reader)
			if err != nil {
				return verified(err)
			}
			for _, cr := range pc.Credentials {
				if cr.ID == id {
					return fmt.Errorf("credential %s is present at height %d (user %s, complete set of %d): %w",
						id, pc.Height, pc.UserID, len(pc.Credentials), errCredentialPresent)
				}
			}
			if c.Bool("json") {
				return printJSON(c, map[string]any{"credential_id": id, "absent": true, "height": pc.Height,
					"user_id": pc.UserID, "complete_set": len(pc.Credentials)})
			}
			fmt.Fprintf(c.App.Writer, "credential %s is absent at height %d (complete set of %d)\n", id, pc.Height, len(pc.Credentials))
			return nil
		},
	}
}
