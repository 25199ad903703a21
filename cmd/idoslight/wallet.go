package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/userclient"
)

// External signing: with --wallet-scheme and --wallet-signer, idoslight
// holds no key. Each time it needs a signature (a transaction, a read
// challenge, a wallet link message) it shows what the scheme's wallet signs
// (client.SignRequest: on stderr, and as JSON in --wallet-request) and takes
// the answer from one source: --wallet-signature (one signature), --wallet-sign-command
// (a program), --wallet-signature-file (a file the wallet writes), or a line on
// stdin (the default). The answer's form is checked before anything is sent
// (client.ParseSignature); whether it verifies is the node's to say.

func walletFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "wallet-scheme", EnvVars: []string{"IDOSLIGHT_WALLET_SCHEME"},
			Usage: "sign with an external wallet of `SCHEME` (nep413, solana, xrpl, ... or any scheme the network has) instead of --key"},
		&cli.StringFlag{Name: "wallet-signer", EnvVars: []string{"IDOSLIGHT_WALLET_SIGNER"},
			Usage: "the external wallet's public key or address, as its wallets write it (`KEY`; see `idoslight help signing`)"},
		&cli.StringFlag{Name: "wallet-identifier", Usage: "the account's `IDENTIFIER`, for a scheme this client does not know (the account is SCHEME:IDENTIFIER)"},
		&cli.StringFlag{Name: "wallet-signature", Usage: "the external wallet's `SIGNATURE`, for a command that signs once a text known in advance"},
		&cli.StringFlag{Name: "wallet-signature-file", Usage: "take each signature from `FILE` once the wallet wrote it (removed once read, unless a FIFO)"},
		&cli.StringFlag{Name: "wallet-sign-command", Usage: "run `CMD` (sh -c) for each signature: stdin = the bytes a bare key signs, $IDOS_SIGN_REQUEST = the request JSON, stdout = the signature"},
		&cli.StringFlag{Name: "wallet-request", Usage: "also write each sign request as JSON to `FILE`"},
	}
}

const signingHelp = `Signing with any wallet: --wallet-scheme SCHEME --wallet-signer KEY instead of --key.

For each signature idoslight prints on stderr what the scheme's wallet signs:
the wallet call and its arguments (the message, a NEP-413 nonce and
recipient, XRPL's message hex, EIP-712 typed data, ...), and "key signs":
the bytes a bare private key signs, for tools that hold the key. The answer
(the signature as the wallet prints it: hex, base64, base58, or a NEAR
wallet's JSON) comes from one of:
  --wallet-signature SIG
      one signature, for a command that signs once a text you saw before
      (a first run without it prints the text, then waits on stdin);
  --wallet-sign-command CMD
      sh -c CMD per signature: stdin = the key signs bytes,
      $IDOS_SIGN_REQUEST = the request as JSON, stdout = the signature;
  --wallet-signature-file FILE
      the wallet writes FILE (write, then rename); it is read and removed
      (a FIFO is read and left);
  otherwise one line on stdin per signature.
--wallet-request FILE writes each request as JSON to FILE as well. The
answer's form (encoding, length, DER, low S, ...) is checked before
anything is sent; whether it verifies is the node's to say.

KEY by scheme: nep413 ed25519:BASE58; solana the base58 address; xrpl the
33-byte public key in hex; stellar, stellar_sep53 the G... address; eip191,
eip191_wasm, eip712 the 0x address; adr036 the compressed key (hex or
base64); bip137 the address; ed25519 the hex key; any other scheme the
signer bytes in hex, with --wallet-identifier.

An external wallet holds no idOS encryption key here: it signs
transactions and reads, but commands that seal or open credentials need
a --key.`

// externalKey builds the Key of --wallet-scheme.
func externalKey(c *cli.Context) (*userclient.Key, error) {
	if c.String("key") != "" {
		return nil, usageErrorf("give --key or --wallet-scheme, not both")
	}
	if c.String("wallet-signer") == "" {
		return nil, usageErrorf("--wallet-signer is required with --wallet-scheme (see idoslight help signing)")
	}
	w, err := walletSource(c)
	if err != nil {
		return nil, err
	}
	e, err := client.NewExternal(c.String("wallet-scheme"), c.String("wallet-signer"), c.String("wallet-identifier"), w)
	if err != nil {
		return nil, usageError{err}
	}
	return userclient.ExternalKey(e, nil), nil
}

func walletSource(c *cli.Context) (client.Wallet, error) {
	n := 0
	for _, f := range []string{"wallet-signature", "wallet-sign-command", "wallet-signature-file"} {
		if c.IsSet(f) {
			n++
		}
	}
	if n > 1 {
		return nil, usageErrorf("give at most one of --wallet-signature, --wallet-sign-command and --wallet-signature-file")
	}
	p := &prompt{c: c, requestFile: c.String("wallet-request")}
	switch {
	case c.IsSet("wallet-signature"):
		p.answer = p.once(c.String("wallet-signature"))
	case c.IsSet("wallet-sign-command"):
		p.answer = p.command(c.String("wallet-sign-command"))
	case c.IsSet("wallet-signature-file"):
		p.answer = p.file(c.String("wallet-signature-file"))
	default:
		for _, f := range []string{"file", "proof"} {
			if c.String(f) == "-" {
				return nil, usageErrorf("--%s - reads stdin, where the wallet's signatures would come: give a file, or --wallet-signature-file", f)
			}
		}
		p.answer = p.stdin()
	}
	return p, nil
}

// prompt shows each request and takes the answer from its source.
type prompt struct {
	c           *cli.Context
	requestFile string
	answer      func(ctx context.Context, req *client.SignRequest) (string, error)
	n           int
}

func (p *prompt) Sign(req *client.SignRequest) (string, error) {
	p.n++
	fmt.Fprintf(p.c.App.ErrWriter, "\n=== signature %d ===\n%s", p.n, req.Text())
	if p.requestFile != "" {
		b, _ := json.MarshalIndent(req, "", "  ")
		if err := writeAtomic(p.requestFile, append(b, '\n')); err != nil {
			return "", fmt.Errorf("--wallet-request: %w", err)
		}
	}
	ctx := p.c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	return p.answer(ctx, req)
}

func (p *prompt) once(sig string) func(context.Context, *client.SignRequest) (string, error) {
	return func(context.Context, *client.SignRequest) (string, error) {
		if p.n > 1 {
			return "", fmt.Errorf("%w: this command needs more than one signature; --wallet-signature gives one (use stdin, --wallet-signature-file or --wallet-sign-command)", client.ErrNoSignature)
		}
		return sig, nil
	}
}

var stdinLines = sync.OnceValue(func() *bufio.Reader { return bufio.NewReader(os.Stdin) })

// stdin reads one line per signature; Ctrl-C and --timeout end the wait.
func (p *prompt) stdin() func(context.Context, *client.SignRequest) (string, error) {
	return func(ctx context.Context, _ *client.SignRequest) (string, error) {
		fmt.Fprint(p.c.App.ErrWriter, "signature> ")
		type line struct {
			s   string
			err error
		}
		got := make(chan line, 1)
		go func() {
			s, err := stdinLines().ReadString('\n')
			got <- line{s, err}
		}()
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: waiting for the signature on stdin: %w", client.ErrNoSignature, ctx.Err())
		case l := <-got:
			if l.err != nil && (l.err != io.EOF || strings.TrimSpace(l.s) == "") {
				return "", fmt.Errorf("%w on stdin (%w): give the signature shown above as the answer", client.ErrNoSignature, l.err)
			}
			return l.s, nil
		}
	}
}

// file waits for the wallet to write path, reads it and removes it (a FIFO
// is read and left).
func (p *prompt) file(path string) func(context.Context, *client.SignRequest) (string, error) {
	return func(ctx context.Context, _ *client.SignRequest) (string, error) {
		fmt.Fprintf(p.c.App.ErrWriter, "waiting for the signature in %s\n", path)
		for {
			fi, err := os.Stat(path)
			switch {
			case err == nil && fi.Mode()&fs.ModeNamedPipe != 0:
				b, err := os.ReadFile(path)
				return string(b), err
			case err == nil && fi.Size() > 0:
				b, err := os.ReadFile(path)
				if err != nil {
					return "", err
				}
				return string(b), os.Remove(path)
			case err != nil && !errors.Is(err, fs.ErrNotExist):
				return "", fmt.Errorf("--wallet-signature-file: %w", err)
			}
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("%w in %s: %w", client.ErrNoSignature, path, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// command runs the signing program.
func (p *prompt) command(cmdline string) func(context.Context, *client.SignRequest) (string, error) {
	return func(ctx context.Context, req *client.SignRequest) (string, error) {
		in, err := hex.DecodeString(req.KeySigns)
		if err != nil {
			return "", err
		}
		js, _ := json.Marshal(req)
		cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
		cmd.Stdin = bytes.NewReader(in)
		cmd.Env = append(os.Environ(), "IDOS_SIGN_REQUEST="+string(js))
		cmd.Stderr = p.c.App.ErrWriter
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("--wallet-sign-command: %w", err)
		}
		return string(out), nil
	}
}

// writeAtomic writes a file whole (temporary file, then rename), so a
// wallet polling for it never reads half of it.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sign-request-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// signingCommand is the help topic `idoslight help signing`.
func signingCommand() *cli.Command {
	return &cli.Command{
		Name:        "signing",
		Usage:       "how to sign with any wallet (--wallet-scheme): what is shown, how the signature comes back",
		UsageText:   "idoslight help signing",
		Description: signingHelp,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			return cli.ShowCommandHelp(c.Lineage()[1], "signing")
		},
	}
}

// linkedIdentifier is the identifier a proof's link message names (its
// address field is the signer's bytes in hex, which for most schemes is not
// how the account is written).
func linkedIdentifier(p *userclient.Proof) string {
	if i := strings.LastIndex(p.Wallet.Message, "\nAddress: "); i >= 0 {
		return p.Wallet.Message[i+len("\nAddress: "):]
	}
	return p.Wallet.Address
}
