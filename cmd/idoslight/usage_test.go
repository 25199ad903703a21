package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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

// A malformed --proof file is reported with the field and the JSON kinds,
// not Go's names for them ("Go struct field Proof.user_id of type string").
func TestProofFileErrorHasNoGoTypes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "proof.json")
	if err := os.WriteFile(bad, []byte(`{"user_id": 7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	app := newApp()
	app.Writer, app.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
	err := runApp(app, []string{"idoslight", "user", "add", "--key", "k", "--proof", bad})
	if err == nil {
		t.Fatal("a malformed proof was accepted")
	}
	msg := errorText(err)
	if !strings.Contains(msg, `field "user_id" is a JSON number, want a string`) || strings.Contains(msg, "Go ") ||
		strings.Contains(msg, "userclient.") || strings.Contains(msg, "Proof.") {
		t.Fatalf("message %q: want the field and JSON kinds, no Go type", msg)
	}
}

// `wallet proof` says what it proved and the command that uses the proof:
// `user add` for a new user, `wallet add` for a user's other wallet. Its
// stdout stays the JSON alone.
func TestWalletProofNextStep(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		app := newApp()
		app.Writer, app.ErrWriter = &out, &errOut
		all := append([]string{"idoslight"}, args...)
		all = append(all, "--keystore", filepath.Join(dir, "keys"), "--password-file", pass)
		if err := runApp(app, all); err != nil {
			t.Fatalf("idoslight %s: %v", strings.Join(args, " "), err)
		}
		return out.String(), errOut.String()
	}
	run("key", "new", "--type", "ed25519", "--name", "me", "--light-kdf")
	file := filepath.Join(dir, "proof.json")
	out, errOut := run("wallet", "proof", "--key", "me", "--out", file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		UserID string `json:"user_id"`
		Wallet struct {
			WalletID string `json:"wallet_id"`
		} `json:"wallet"`
	}
	if err := json.Unmarshal(data, &p); err != nil || p.UserID == "" || p.Wallet.WalletID == "" {
		t.Fatalf("proof file: %v %s", err, data)
	}
	if out != "" || !strings.Contains(errOut, "user "+p.UserID) || !strings.Contains(errOut, "wallet "+p.Wallet.WalletID) ||
		!strings.Contains(errOut, "written to "+file) || !strings.Contains(errOut, "idoslight user add --key INSERTER --proof "+file) {
		t.Errorf("wallet proof --out: stdout %q, stderr %q", out, errOut)
	}
	out, errOut = run("wallet", "proof", "--key", "me", "--user-id", p.UserID)
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("wallet proof to stdout is not the JSON alone: %v\n%s", err, out)
	}
	if !strings.Contains(errOut, "idoslight wallet add --key A_WALLET_OF_THE_USER --proof FILE") {
		t.Errorf("wallet proof --user-id: stderr %q, want the wallet add step", errOut)
	}
}
