package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/wasmhost"
)

func sigCommand() *cli.Command {
	return &cli.Command{
		Name:  "sig",
		Usage: "work with signatures offline",
		Subcommands: []*cli.Command{{
			Name:  "verify",
			Usage: "verify one signature with a built-in scheme or a Wasm plugin",
			UsageText: "idosnode sig verify --scheme NAME --signer HEX (--message TEXT | --message-hex HEX) --signature HEX [--module FILE.wasm]\n\n" +
				"   idosnode sig verify --scheme eip191 --signer 0x2c7536E3605D9C16a7a3D7b1898e529396a65c23 \\\n" +
				"     --message 'Some data' --signature 0xb91467e5...1c",
			Description: "Checks that SIGNATURE is SIGNER's signature over the message under the scheme's\n" +
				"rules and prints the signer's canonical identifier. SIGNER is the scheme's\n" +
				"signer bytes in hex: a 20-byte address for eip191, a 32-byte public key for\n" +
				"ed25519. Built-in schemes: " + strings.Join(auth.DefaultRegistry().Names(), ", ") + ". With --module, the\n" +
				"plugin is registered exactly as a node would (ABI and import checks) and its\n" +
				"scheme is used. Nothing touches the network.\n" +
				"Exit status: 0 valid, 1 invalid (or a faulty plugin), 2 wrong command line.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "scheme", Usage: "scheme `NAME` (default: the module's, with --module)"},
				&cli.StringFlag{Name: "signer", Usage: "signer bytes in `HEX`", Required: true},
				&cli.StringFlag{Name: "message", Usage: "the signed message as `TEXT` (UTF-8)"},
				&cli.StringFlag{Name: "message-hex", Usage: "the signed message as `HEX` bytes"},
				&cli.StringFlag{Name: "signature", Usage: "the signature in `HEX`", Required: true},
				&cli.StringFlag{Name: "module", Usage: "a signature plugin `FILE.wasm` to verify with"},
			},
			Action: sigVerify,
		}},
	}
}

func decodeHexFlag(c *cli.Context, name string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(c.String(name), "0x"), "0X"))
	if err != nil {
		return nil, usageErrorf("--%s is not hex: %v", name, err)
	}
	return b, nil
}

func sigVerify(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("unexpected arguments: %v", c.Args().Slice())
	}
	if c.IsSet("message") == c.IsSet("message-hex") {
		return usageErrorf("give exactly one of --message and --message-hex")
	}
	msg := []byte(c.String("message"))
	if c.IsSet("message-hex") {
		var err error
		if msg, err = decodeHexFlag(c, "message-hex"); err != nil {
			return err
		}
	}
	signer, err := decodeHexFlag(c, "signer")
	if err != nil {
		return err
	}
	sig, err := decodeHexFlag(c, "signature")
	if err != nil {
		return err
	}
	reg := auth.DefaultRegistry()
	name := c.String("scheme")
	if path := c.String("module"); path != "" {
		wasm, err := readModuleFile(path)
		if err != nil {
			return err
		}
		ctx := context.Background()
		rt, err := wasmhost.NewRuntime(ctx, wasmhost.Config{})
		if err != nil {
			return err
		}
		defer rt.Close(ctx)
		p, err := rt.Register(ctx, wasm)
		if err != nil {
			return fmt.Errorf("module %s refused: %w", path, err)
		}
		if name == "" {
			name = p.Name()
		} else if name != p.Name() {
			return usageErrorf("--scheme %q but the module implements %q", name, p.Name())
		}
		if err := reg.Register(p); err != nil {
			return usageErrorf("module scheme %q: %v", p.Name(), err)
		}
	}
	if name == "" {
		return usageErrorf("--scheme is required without --module")
	}
	scheme, err := reg.Lookup(name)
	if err != nil {
		return usageError{err: err}
	}
	id, err := scheme.Verify(signer, msg, sig)
	if err != nil {
		return err // the scheme's reason; exit status 1
	}
	fmt.Fprintf(c.App.Writer, "valid: %s\n", id)
	return nil
}
