package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/lightclient/idosverify"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
)

func userCommand() *cli.Command {
	return &cli.Command{
		Name:        "user",
		Usage:       "create users (inserters)",
		Subcommands: []*cli.Command{userAddCommand()},
		Action:      groupAction("user"),
	}
}

// proofFlags carry a wallet link proof, from a file written by `wallet
// proof` or field by field.
func proofFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "proof", Usage: "`FILE` written by `idoslight wallet proof` (- for stdin)"},
		&cli.StringFlag{Name: "user-id", Usage: "user `ID` (without --proof)"},
		&cli.StringFlag{Name: "encryption-key", Usage: "user's encryption public `KEY`, base64 (user add; overrides the proof's)"},
		&cli.StringFlag{Name: "wallet-id", Usage: "wallet `ID` (without --proof)"},
		&cli.StringFlag{Name: "wallet-type", Usage: "wallet `SCHEME` (without --proof)"},
		&cli.StringFlag{Name: "address", Usage: "wallet `ADDRESS` (identifier) (without --proof)"},
		&cli.StringFlag{Name: "public-key", Usage: "wallet public `KEY`, informational (without --proof)"},
		&cli.StringFlag{Name: "signature", Usage: "hex `SIGNATURE` of the link message (without --proof)"},
	}
}

// readProof builds the proof from --proof or the field flags; the link
// message is rebuilt from the fields, as the node requires it exactly.
func readProof(c *cli.Context) (*userclient.Proof, error) {
	var p userclient.Proof
	if f := c.String("proof"); f != "" {
		data, err := readInput(f)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("--proof %s: %w", f, err)
		}
	} else {
		if err := need(c, "user-id", "wallet-id", "wallet-type", "address", "signature"); err != nil {
			return nil, usageErrorf("give --proof FILE, or %v", err)
		}
		p = userclient.Proof{UserID: c.String("user-id"), Wallet: wire.WalletInput{
			WalletID: c.String("wallet-id"), WalletType: c.String("wallet-type"), Address: c.String("address"),
			PublicKey: c.String("public-key"), Signature: c.String("signature"),
			Message: wire.LinkMessage(c.String("user-id"), c.String("wallet-type"), c.String("address")),
		}}
	}
	if k := c.String("encryption-key"); k != "" {
		p.EncryptionPublicKey = k
	}
	if c.NArg() > 0 {
		return nil, usageErrorf("unexpected arguments: %v", c.Args().Slice())
	}
	return &p, nil
}

func userAddCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "create a user with its first wallet (the key must be an inserter or a delegate)",
		UsageText: "idoslight user add --key INSERTER --proof FILE [--encryption-key KEY]",
		Description: "The user runs `idoslight wallet proof > proof.json` with their wallet and\n" +
			"hands the file to the inserter; the proof names the user id, the wallet and\n" +
			"the user's encryption public key (the wallet's derived one).",
		Flags: writeFlags(proofFlags()...),
		Action: func(c *cli.Context) error {
			p, err := readProof(c)
			if err != nil {
				return err
			}
			if _, err := client.ParseKey32(p.EncryptionPublicKey); err != nil {
				return usageErrorf("the user's encryption key is missing or malformed: %v", err)
			}
			cl, done, err := dialWrite(c)
			if err != nil {
				return err
			}
			defer done()
			r, err := cl.AddUser(c.Context, p)
			if err != nil {
				return err
			}
			return printReceipt(c, "created user "+p.UserID+" with wallet "+p.Wallet.WalletID,
				map[string]any{"user_id": p.UserID, "wallet_id": p.Wallet.WalletID, "tx": r}, r)
		},
	}
}

func walletCommand() *cli.Command {
	return &cli.Command{
		Name:  "wallet",
		Usage: "prove, link and unlink wallets",
		Subcommands: []*cli.Command{
			{
				Name:      "proof",
				Usage:     "sign this wallet's consent to be linked to a user; prints the proof as JSON",
				UsageText: "idoslight wallet proof (--key NAME | --wallet-scheme S --wallet-signer KEY) [--user-id ID] [--out FILE]",
				Description: "Without --user-id a new user id is drawn (for `user add`). The output is\n" +
					"the idos.add_user payload: user_id, encryption_public_key (this key's) and\n" +
					"wallet {wallet_id, wallet_type, address, public_key, message, signature}.\n" +
					"Nothing is sent.",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "key", EnvVars: []string{"IDOSLIGHT_KEY"}, Usage: "wallet key `NAME` (required)"},
					&cli.StringFlag{Name: "user-id", Usage: "user `ID` to link to"},
					&cli.StringFlag{Name: "out", Usage: "write to `FILE` instead of stdout"},
				}, append(keystoreFlags(), walletFlags()...)...),
				Action: func(c *cli.Context) error {
					if err := need(c); err != nil {
						return err
					}
					k, err := loadKey(c)
					if err != nil {
						return err
					}
					p, err := userclient.WalletProof(k, c.String("user-id"))
					if err != nil {
						return err
					}
					if out := c.String("out"); out != "" {
						b, _ := json.MarshalIndent(p, "", "  ")
						err = os.WriteFile(out, append(b, '\n'), 0o600)
					} else {
						err = printJSON(c, p)
					}
					if err != nil {
						return err
					}
					proofNextStep(c, p)
					return nil
				},
			},
			{
				Name:      "add",
				Usage:     "link another wallet to a user (as the user, or its inserter)",
				UsageText: "idoslight wallet add --key NAME --proof FILE",
				Flags:     writeFlags(proofFlags()...),
				Action: func(c *cli.Context) error {
					p, err := readProof(c)
					if err != nil {
						return err
					}
					cl, done, err := dialWrite(c)
					if err != nil {
						return err
					}
					defer done()
					r, err := cl.AddWallet(c.Context, p)
					if err != nil {
						return err
					}
					return printReceipt(c, "linked wallet "+p.Wallet.WalletID+" ("+p.Wallet.WalletType+":"+linkedIdentifier(p)+")",
						map[string]any{"wallet_id": p.Wallet.WalletID, "tx": r}, r)
				},
			},
			{
				Name:      "remove",
				Usage:     "unlink one of your user's wallets (not the last one)",
				UsageText: "idoslight wallet remove --key NAME --id WALLET_ID",
				Flags:     writeFlags(&cli.StringFlag{Name: "id", Usage: "wallet `ID` (required)"}),
				Action: func(c *cli.Context) error {
					return simpleTx(c, "removed wallet", func(cl *userclient.Client, id string) (*userclient.Receipt, error) {
						return cl.RemoveWallet(c.Context, id)
					})
				},
			},
		},
		Action: groupAction("wallet"),
	}
}

// proofNextStep says on stderr what the proof holds and the command that
// uses it: `user add` by an inserter for a new user (no --user-id), `wallet
// add` by the user for another wallet. Stdout keeps the JSON alone.
func proofNextStep(c *cli.Context, p *userclient.Proof) {
	file := c.String("out")
	if file == "" {
		file = "FILE" // the JSON went to stdout; the reader saves it
	}
	w := c.App.ErrWriter
	fmt.Fprintf(w, "wallet proof: user %s, wallet %s (%s:%s)", p.UserID, p.Wallet.WalletID, p.Wallet.WalletType, p.Wallet.Address)
	if c.String("out") != "" {
		fmt.Fprintf(w, ", written to %s", file)
	}
	fmt.Fprintln(w)
	if c.String("user-id") == "" {
		fmt.Fprintf(w, "next: an inserter creates the user with it: idoslight user add --key INSERTER --proof %s\n", file)
		return
	}
	fmt.Fprintf(w, "next: the user links this wallet with it: idoslight wallet add --key A_WALLET_OF_THE_USER --proof %s\n", file)
}

// simpleTx runs a write that takes only --id.
func simpleTx(c *cli.Context, what string, f func(*userclient.Client, string) (*userclient.Receipt, error)) error {
	if err := need(c, "id"); err != nil {
		return err
	}
	cl, done, err := dialWrite(c)
	if err != nil {
		return err
	}
	defer done()
	r, err := f(cl, c.String("id"))
	if err != nil {
		return err
	}
	return printReceipt(c, what+" "+c.String("id"), map[string]any{"id": c.String("id"), "tx": r}, r)
}

func credentialCommand() *cli.Command {
	return &cli.Command{
		Name:  "credential",
		Usage: "add, edit, remove, share and read one credential",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "encrypt a credential to a user and store it (as the user, or its inserter)",
				UsageText: "idoslight credential add --key NAME --user-id ID --file PLAINTEXT --to-key USER_ENC_PUBKEY [--notes TEXT]",
				Description: "The file is sealed here (NaCl box) from this key's encryption key to\n" +
					"--to-key, the user's encryption public key (base64, as `key show` prints\n" +
					"it); only ciphertext is sent. Prints the new credential's id with its\n" +
					"transaction's hash and height (--json: {\"credential_id\", \"tx\"}).",
				Flags: writeFlags(
					&cli.StringFlag{Name: "user-id", Usage: "user `ID` (required)"},
					&cli.StringFlag{Name: "file", Usage: "plaintext `FILE` (- for stdin) (required)"},
					&cli.StringFlag{Name: "to-key", Usage: "user's encryption public `KEY`, base64 (required)"},
					&cli.StringFlag{Name: "notes", Usage: "public `TEXT` stored in the clear, e.g. {\"type\":\"kyc\"}"},
					&cli.StringFlag{Name: "id", Usage: "credential `ID` (default: a new UUID)"},
				),
				Action: func(c *cli.Context) error {
					if err := need(c, "user-id", "file", "to-key"); err != nil {
						return err
					}
					to, err := client.ParseKey32(c.String("to-key"))
					if err != nil {
						return usageErrorf("--to-key: %v", err)
					}
					pt, err := readInput(c.String("file"))
					if err != nil {
						return err
					}
					cl, done, err := dialWrite(c)
					if err != nil {
						return err
					}
					defer done()
					id, r, err := cl.AddCredential(c.Context, userclient.NewCredential{
						ID: c.String("id"), UserID: c.String("user-id"), To: to, Plaintext: pt, PublicNotes: c.String("notes")})
					if err != nil {
						return err
					}
					return printReceipt(c, "added credential "+id+" for user "+c.String("user-id"),
						map[string]any{"credential_id": id, "tx": r}, r)
				},
			},
			{
				Name:      "edit",
				Usage:     "replace an original credential's content (as its owner)",
				UsageText: "idoslight credential edit --key NAME --id ID --file PLAINTEXT [--notes TEXT]",
				Description: "The new content is sealed to the user's own encryption key (this key's).\n" +
					"Without --notes the public notes stay as they are.",
				Flags: writeFlags(
					&cli.StringFlag{Name: "id", Usage: "credential `ID` (required)"},
					&cli.StringFlag{Name: "file", Usage: "plaintext `FILE` (- for stdin) (required)"},
					&cli.StringFlag{Name: "notes", Usage: "new public `TEXT`"},
				),
				Action: func(c *cli.Context) error {
					if err := need(c, "id", "file"); err != nil {
						return err
					}
					pt, err := readInput(c.String("file"))
					if err != nil {
						return err
					}
					var notes *string
					if c.IsSet("notes") {
						n := c.String("notes")
						notes = &n
					}
					cl, done, err := dialWrite(c)
					if err != nil {
						return err
					}
					defer done()
					r, err := cl.EditCredential(c.Context, c.String("id"), pt, notes)
					if err != nil {
						return err
					}
					return printReceipt(c, "edited credential "+c.String("id"), map[string]any{"id": c.String("id"), "tx": r}, r)
				},
			},
			{
				Name:      "remove",
				Usage:     "delete an original credential with its shared copies and grants (refused while a grant is locked)",
				UsageText: "idoslight credential remove --key NAME --id ID",
				Flags:     writeFlags(&cli.StringFlag{Name: "id", Usage: "credential `ID` (required)"}),
				Action: func(c *cli.Context) error {
					return simpleTx(c, "removed credential", func(cl *userclient.Client, id string) (*userclient.Receipt, error) {
						return cl.RemoveCredential(c.Context, id)
					})
				},
			},
			{
				Name:      "share",
				Usage:     "share a credential: re-encrypt it to a grantee and grant access",
				UsageText: "idoslight credential share --key NAME --id ID --grantee ACCOUNT --grantee-key ENC_PUBKEY [--locked-until T]",
				Description: "Reads the original, decrypts it with this key's encryption key (the\n" +
					"user's), seals it to --grantee-key and creates the copy and the grant.\n" +
					"While locked (until --locked-until, compared with block time) the grant\n" +
					"cannot be revoked nor the credential removed. T is RFC 3339, Unix seconds\n" +
					"or +DURATION from now (e.g. +720h).",
				Flags: writeFlags(
					&cli.StringFlag{Name: "id", Usage: "credential `ID` to share (required)"},
					&cli.StringFlag{Name: "grantee", Usage: "grantee `ACCOUNT` id, scheme:identifier (required)"},
					&cli.StringFlag{Name: "grantee-key", Usage: "grantee's encryption public `KEY`, base64 (required)"},
					&cli.StringFlag{Name: "locked-until", Usage: "lock the grant until `T`"},
				),
				Action: func(c *cli.Context) error {
					if err := need(c, "id", "grantee", "grantee-key"); err != nil {
						return err
					}
					to, err := client.ParseKey32(c.String("grantee-key"))
					if err != nil {
						return usageErrorf("--grantee-key: %v", err)
					}
					lock, err := parseLock(c.String("locked-until"))
					if err != nil {
						return err
					}
					cl, done, err := dialWrite(c)
					if err != nil {
						return err
					}
					defer done()
					s, err := cl.ShareCredential(c.Context, userclient.Share{CredentialID: c.String("id"), Grantee: c.String("grantee"),
						GranteeKey: to, LockedUntil: lock})
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(c, s)
					}
					fmt.Fprintf(c.App.Writer, "shared credential %s with %s\ncopy:   %s\ngrant:  %s\nlocked: %s\n(%s)\n",
						c.String("id"), c.String("grantee"), s.CopyID, s.GrantID, unixTime(lock), receiptLine(&s.Receipt))
					return nil
				},
			},
			{
				Name:      "get",
				Usage:     "read one credential (its owner, or a grantee of its copy)",
				UsageText: "idoslight credential get --key NAME --id ID [--decrypt] [--verify | --no-verify] [--home DIR] [--json]",
				Description: "Verified by default once `idoslight init` was run: the row is proven\n" +
					"either under the caller's user (its owner) or as the copy of a grant to the\n" +
					"caller, found in the complete set of grants it received; a grantee's\n" +
					"decrypted copy must hash to the grant's content hash. --json carries\n" +
					"\"verified\" (false, with a warning on stderr, when not verified).",
				Flags: signingFlags(append(verifyFlags(),
					&cli.StringFlag{Name: "id", Usage: "credential `ID` (required)"},
					&cli.BoolFlag{Name: "decrypt", Usage: "decrypt the content here with this key's encryption key"},
				)...),
				Action: func(c *cli.Context) error {
					if err := need(c, "id"); err != nil {
						return err
					}
					r, done, err := openReader(c)
					if err != nil {
						return err
					}
					defer done()
					var cr idosschema.Credential
					var pc *idosverify.ProvenCredential
					if r.v == nil {
						got, err := r.cl.Credential(c.Context, c.String("id"))
						if err != nil {
							return err
						}
						cr = *got
					} else {
						if pc, err = r.v.Credential(c.Context, c.String("id")); err != nil {
							return verified(err)
						}
						cr = pc.Credential
					}
					out, err := credentialsOut(c, r.cl, []idosschema.Credential{cr}, false)
					if err != nil {
						return err
					}
					if pc != nil && out[0].Plaintext != nil {
						if err := pc.CheckPlaintext([]byte(*out[0].Plaintext)); err != nil {
							return verified(err)
						}
					}
					if c.Bool("json") {
						return printJSON(c, struct {
							readStatus
							*idosverify.ProvenCredential
							Credential credentialOut `json:"credential"`
						}{r.status(), pc, out[0]})
					}
					printCredentials(c, out, false)
					if pc != nil {
						how := "owned by user " + cr.UserID
						if pc.Grant != nil {
							how = "shared with you by grant " + pc.Grant.ID
						}
						fmt.Fprintf(c.App.Writer, "\nverified at height %d (%s)\n", pc.Height, how)
					}
					return nil
				},
			},
		},
		Action: groupAction("credential"),
	}
}

func grantCommand() *cli.Command {
	return &cli.Command{
		Name:  "grant",
		Usage: "revoke grants",
		Subcommands: []*cli.Command{{
			Name:      "revoke",
			Usage:     "revoke a grant your user gave, deleting the grantee's copy (refused while locked)",
			UsageText: "idoslight grant revoke --key NAME --id GRANT_ID",
			Flags:     writeFlags(&cli.StringFlag{Name: "id", Usage: "grant `ID` (required)"}),
			Action: func(c *cli.Context) error {
				return simpleTx(c, "revoked grant", func(cl *userclient.Client, id string) (*userclient.Receipt, error) {
					return cl.RevokeGrant(c.Context, id)
				})
			},
		}},
		Action: groupAction("grant"),
	}
}
