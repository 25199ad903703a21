package main

import (
	"bytes"
	"strings"
	"testing"
)

// A wrong command line exits 2 with a one-line message that points at the
// command's --help; the help itself is not printed.
func TestUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" (see idoslight --help)`},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus (see idoslight --help)"},
		{[]string{"help", "frobnicate"}, `no help for "frobnicate": not a command (see idoslight --help)`},
		{[]string{"key"}, "key: a command is required (see idoslight key --help)"},
		{[]string{"key", "frobnicate"}, `unknown key command "frobnicate" (see idoslight key --help)`},
		{[]string{"key", "new", "--bogus"}, "flag provided but not defined: -bogus (see idoslight key new --help)"},
		{[]string{"credential"}, "credential: a command is required (see idoslight credential --help)"},
		{[]string{"credential", "share", "--bogus"}, "flag provided but not defined: -bogus (see idoslight credential share --help)"},
		{[]string{"get"}, "--table is required (see idoslight get --help)"},
		{[]string{"--timeout", "soon", "me"}, `invalid value "soon" for flag -timeout`},
		// External wallets: the flags are checked before any key, prompt or network.
		{[]string{"wallet", "proof", "--key", "k", "--wallet-scheme", "solana"}, "give --key or --wallet-scheme, not both"},
		{[]string{"wallet", "proof", "--wallet-scheme", "solana"}, "--wallet-signer is required with --wallet-scheme"},
		{[]string{"wallet", "proof", "--wallet-scheme", "solana", "--wallet-signer", "0OIl"}, `invalid signer: solana signer "0OIl": want a base58`},
		{[]string{"wallet", "proof", "--wallet-scheme", "nep413", "--wallet-signer", "secp256k1:abc"}, "want an ed25519:BASE58 public key"},
		{[]string{"wallet", "proof", "--wallet-scheme", "newscheme", "--wallet-signer", "0a0b"}, "give its identifier"},
		{[]string{"wallet", "proof", "--wallet-scheme", "solana", "--wallet-signer", "11111111111111111111111111111111",
			"--wallet-signature", "x", "--wallet-signature-file", "f"}, "give at most one of --wallet-signature"},
	} {
		var out, errOut bytes.Buffer
		app := newApp()
		app.Writer, app.ErrWriter = &out, &errOut
		err := runApp(app, append([]string{"idoslight"}, c.args...))
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") ||
			out.Len() != 0 || errOut.Len() != 0 {
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			t.Errorf("idoslight %s: exit %d, error %v, printed %q %q; want exit 2 and %q only",
				strings.Join(c.args, " "), code, err, out.String(), errOut.String(), c.msg)
		}
	}
}
