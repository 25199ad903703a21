// Command idosnode runs an idOS node: a CometBFT validator with the idOS
// application and its HTTP gateway.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit statuses.
const (
	exitFailure = 1 // the command ran and failed (or a node refused it)
	exitUsage   = 2 // the command line itself is wrong
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status. A failure is
// one "Error:" line on stderr; a wrong command line adds where to find the
// usage rather than printing all of it.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp()
	app.Writer, app.ErrWriter = stdout, stderr
	// `help NAME` of an unknown NAME: cli would exit 1 ("No help topic").
	var unknown string
	app.CommandNotFound = func(_ *cli.Context, name string) { unknown = name }
	err := app.Run(args)
	if err == nil && unknown != "" {
		err = usageErrorf("no help for %q: not a command", unknown)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "Error:", errorText(err))
	var u usageError
	if errors.As(err, &u) {
		help := u.command
		if help == "" {
			help = app.Name
		}
		fmt.Fprintf(stderr, "see '%s --help'\n", help)
	}
	return exitCode(err)
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "idosnode",
		Usage: "run an idOS identity data node",
		Description: "An idOS node is a CometBFT validator whose application keeps identity\n" +
			"records in SQLite. Create a node home with `init`, run it with `start`,\n" +
			"or run a local multi-validator network with `devnet`. Manage the\n" +
			"validator set with `validators`, the inserters (issuers) with `inserter`.\n" +
			"Exit status: 0 ok, 1 failed or refused, 2 wrong command line.",
		Commands:        []*cli.Command{initCommand(), startCommand(), devnetCommand(), validatorsCommand(), inserterCommand(), pluginCommand(), driverCommand(), sigCommand()},
		HideHelpCommand: false,
		// run prints the error once; cli would print usage for flag errors.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   markUsageError,
		// Without a command: the help. With an unknown one: a usage error.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError{err: fmt.Errorf("unknown command %q", c.Args().First())}
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, c := range app.Commands {
		setUsageErrorHandler(c, app.Name)
	}
	return app
}

// usageError is a wrong command line (unknown flag, missing argument),
// which scripts distinguish from a failed operation by exit status 2.
// command is the command whose --help to point at ("idosnode plugin test").
type usageError struct {
	err     error
	command string
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{err: fmt.Errorf(format, args...)}
}

func markUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err: err} }

// setUsageErrorHandler makes the wrong command lines of c and its
// subcommands usage errors that name the command: flag parse errors, a
// missing required flag (checked here instead of by cli, which would print
// the whole help and exit 1), and, for a command group, a missing or unknown
// subcommand.
func setUsageErrorHandler(c *cli.Command, parent string) {
	path := parent + " " + c.Name
	if c.OnUsageError == nil {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError{err: err, command: path} }
	}
	var required []string
	for _, f := range c.Flags {
		if s, ok := f.(*cli.StringFlag); ok && s.Required {
			s.Required = false
			s.Usage += " (required)"
			required = append(required, s.Name)
		}
	}
	if len(c.Subcommands) > 0 && c.Action == nil {
		var names []string
		for _, sub := range c.Subcommands {
			names = append(names, sub.Name)
		}
		c.Action = func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return usageErrorf("unknown %s command %q", c.Name, ctx.Args().First())
			}
			return usageErrorf("%s needs a command: %s", c.Name, strings.Join(names, ", "))
		}
	}
	if action := c.Action; action != nil {
		c.Action = func(ctx *cli.Context) error {
			for _, name := range required {
				if !ctx.IsSet(name) {
					return usageError{err: fmt.Errorf("--%s is required", name), command: path}
				}
			}
			err := action(ctx)
			var u usageError
			if errors.As(err, &u) && u.command == "" {
				// Keep err's text and chain; point at this command's help.
				return usageError{err: err, command: path}
			}
			return err
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
