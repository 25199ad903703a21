package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/lightclient/idosverify"
	"github.com/idos-network/idos-node/node/userclient"
)

// errCredentialPresent: verify-deleted proved the credential there.
var errCredentialPresent = errors.New("not deleted")

func gatewayFlag() cli.Flag {
	return &cli.StringFlag{Name: "gateway", EnvVars: []string{"IDOSLIGHT_GATEWAY"},
		Usage: "node gateway `URL`, http://HOST:PORT or HOST:PORT (default: the one given to idoslight init, else node 0 of a devnet in ./.devnet, else " + devnetGateway + ")"}
}

// getBlobBytes is how much of a BLOB `get` prints without --full: enough
// to recognise a hash or a module's header.
const getBlobBytes = 64

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "read rows of a public table, verified against a header this client verified",
		UsageText: "idoslight get --table T (--key JSON_ARRAY | --prefix JSON_ARRAY) [--full] [--gateway URL] [--home DIR] [--max-lag N]",
		Description: "The key is built here (docs/spec/commitment.md) from the table and the\n" +
			"primary key values, a JSON array: strings are TEXT, integers INTEGER.\n" +
			"--key names one row (every primary key column) and proves it present or\n" +
			"absent; --prefix names the leading key columns ([] for the whole table) and\n" +
			"proves the rows complete. The gateway's bundle (GET /v1/proof) is verified\n" +
			"against header H+1's app hash; the answer is printed as JSON, each row with\n" +
			"its column names (BLOB values in hex, the first 64 bytes without --full):\n" +
			"  {\"height\":H,\"kind\":\"row|absent|range\",\"table\":T,\"key\":HEX,\"rows\":[{...}]}\n\n" +
			"  idoslight get --table kv --key '[\"ed25519:ab12…\",\"color\"]'\n" +
			"  idoslight get --table kv --prefix '[\"ed25519:ab12…\"]'\n" +
			"  idoslight get --table validators --prefix '[]'" + verifiedHelp,
		Flags: append(lightFlags(), gatewayFlag(),
			&cli.StringFlag{Name: "table", Usage: "table `NAME` (required)"},
			&cli.StringFlag{Name: "key", Usage: "primary key values, a `JSON_ARRAY`"},
			&cli.StringFlag{Name: "prefix", Usage: "leading primary key values, a `JSON_ARRAY`"},
			&cli.BoolFlag{Name: "full", Usage: fmt.Sprintf("print BLOB values whole (default: their first %d bytes and their length)", getBlobBytes)},
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
			s, err := openLight(c, log, true)
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
			if !c.Bool("full") {
				ans.cutBlobs(getBlobBytes)
			}
			return printJSON(c, ans)
		},
	}
}

// dialVerified unlocks the key and opens the light client, both talking to
// the same gateway (gatewayOf).
func dialVerified(c *cli.Context) (*userclient.Client, *lightSession, func(), error) {
	log, err := logger(c)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := readLightConfig(c.String("home"))
	if err != nil {
		return nil, nil, nil, err
	}
	if c.String("chain-id") == "" {
		// The chain is known: no need to ask the gateway's /v1/status.
		if err := c.Set("chain-id", cfg.ChainID); err != nil {
			return nil, nil, nil, err
		}
	}
	cl, done, err := dial(c, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := openLight(c, log, true)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return cl, s, func() { s.Close(); done() }, nil
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
			"output is {\"verified\":true,\"user_id\",\"wallets_height\",\"height\",\"complete\":true,\"credentials\":[...]};\n" +
			"without, {\"verified\":false,\"not_verified_because\",\"credentials\":[...]} and a\n" +
			"warning on stderr.",
		Flags: signingFlags(append(verifyFlags(),
			&cli.BoolFlag{Name: "decrypt", Usage: "decrypt the contents here with this key's encryption key"})...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			r, done, err := openReader(c)
			if err != nil {
				return err
			}
			defer done()
			if r.v == nil {
				cs, err := r.cl.Credentials(c.Context)
				if err != nil {
					return err
				}
				out, err := credentialsOut(c, r.cl, cs, true)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c, struct {
						readStatus
						Credentials []credentialOut `json:"credentials"`
					}{r.status(), nonNil(out)})
				}
				printCredentials(c, out, true)
				return nil
			}
			pc, err := r.v.Credentials(c.Context)
			if err != nil {
				return verified(err)
			}
			out, err := credentialsOut(c, r.cl, pc.Credentials, true)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, struct {
					readStatus
					*idosverify.ProvenCredentials
					Complete    bool            `json:"complete"`
					Credentials []credentialOut `json:"credentials"`
				}{r.status(), pc, true, nonNil(out)})
			}
			printCredentials(c, out, true)
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
			pc, err := verifierOf(cl, s).Credentials(c.Context)
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
