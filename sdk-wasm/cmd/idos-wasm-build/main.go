// Command idos-wasm-build builds an idOS plugin package to a .wasm file with
// the SDK's reproducible settings (see package wasmbuild). Use it from a
// plugin's go:generate line:
//
//	//go:generate go run github.com/idos-network/idos-node/sdk-wasm/cmd/idos-wasm-build -o myscheme.wasm .
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/idos-network/idos-node/sdk-wasm/wasmbuild"
)

func main() {
	out := flag.String("o", "", "output .wasm file (required)")
	flag.Parse()
	pkg := "."
	if flag.NArg() == 1 {
		pkg = flag.Arg(0)
	} else if flag.NArg() > 1 || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: idos-wasm-build -o plugin.wasm [package]")
		os.Exit(2)
	}
	if err := wasmbuild.Build(".", *out, pkg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if fi, err := os.Stat(*out); err == nil {
		fmt.Printf("%s: %d bytes\n", *out, fi.Size())
	}
}
