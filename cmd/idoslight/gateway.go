package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// devnetGateway is node 0's gateway of a devnet with the default ports
// (`idosnode devnet`), the last resort of gatewayOf.
const devnetGateway = "http://127.0.0.1:26602"

// devnetManifest is where `idosnode devnet` records its nodes, relative to
// the directory it was started in (its default --dir).
var devnetManifest = filepath.Join(".devnet", "devnet.json")

// gatewayOf returns the gateway a command talks to and where that choice
// came from: --gateway (or IDOSLIGHT_GATEWAY); else the one given to
// `idoslight init` (light.json, cfg may be nil); else node 0 of the devnet
// in ./.devnet; else a default devnet's node 0. The URL is normalised by
// gatewayURL.
func gatewayOf(c *cli.Context, cfg *lightConfig) (gw, from string, err error) {
	switch {
	case c.IsSet("gateway") && c.String("gateway") != "":
		gw, from = c.String("gateway"), "--gateway"
	case cfg != nil && cfg.Gateway != "":
		gw, from = cfg.Gateway, "light.json (idoslight init --gateway)"
	default:
		gw, from = devnetGateway, "the default, a devnet's node 0"
		if g := localDevnetGateway(); g != "" {
			gw, from = g, "node 0 of the devnet in "+filepath.Dir(devnetManifest)
		}
	}
	u, err := gatewayURL(gw)
	if err != nil {
		return "", "", usageErrorf("gateway from %s: %w", from, err)
	}
	return u, from, nil
}

// localDevnetGateway is node 0's gateway in ./.devnet/devnet.json, or "".
// Only the field needed is read: the client links no node package.
func localDevnetGateway() string {
	data, err := os.ReadFile(devnetManifest)
	if err != nil {
		return ""
	}
	var m struct {
		Nodes []struct {
			GatewayAddr string `json:"gateway_addr"`
		} `json:"nodes"`
	}
	if json.Unmarshal(data, &m) != nil || len(m.Nodes) == 0 || m.Nodes[0].GatewayAddr == "" {
		return ""
	}
	return "http://" + m.Nodes[0].GatewayAddr
}

// gatewayURL normalises a gateway address as people type it: HOST:PORT
// without a scheme means http://HOST:PORT; a scheme other than http or
// https, or no host, is refused with what to give instead.
func gatewayURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty gateway URL: want http://HOST:PORT")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("gateway URL %q: want http://HOST:PORT (%w)", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("gateway URL %q: scheme %q, want http or https (http://HOST:PORT)", s, u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("gateway URL %q has no host: want http://HOST:PORT", s)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("gateway URL %q: no query or fragment, want http://HOST:PORT", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
