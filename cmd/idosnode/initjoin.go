package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
)

// joinTimeout bounds the RPC calls `init --join` makes to its peer.
const joinTimeout = 30 * time.Second

// network is what a new node needs from a running one to join its chain.
type network struct {
	Genesis *types.GenesisDoc
	// Peer is the running node as id@host:port, for persistent_peers.
	Peer string
}

// fetchNetwork reads the genesis and the P2P address of the node whose
// CometBFT RPC is at rpcURL.
func fetchNetwork(ctx context.Context, rpcURL string) (*network, error) {
	u, err := normaliseRPCURL(rpcURL)
	if err != nil {
		return nil, err
	}
	c, err := rpchttp.New(u.String(), "/websocket")
	if err != nil {
		return nil, fmt.Errorf("--join %s: %w", rpcURL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("--join %s: node status: %w", rpcURL, err)
	}
	gen, err := c.Genesis(ctx)
	if err != nil {
		// Genesis files over 16 MiB are only served in chunks; ours are
		// far smaller, so that case is reported rather than handled.
		return nil, fmt.Errorf("--join %s: genesis: %w", rpcURL, err)
	}
	if gen.Genesis == nil {
		return nil, fmt.Errorf("--join %s: the node returned no genesis", rpcURL)
	}
	if st.NodeInfo.Network != gen.Genesis.ChainID {
		return nil, fmt.Errorf("--join %s: node reports chain %q but serves a genesis for %q", rpcURL, st.NodeInfo.Network, gen.Genesis.ChainID)
	}
	addr, err := dialableP2PAddr(st.NodeInfo.ListenAddr, u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("--join %s: %w", rpcURL, err)
	}
	return &network{Genesis: gen.Genesis, Peer: string(st.NodeInfo.DefaultNodeID) + "@" + addr}, nil
}

// normaliseRPCURL accepts http(s)://host:port, tcp://host:port and a bare
// host:port.
func normaliseRPCURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, usageErrorf("%q is not a CometBFT RPC URL (want http://host:port)", s)
	}
	if u.Scheme == "tcp" {
		u.Scheme = "http"
	}
	return u, nil
}

// dialableP2PAddr turns a node's P2P listen address into one this node can
// dial: a node listening on all interfaces (0.0.0.0) is reached at the host
// its RPC was reached at.
func dialableP2PAddr(listen, rpcHost string) (string, error) {
	hostPort := listen
	if i := strings.Index(hostPort, "://"); i >= 0 {
		hostPort = hostPort[i+3:]
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", fmt.Errorf("peer P2P listen address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = rpcHost
	}
	return net.JoinHostPort(host, port), nil
}
