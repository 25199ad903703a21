// Command idosnode runs an idOS node: a CometBFT validator with the idOS
// application and its HTTP gateway.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit statuses.
const (
	exitFailure = 1 // the command ran and failed (or a node refused it)
	exitUsage   = 2 // the command line itself is wrong
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(exitCode(err))
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "idosnode",
		Usage: "run an idOS identity data node",
		Description: "An idOS node is a CometBFT validator whose application keeps identity\n" +
			"records in SQLite. Create a node home with `init`, run it with `start`,\n" +
			"or run a local multi-validator network with `devnet`. Manage the\n" +
			"validator set with `validators`.",
		Commands:        []*cli.Command{initCommand(), startCommand(), devnetCommand(), validatorsCommand(), pluginCommand(), sigCommand()},
		HideHelpCommand: false,
		// main prints the error once; cli would print usage for flag errors.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   markUsageError,
	}
	for _, c := range app.Commands {
		setUsageErrorHandler(c)
	}
	return app
}

// usageError is a wrong command line (unknown flag, missing argument),
// which scripts distinguish from a failed operation by exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func markUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err} }

// setUsageErrorHandler makes flag parse errors of c and its subcommands
// usage errors.
func setUsageErrorHandler(c *cli.Command) {
	if c.OnUsageError == nil {
		c.OnUsageError = markUsageError
	}
	for _, sub := range c.Subcommands {
		setUsageErrorHandler(sub)
	}
}

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitFailure
}
