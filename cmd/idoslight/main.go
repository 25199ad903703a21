// Command idoslight is the user's CLI of an idOS network: keys, users,
// wallets, end-to-end encrypted credentials, shares and grants, through a
// node's HTTP gateway. Credentials are encrypted and decrypted here; nodes
// only ever see ciphertext. The logic lives in node/userclient.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/internal/jsontext"
)

// Exit statuses.
const (
	exitFailure = 1 // the command ran and failed, or the node refused it
	exitUsage   = 2 // the command line itself is wrong
)

func main() {
	if err := runApp(newApp(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", errorText(err))
		os.Exit(exitCode(err))
	}
}

// errorText is err's message for a person: a JSON type mismatch (a --proof
// file, a gateway's answer) names the field and JSON kinds, not Go types.
func errorText(err error) string { return jsontext.Message(err) }

// runApp runs app on args. `help NAME` of an unknown NAME is a usage error
// (cli would exit 1 with "No help topic").
func runApp(app *cli.App, args []string) error {
	var unknown string
	app.CommandNotFound = func(_ *cli.Context, name string) { unknown = name }
	err := app.Run(args)
	if err == nil && unknown != "" {
		err = usageErrorf("no help for %q: not a command (see idoslight --help)", unknown)
	}
	return err
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "idoslight",
		Usage: "keys, users, wallets and encrypted credentials on an idOS network",
		Description: "idoslight signs idOS transactions and private reads with keys kept in a\n" +
			"local keystore and talks to one node's gateway (--gateway). Credentials are\n" +
			"encrypted on this machine (NaCl box, X25519) to the user's encryption key\n" +
			"and decrypted here; nodes hold ciphertext only.\n\n" +
			"Each key has an X25519 encryption key derived from its signing key\n" +
			"(HKDF-SHA256, info \"idOS encryption key v1\"); see `idoslight key --help`.\n\n" +
			"Any wallet can sign instead of a key of the keystore: --wallet-scheme and\n" +
			"--wallet-signer show what the scheme's wallet signs and take its signature\n" +
			"back (stdin, a file, an argument or a command); see `idoslight help signing`.\n\n" +
			"Flags may also come from the environment: IDOSLIGHT_GATEWAY,\n" +
			"IDOSLIGHT_KEYSTORE, IDOSLIGHT_KEY, IDOSLIGHT_PASSWORD_FILE, IDOSLIGHT_HOME,\n" +
			"IDOSLIGHT_WALLET_SCHEME, IDOSLIGHT_WALLET_SIGNER.\n\n" +
			"Verify what nodes say: `idoslight init` trusts a header of the chain,\n" +
			"`sync` verifies headers from it; from then on every read (`me`, `wallets`,\n" +
			"`credentials`, `credential get`, `grants`, `get`, `verify-deleted`, `proxy`)\n" +
			"accepts rows only with a proof against a verified header, and every write\n" +
			"reports success only once its transaction and result are proven in a\n" +
			"verified block. Without `init` (or with --no-verify) a warning says so.\n\n" +
			"Exit status: 0 done, 1 failed, refused by the node or not verified (the\n" +
			"message names what: bad proof, header fork, stale height, ...), 2 wrong\n" +
			"command line.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "`LEVEL` of the log on stderr: debug, info, warn, error"},
			&cli.DurationFlag{Name: "timeout", Value: 2 * time.Minute, Usage: "give up after `DURATION` (a write waits for its block)"},
		},
		Commands: []*cli.Command{
			keyCommand(), userCommand(), walletCommand(), credentialCommand(), grantCommand(),
			meCommand(), walletsCommand(), credentialsCommand(), grantsCommand(),
			initCommand(), syncCommand(), getCommand(), verifyDeletedCommand(), proxyCommand(), signingCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unknown command %q (see idoslight --help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		// main prints the error once; cli would print usage for flag errors.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   markUsageError,
	}
	for _, c := range app.Commands {
		setUsageErrorHandler(c, app.Name)
	}
	return app
}

// usageError is a wrong command line (unknown flag, missing flag), which
// scripts tell apart from a failed operation by exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func markUsageError(_ *cli.Context, err error, _ bool) error {
	return usageErrorf("%w (see idoslight --help)", err)
}

// setUsageErrorHandler makes the flag errors of c and its subcommands usage
// errors that point at the command's help (one line, not the help itself).
func setUsageErrorHandler(c *cli.Command, parent string) {
	path := parent + " " + c.Name
	if c.OnUsageError == nil {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return usageErrorf("%w (see %s --help)", err, path)
		}
	}
	for _, sub := range c.Subcommands {
		setUsageErrorHandler(sub, path)
	}
}

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitFailure
}

// groupAction is the action of a command that only groups subcommands: a
// usage error in one line, without printing the help.
func groupAction(name string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() > 0 {
			return usageErrorf("unknown %s command %q (see %s --help)", name, c.Args().First(), c.Command.HelpName)
		}
		return usageErrorf("%s: a command is required (see %s --help)", name, c.Command.HelpName)
	}
}

// need returns the value of string flags that must be set, or a usage
// error naming the first missing one. (urfave's Required flags fail with
// an error that cannot be told apart from a failed command.)
func need(c *cli.Context, names ...string) error {
	for _, n := range names {
		if strings.TrimSpace(c.String(n)) == "" {
			return usageErrorf("--%s is required (see %s --help)", n, c.Command.HelpName)
		}
	}
	if c.NArg() > 0 {
		return usageErrorf("unexpected arguments: %v", c.Args().Slice())
	}
	return nil
}

func logger(c *cli.Context) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(c.String("log-level")))); err != nil {
		return nil, usageErrorf("--log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: lv})), nil
}

// commandContext is cancelled by Ctrl-C or after --timeout.
func commandContext(c *cli.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, c.Duration("timeout"))
	return ctx, func() { cancel(); stop() }
}

func defaultKeystore() string {
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".idoslight", "keystore")
	}
	return ".idoslight-keystore"
}
