package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/userclient"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "create, import and show signing keys",
		Description: "Keys live in the keystore directory as NAME.json, mode 0600, encrypted\n" +
			"with a passphrase (scrypt, then AES-128-CTR with a Keccak MAC):\n" +
			"  eip191   the standard Ethereum keystore v3 file (geth, MetaMask import);\n" +
			"  ed25519  {\"scheme\":\"ed25519\",\"public_key\":...,\"crypto\":{...}} where\n" +
			"           \"crypto\" is the same v3 cipher block over the 32-byte seed.\n\n" +
			"Encryption key: every key has an X25519 key pair derived from its signing\n" +
			"key, HKDF-SHA256(ikm = the 32-byte Ed25519 seed or secp256k1 private key,\n" +
			"salt = none, info = \"idOS encryption key v1\"), 32 bytes used as the X25519\n" +
			"private key. A user has one encryption key (the one given at `user add`);\n" +
			"to let a second wallet of the same user decrypt, copy it in with\n" +
			"`key set-encryption` (stored encrypted in the key file, member\n" +
			"\"idos_encryption\").",
		Subcommands: []*cli.Command{keyNewCommand(), keyImportCommand(), keyShowCommand(), keyListCommand(), keySetEncryptionCommand()},
		Action:      groupAction("key"),
	}
}

func kdfFlag() cli.Flag {
	return &cli.BoolFlag{Name: "light-kdf", Usage: "cheap scrypt (N=4096, P=6) instead of the standard (N=262144, P=1): for tests and throw-away keys only"}
}

func keystoreForWrite(c *cli.Context) *userclient.Keystore {
	ks := openKeystore(c)
	if c.Bool("light-kdf") {
		ks.ScryptN, ks.ScryptP = keystore.LightScryptN, keystore.LightScryptP
	}
	return ks
}

func allowDemoFlag() cli.Flag {
	return &cli.BoolFlag{Name: "allow-demo-keystore",
		Usage: "write the key into a devnet demo keystore, or under the demo's passphrase file, although both are public"}
}

// keystoreForNewKey is the keystore a new key goes into. It refuses, unless
// --allow-demo-keystore, a devnet demo keystore (userclient.DemoMarker) and
// the demo's passphrase file: the demo tells people to export
// IDOSLIGHT_KEYSTORE and IDOSLIGHT_PASSWORD_FILE, and a key made later in
// that shell would otherwise be readable by anyone. The check comes before
// any prompt; userclient.Keystore checks the keystore again when it writes.
func keystoreForNewKey(c *cli.Context) (*userclient.Keystore, error) {
	ks := keystoreForWrite(c)
	ks.AllowDemo = c.Bool("allow-demo-keystore")
	if ks.AllowDemo {
		return ks, nil
	}
	if userclient.IsDemoKeystore(ks.Dir) {
		return nil, fmt.Errorf("%w: --keystore %s is a devnet demo keystore%s; give your own --keystore (or --allow-demo-keystore for a throw-away devnet key)",
			userclient.ErrDemoKeystore, ks.Dir, fromEnv("IDOSLIGHT_KEYSTORE", ks.Dir))
	}
	if pf := c.String("password-file"); pf != "" && userclient.IsDemoKeystore(filepath.Dir(pf)) {
		return nil, fmt.Errorf("%w: --password-file %s is the devnet demo's public passphrase%s; give your own --password-file or type a passphrase at the prompt (or --allow-demo-keystore)",
			userclient.ErrDemoKeystore, pf, fromEnv("IDOSLIGHT_PASSWORD_FILE", pf))
	}
	return ks, nil
}

// fromEnv says that value came from the environment variable env, if it
// did, and how to stop that.
func fromEnv(env, value string) string {
	if v, ok := os.LookupEnv(env); ok && v == value {
		return fmt.Sprintf(" (from %s: unset it)", env)
	}
	return ""
}

func keyName(c *cli.Context) (string, error) {
	name := c.String("name")
	if name == "" {
		return "", nil
	}
	return name, userclient.ValidName(name)
}

func keyNewCommand() *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "create a new random key",
		UsageText: "idoslight key new --type eip191|ed25519 [--name NAME] [--keystore DIR] [--password-file F]",
		Description: "Without --name the key is named after its scheme and the start of its\n" +
			"identifier, e.g. eip191-2c7536e3. Prints the key like `key show`.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "type", Usage: "signature scheme: `eip191` (Ethereum personal_sign) or ed25519 (required)"},
			&cli.StringFlag{Name: "name", Usage: "key `NAME` in the keystore"},
			kdfFlag(),
			allowDemoFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		}, keystoreFlags()...),
		Action: func(c *cli.Context) error {
			if err := need(c, "type"); err != nil {
				return err
			}
			scheme := c.String("type")
			if scheme != auth.SchemeEIP191 && scheme != auth.SchemeEd25519 {
				return usageErrorf("--type %q: want eip191 or ed25519", scheme)
			}
			name, err := keyName(c)
			if err != nil {
				return usageError{err}
			}
			ks, err := keystoreForNewKey(c)
			if err != nil {
				return err
			}
			pass, err := passphrase(c, "password-file", true)
			if err != nil {
				return err
			}
			// The default name needs the identifier, which needs the key:
			// draw the secret first, then store it under its name.
			var secret [32]byte
			if _, err := rand.Read(secret[:]); err != nil {
				return err
			}
			var key *userclient.Key
			if scheme == auth.SchemeEd25519 {
				if name == "" {
					name = defaultName(scheme, hex.EncodeToString(ed25519Public(secret[:])))
				}
				key, err = ks.ImportEd25519(name, secret[:], pass)
			} else {
				k, kerr := crypto.ToECDSA(secret[:])
				if kerr != nil { // the scalar was 0 or >= n: vanishingly rare
					return kerr
				}
				if name == "" {
					name = defaultName(scheme, crypto.PubkeyToAddress(k.PublicKey).Hex())
				}
				key, err = ks.ImportECDSA(name, k, pass)
			}
			if err != nil {
				return err
			}
			return showKey(c, key)
		},
	}
}

func defaultName(scheme, id string) string {
	return scheme + "-" + strings.ToLower(strings.TrimPrefix(id, "0x"))[:8]
}

func keyImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "import an existing key",
		UsageText: "idoslight key import --type eip191|ed25519 --name NAME (--hex-file F | --ethereum-keystore F) [--password-file F]",
		Description: "--hex-file holds the hex private key (eip191: the 32-byte secp256k1 key;\n" +
			"ed25519: the 32-byte seed), optionally 0x-prefixed; - reads stdin.\n" +
			"--ethereum-keystore imports an Ethereum keystore v3 file (eip191 only); it\n" +
			"is copied as it is and keeps its passphrase (--password-file).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "type", Usage: "`SCHEME`: eip191 or ed25519 (required)"},
			&cli.StringFlag{Name: "name", Usage: "key `NAME` in the keystore (required)"},
			&cli.StringFlag{Name: "hex-file", Usage: "`FILE` holding the hex private key or seed"},
			&cli.StringFlag{Name: "ethereum-keystore", Usage: "Ethereum keystore `FILE` to import"},
			kdfFlag(),
			allowDemoFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		}, keystoreFlags()...),
		Action: func(c *cli.Context) error {
			if err := need(c, "type", "name"); err != nil {
				return err
			}
			scheme, name := c.String("type"), c.String("name")
			if err := userclient.ValidName(name); err != nil {
				return usageError{err}
			}
			hexFile, ethFile := c.String("hex-file"), c.String("ethereum-keystore")
			switch {
			case (hexFile == "") == (ethFile == ""):
				return usageErrorf("give exactly one of --hex-file and --ethereum-keystore")
			case ethFile != "" && scheme != auth.SchemeEIP191:
				return usageErrorf("--ethereum-keystore is for --type eip191")
			case scheme != auth.SchemeEIP191 && scheme != auth.SchemeEd25519:
				return usageErrorf("--type %q: want eip191 or ed25519", scheme)
			}
			ks, err := keystoreForNewKey(c)
			if err != nil {
				return err
			}
			var key *userclient.Key
			if ethFile != "" {
				data, err := readInput(ethFile)
				if err != nil {
					return err
				}
				pass, err := passphrase(c, "password-file", false)
				if err != nil {
					return err
				}
				if key, err = ks.ImportEthereumKeystore(name, data, pass); err != nil {
					return err
				}
				return showKey(c, key)
			}
			text, err := readInput(hexFile)
			if err != nil {
				return err
			}
			secret, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(text)), "0x"))
			if err != nil || len(secret) != 32 {
				return fmt.Errorf("%s: want 32 bytes of hex", hexFile)
			}
			pass, err := passphrase(c, "password-file", true)
			if err != nil {
				return err
			}
			if scheme == auth.SchemeEd25519 {
				key, err = ks.ImportEd25519(name, secret, pass)
			} else {
				k, kerr := crypto.ToECDSA(secret)
				if kerr != nil {
					return fmt.Errorf("%s: %w", hexFile, kerr)
				}
				key, err = ks.ImportECDSA(name, k, pass)
			}
			if err != nil {
				return err
			}
			return showKey(c, key)
		},
	}
}

// keyInfo is what `key show` prints.
type keyInfo struct {
	Name                string `json:"name"`
	File                string `json:"file"`
	Scheme              string `json:"scheme"`
	Identifier          string `json:"identifier"`
	AccountID           string `json:"account_id"`
	PublicKey           string `json:"public_key"`
	EncryptionPublicKey string `json:"encryption_public_key"`
	// EncryptionKeySource is "derived" or "set" (key set-encryption).
	EncryptionKeySource string `json:"encryption_key_source"`
}

func showKey(c *cli.Context, k *userclient.Key) error {
	info := keyInfo{Name: k.Name, File: k.Path, Scheme: k.Scheme, Identifier: k.Identifier, AccountID: k.AccountID(),
		PublicKey: k.PublicKey, EncryptionPublicKey: k.Encryption.PublicBase64(), EncryptionKeySource: "derived"}
	if k.Shared {
		info.EncryptionKeySource = "set"
	}
	if c.Bool("json") {
		return printJSON(c, info)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "name:            %s\nfile:            %s\nscheme:          %s\nidentifier:      %s\naccount id:      %s\nencryption key:  %s (%s)\n",
		info.Name, info.File, info.Scheme, info.Identifier, info.AccountID, info.EncryptionPublicKey, info.EncryptionKeySource)
	return nil
}

func keyShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a key's scheme, identifier, account id and encryption public key",
		UsageText: "idoslight key show --key NAME [--keystore DIR] [--password-file F] [--json]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "key", EnvVars: []string{"IDOSLIGHT_KEY"}, Usage: "key `NAME` (required)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		}, keystoreFlags()...),
		Action: func(c *cli.Context) error {
			if err := need(c, "key"); err != nil {
				return err
			}
			k, err := loadKey(c)
			if err != nil {
				return err
			}
			return showKey(c, k)
		},
	}
}

func keyListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the key names in the keystore",
		UsageText: "idoslight key list [--keystore DIR]",
		Flags:     keystoreFlags()[:1],
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			names, err := openKeystore(c).Names()
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(c.App.Writer, n)
			}
			return nil
		},
	}
}

func keySetEncryptionCommand() *cli.Command {
	return &cli.Command{
		Name:      "set-encryption",
		Usage:     "give a key the user's encryption key, taken from another key of the same user",
		UsageText: "idoslight key set-encryption --key NAME --from-key OTHER [--password-file F] [--from-password-file F]",
		Description: "A user's credentials are encrypted to the user's one encryption key: the\n" +
			"one derived from the wallet that created the user. To decrypt with another\n" +
			"wallet, store that key in its file too (encrypted with its passphrase).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "key", EnvVars: []string{"IDOSLIGHT_KEY"}, Usage: "key `NAME` to change (required)"},
			&cli.StringFlag{Name: "from-key", Usage: "key `NAME` whose encryption key to copy (required)"},
			&cli.StringFlag{Name: "from-password-file", Usage: "passphrase `FILE` of --from-key (default: --password-file)"},
			kdfFlag(),
		}, keystoreFlags()...),
		Action: func(c *cli.Context) error {
			if err := need(c, "key", "from-key"); err != nil {
				return err
			}
			pass, err := passphrase(c, "password-file", false)
			if err != nil {
				return err
			}
			fromPass := pass
			if c.String("from-password-file") != "" {
				if fromPass, err = passphrase(c, "from-password-file", false); err != nil {
					return err
				}
			}
			ks := keystoreForWrite(c)
			from, err := ks.Load(c.String("from-key"), fromPass)
			if err != nil {
				return err
			}
			if err := ks.SetEncryption(c.String("key"), pass, from.Encryption); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s now decrypts with encryption key %s (from %s)\n", c.String("key"), from.Encryption.PublicBase64(), from.Name)
			return nil
		},
	}
}

func ed25519Public(seed []byte) []byte {
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}
