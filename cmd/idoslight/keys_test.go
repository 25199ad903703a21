package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/userclient"
)

// With the devnet demo's variables still exported, `key new` and `key
// import` refuse the demo keystore and the demo's passphrase file with an
// error that names the variable, write nothing, and go ahead only with
// --allow-demo-keystore.
func TestNewKeyRefusesDemoKeystore(t *testing.T) {
	demo := t.TempDir()
	pwFile := filepath.Join(demo, "password")
	for name, data := range map[string]string{userclient.DemoMarker: "demo", "password": "public\n"} {
		if err := os.WriteFile(filepath.Join(demo, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hexFile := filepath.Join(t.TempDir(), "seed.hex")
	if err := os.WriteFile(hexFile, []byte(strings.Repeat("07", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IDOSLIGHT_KEYSTORE", demo)
	t.Setenv("IDOSLIGHT_PASSWORD_FILE", pwFile)
	mine := t.TempDir()
	run := func(args ...string) error {
		app := newApp()
		app.Writer, app.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
		return runApp(app, append([]string{"idoslight"}, args...))
	}
	for i, c := range []struct {
		args []string
		want string // in the message
	}{
		{[]string{"key", "new", "--type", "ed25519", "--light-kdf"}, "--keystore " + demo + " is a devnet demo keystore (from IDOSLIGHT_KEYSTORE: unset it)"},
		{[]string{"key", "new", "--type", "eip191", "--light-kdf", "--keystore", mine}, "--password-file " + pwFile + " is the devnet demo's public passphrase (from IDOSLIGHT_PASSWORD_FILE: unset it)"},
		{[]string{"key", "import", "--type", "ed25519", "--name", "x", "--hex-file", hexFile, "--light-kdf"}, "is a devnet demo keystore"},
	} {
		err := run(c.args...)
		if !errors.Is(err, userclient.ErrDemoKeystore) || !strings.Contains(err.Error(), c.want) || exitCode(err) != exitFailure {
			t.Errorf("%d: %v, want ErrDemoKeystore saying %q (exit 1)", i, err, c.want)
		}
	}
	for _, dir := range []string{demo, mine} {
		if names, err := (&userclient.Keystore{Dir: dir}).Names(); err != nil || len(names) != 0 {
			t.Fatalf("%s after refusals: %v %v", dir, names, err)
		}
	}
	if err := run("key", "new", "--type", "ed25519", "--light-kdf", "--name", "throwaway", "--allow-demo-keystore"); err != nil {
		t.Fatalf("with --allow-demo-keystore: %v", err)
	}
	if _, err := (&userclient.Keystore{Dir: demo}).Load("throwaway", "public"); err != nil {
		t.Fatalf("the allowed key: %v", err)
	}
}
