package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// A gateway typed without a scheme is http; anything that is not an http(s)
// URL with a host is refused, saying what to give.
func TestGatewayURL(t *testing.T) {
	for i, c := range []struct{ in, want, err string }{
		0: {in: "127.0.0.1:26602", want: "http://127.0.0.1:26602"},
		1: {in: "localhost:8080", want: "http://localhost:8080"},
		2: {in: " http://127.0.0.1:26602/ ", want: "http://127.0.0.1:26602"},
		3: {in: "https://gw.example.org", want: "https://gw.example.org"},
		4: {in: "gw.example.org", want: "http://gw.example.org"},
		5: {in: "ftp://gw.example.org", err: `scheme "ftp", want http or https`},
		6: {in: "http://", err: "has no host"},
		7: {in: "", err: "empty gateway URL"},
		8: {in: "http://h:1/?x=1", err: "no query or fragment"},
		9: {in: "http://[::1", err: "want http://HOST:PORT"},
	} {
		got, err := gatewayURL(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%d: gatewayURL(%q) = %q, %v; want %q", i, c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%d: gatewayURL(%q) = %q, %v; want an error with %q", i, c.in, got, err, c.err)
		}
	}
}

// resolve runs a command with the gateway flag in dir and returns the
// gateway gatewayOf chooses and where from.
func resolve(t *testing.T, dir string, cfg *lightConfig, env string, args ...string) (gw, from string, err error) {
	t.Helper()
	t.Chdir(dir)
	t.Setenv("IDOSLIGHT_GATEWAY", env)
	app := &cli.App{
		Name: "idoslight", Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{},
		Commands: []*cli.Command{{Name: "x", Flags: []cli.Flag{gatewayFlag()}, Action: func(c *cli.Context) error {
			gw, from, err = gatewayOf(c, cfg)
			return nil
		}}},
	}
	if err := app.Run(append([]string{"idoslight", "x"}, args...)); err != nil {
		t.Fatal(err)
	}
	return gw, from, err
}

// The gateway is, in order: --gateway or IDOSLIGHT_GATEWAY; light.json's;
// node 0 of the devnet in ./.devnet; a default devnet's node 0, never a port
// no devnet or README uses.
func TestGatewayDefault(t *testing.T) {
	empty := t.TempDir()
	withDevnet := t.TempDir()
	if err := os.MkdirAll(filepath.Join(withDevnet, ".devnet"), 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := `{"version":1,"chain_id":"idos-devnet","nodes":[{"name":"node0","gateway_addr":"127.0.0.1:31002"},{"name":"node1","gateway_addr":"127.0.0.1:31012"}]}`
	if err := os.WriteFile(filepath.Join(withDevnet, ".devnet", "devnet.json"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &lightConfig{Gateway: "http://127.0.0.1:41002"}
	for i, c := range []struct {
		dir      string
		cfg      *lightConfig
		env      string
		args     []string
		want     string
		fromPart string
	}{
		0: {dir: empty, want: devnetGateway, fromPart: "default"},
		1: {dir: withDevnet, want: "http://127.0.0.1:31002", fromPart: ".devnet"},
		2: {dir: withDevnet, cfg: cfg, want: "http://127.0.0.1:41002", fromPart: "light.json"},
		3: {dir: withDevnet, cfg: cfg, env: "127.0.0.1:51002", want: "http://127.0.0.1:51002", fromPart: "--gateway"},
		4: {dir: withDevnet, cfg: cfg, env: "127.0.0.1:51002", args: []string{"--gateway", "https://gw.example"}, want: "https://gw.example", fromPart: "--gateway"},
	} {
		gw, from, err := resolve(t, c.dir, c.cfg, c.env, c.args...)
		if err != nil || gw != c.want || !strings.Contains(from, c.fromPart) {
			t.Errorf("%d: %q from %q, %v; want %q from %s", i, gw, from, err, c.want, c.fromPart)
		}
	}
	if _, _, err := resolve(t, empty, nil, "", "--gateway", "ftp://gw.example"); err == nil || exitCode(err) != exitUsage ||
		!strings.Contains(err.Error(), "--gateway") || !strings.Contains(err.Error(), "want http or https") {
		t.Errorf("ftp gateway: %v, want a usage error naming --gateway and what to give", err)
	}
}
