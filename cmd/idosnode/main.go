// Command idosnode runs an idOS node: a CometBFT validator with the idOS
// application and its HTTP gateway.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "idosnode",
		Usage: "run an idOS identity data node",
		Description: "An idOS node is a CometBFT validator whose application keeps identity\n" +
			"records in SQLite. Create a node home with `init`, run it with `start`,\n" +
			"or run a local multi-validator network with `devnet`.",
		Commands:        []*cli.Command{initCommand(), startCommand(), devnetCommand()},
		HideHelpCommand: false,
		// main prints the error once; cli would print usage for flag errors.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}
