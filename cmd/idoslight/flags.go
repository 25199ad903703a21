package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/idos-network/idos-node/node/userclient"
)

func keystoreFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "keystore", Value: defaultKeystore(), EnvVars: []string{"IDOSLIGHT_KEYSTORE"}, Usage: "keystore `DIR`"},
		&cli.StringFlag{Name: "password-file", EnvVars: []string{"IDOSLIGHT_PASSWORD_FILE"},
			Usage: "read the key's passphrase from `FILE` (its first line); without it, prompt on the terminal"},
	}
}

// signingFlags are the flags of every command that acts as a key.
func signingFlags(extra ...cli.Flag) []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "key", EnvVars: []string{"IDOSLIGHT_KEY"}, Usage: "`NAME` of the key to act as (required, unless an external wallet signs: --wallet-scheme)"},
	}
	fs = append(fs, keystoreFlags()...)
	fs = append(fs, walletFlags()...)
	fs = append(fs,
		gatewayFlag(),
		&cli.StringFlag{Name: "chain-id", Usage: "chain `ID` to sign for (default: the gateway's, from /v1/status)"},
		&cli.BoolFlag{Name: "json", Usage: "print JSON for programs instead of text"},
	)
	return append(fs, extra...)
}

// passphrase reads --password-file, or prompts when stdin is a terminal
// (twice when confirm, for new keys). Only a trailing line break is
// stripped, so passphrases may contain spaces.
func passphrase(c *cli.Context, flag string, confirm bool) (string, error) {
	if p := c.String(flag); p != "" {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flag, err)
		}
		defer f.Close()
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("--%s: %w", flag, err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", usageErrorf("no --%s and stdin is not a terminal to prompt on", flag)
	}
	fmt.Fprint(os.Stderr, "Passphrase: ")
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if confirm {
		fmt.Fprint(os.Stderr, "Repeat passphrase: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		if string(again) != string(p) {
			return "", fmt.Errorf("the passphrases differ")
		}
	}
	return string(p), nil
}

func openKeystore(c *cli.Context) *userclient.Keystore {
	return &userclient.Keystore{Dir: c.String("keystore")}
}

// loadKey unlocks --key, or sets up the external wallet of --wallet-scheme.
func loadKey(c *cli.Context) (*userclient.Key, error) {
	if c.String("wallet-scheme") != "" {
		return externalKey(c)
	}
	if c.String("key") == "" {
		return nil, usageErrorf("--key (or --wallet-scheme) is required (see %s --help)", c.Command.HelpName)
	}
	pass, err := passphrase(c, "password-file", false)
	if err != nil {
		return nil, err
	}
	return openKeystore(c).Load(c.String("key"), pass)
}

// dial unlocks --key and connects to the gateway (gatewayOf; cfg, the light
// client's configuration, may be nil). The returned function releases the
// context.
func dial(c *cli.Context, cfg *lightConfig) (*userclient.Client, func(), error) {
	gw, from, err := gatewayOf(c, cfg)
	if err != nil {
		return nil, nil, err
	}
	key, err := loadKey(c)
	if err != nil {
		return nil, nil, err
	}
	log, err := logger(c)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := commandContext(c)
	cl, err := userclient.Dial(ctx, gw, key, c.String("chain-id"), log)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%w (gateway %s from %s; give another with --gateway URL or IDOSLIGHT_GATEWAY)", err, gw, from)
	}
	c.Context = ctx
	return cl, cancel, nil
}

// parseLock reads --locked-until: RFC 3339, Unix seconds, or +DURATION
// from now (the node compares with block time).
func parseLock(s string) (int64, error) {
	switch {
	case s == "" || s == "0":
		return 0, nil
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return 0, usageErrorf("--locked-until %q: %v", s, err)
		}
		return time.Now().Add(d).Unix(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, usageErrorf("--locked-until %q: want RFC 3339 (2030-01-02T15:04:05Z), Unix seconds or +DURATION", s)
	}
	return t.Unix(), nil
}

// readInput reads a file, or stdin for "-".
func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func printJSON(c *cli.Context, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.App.Writer, string(b))
	return err
}

// printReceipt prints a write's result.
func printReceipt(c *cli.Context, what string, v any, r *userclient.Receipt) error {
	if c.Bool("json") {
		return printJSON(c, v)
	}
	fmt.Fprintf(c.App.Writer, "%s (%s)\n", what, receiptLine(r))
	return nil
}

// receiptLine says where the transaction is and whether that was proven.
func receiptLine(r *userclient.Receipt) string {
	if r.Verified {
		return fmt.Sprintf("tx %s, height %d, verified", r.Hash, r.Height)
	}
	return fmt.Sprintf("tx %s, height %d, NOT verified", r.Hash, r.Height)
}

func unixTime(s int64) string {
	if s == 0 {
		return "-"
	}
	return time.Unix(s, 0).UTC().Format(time.RFC3339)
}
