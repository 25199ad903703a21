package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/home"
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
// CometBFT RPC is at rpcURL; flag names the option in errors.
func fetchNetwork(ctx context.Context, flag, rpcURL string) (*network, error) {
	nw, _, err := fetchServer(ctx, flag, rpcURL)
	return nw, err
}

// fetchServer is fetchNetwork that also returns the server's client and
// latest height.
func fetchServer(ctx context.Context, flag, rpcURL string) (*network, *rpcServer, error) {
	u, err := normaliseRPCURL(rpcURL)
	if err != nil {
		return nil, nil, err
	}
	c, err := rpchttp.New(u.String(), "/websocket")
	if err != nil {
		return nil, nil, fmt.Errorf("--%s %s: %w", flag, rpcURL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s %s: node status: %w: %w", flag, rpcURL, ErrUnreachable, err)
	}
	gen, err := c.Genesis(ctx)
	if err != nil {
		// Genesis files over 16 MiB are only served in chunks; ours are
		// far smaller, so that case is reported rather than handled.
		return nil, nil, fmt.Errorf("--%s %s: genesis: %w", flag, rpcURL, err)
	}
	if gen.Genesis == nil {
		return nil, nil, fmt.Errorf("--%s %s: the node returned no genesis", flag, rpcURL)
	}
	if st.NodeInfo.Network != gen.Genesis.ChainID {
		return nil, nil, fmt.Errorf("--%s %s: node reports chain %q but serves a genesis for %q", flag, rpcURL, st.NodeInfo.Network, gen.Genesis.ChainID)
	}
	addr, err := dialableP2PAddr(st.NodeInfo.ListenAddr, u.Hostname())
	if err != nil {
		return nil, nil, fmt.Errorf("--%s %s: %w", flag, rpcURL, err)
	}
	nw := &network{Genesis: gen.Genesis, Peer: string(st.NodeInfo.DefaultNodeID) + "@" + addr}
	return nw, &rpcServer{url: u.String(), c: c, latest: st.SyncInfo.LatestBlockHeight, catchingUp: st.SyncInfo.CatchingUp}, nil
}

type rpcServer struct {
	url        string
	c          *rpchttp.HTTP
	latest     int64
	catchingUp bool
}

// ErrUnreachable is a state-sync or join server that did not answer.
var ErrUnreachable = errors.New("RPC server unreachable")

// ErrTrustMismatch is returned when the state-sync servers disagree on the
// block the new node is to trust, or serve different networks.
var ErrTrustMismatch = errors.New("state-sync servers disagree")

// stateSyncJoin is what `init --state-sync` writes: the network (genesis
// and the servers as peers) and CometBFT's trust settings.
type stateSyncJoin struct {
	Genesis *types.GenesisDoc
	Peers   []string
	Sync    home.StateSync
	// Repeated is set when one server was given and is both the light
	// client's primary and its witness.
	Repeated bool
	// AtSnapshot is set when the trusted height is a snapshot's.
	AtSnapshot bool
}

// trustHeight picks the height a joining node trusts: the newest snapshot
// height a server offers, at most latest (the newest height every server
// has); latest if none is offered. CometBFT's light client verifies a
// header above its trusted one by skipping, in a few fetches, but one
// below it backwards, one header per height: trusting the newest height
// made a join fetch up to snapshot_interval headers (10,000 by default)
// before restoring the newest snapshot, trusting that snapshot's height
// makes it one.
func trustHeight(latest int64, offered [][]int64) (int64, bool) {
	best := int64(0)
	for _, hs := range offered {
		for _, h := range hs {
			if h <= latest && h > best {
				best = h
			}
		}
	}
	if best == 0 {
		return latest, false
	}
	return best, true
}

// snapshotHeights asks s which snapshots its node offers (the ABCI query
// /snapshots). The answer only picks the height that every server is then
// asked the hash of; a server that gives none (an older node, or an
// error) offers nothing init knows of.
func snapshotHeights(ctx context.Context, s *rpcServer) []int64 {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	res, err := s.c.ABCIQuery(ctx, "/snapshots", nil)
	if err != nil || res.Response.Code != app.CodeOK {
		return nil
	}
	var v app.SnapshotHeights
	if json.Unmarshal(res.Response.Value, &v) != nil {
		return nil
	}
	return v.Heights
}

// fetchStateSync asks every server for the network and a recent block, and
// takes that block as the trusted one only if all of them agree on its
// hash. CometBFT's light client needs a primary and at least one witness
// (two rpc_servers); one server is repeated and reported in Repeated,
// because then nothing checks the one server's word.
func fetchStateSync(ctx context.Context, urls []string) (*stateSyncJoin, error) {
	if len(urls) == 0 {
		return nil, usageErrorf("--state-sync: want RPC_URL[,RPC_URL...]")
	}
	var (
		out     = &stateSyncJoin{}
		servers []*rpcServer
	)
	for _, raw := range urls {
		nw, srv, err := fetchServer(ctx, "state-sync", raw)
		if err != nil {
			return nil, err
		}
		if srv.catchingUp {
			return nil, fmt.Errorf("--state-sync %s: the node is still catching up; give servers that follow the chain", raw)
		}
		if out.Genesis == nil {
			out.Genesis = nw.Genesis
		} else if nw.Genesis.ChainID != out.Genesis.ChainID {
			return nil, fmt.Errorf("%w: %s is on chain %q, %s on %q", ErrTrustMismatch, servers[0].url, out.Genesis.ChainID, srv.url, nw.Genesis.ChainID)
		}
		if !slices.Contains(out.Peers, nw.Peer) {
			out.Peers = append(out.Peers, nw.Peer)
		}
		servers = append(servers, srv)
	}
	// The newest height every server has.
	h := servers[0].latest
	for _, s := range servers[1:] {
		h = min(h, s.latest)
	}
	if h < 1 {
		return nil, fmt.Errorf("--state-sync: %s has no blocks yet", servers[0].url)
	}
	var offered [][]int64
	for _, s := range servers {
		offered = append(offered, snapshotHeights(ctx, s))
	}
	h, out.AtSnapshot = trustHeight(h, offered)
	var hash []byte
	for _, s := range servers {
		got, err := blockHashAt(ctx, s, h, out.Genesis.ChainID)
		if err != nil {
			return nil, err
		}
		if hash == nil {
			hash = got
		} else if !bytes.Equal(got, hash) {
			return nil, fmt.Errorf("%w: block %d is %X at %s but %X at %s; refusing to trust either", ErrTrustMismatch, h, hash, servers[0].url, got, s.url)
		}
	}
	for _, s := range servers {
		out.Sync.RPCServers = append(out.Sync.RPCServers, s.url)
	}
	if len(servers) == 1 {
		out.Sync.RPCServers = append(out.Sync.RPCServers, servers[0].url)
		out.Repeated = true
	}
	out.Sync.TrustHeight = h
	out.Sync.TrustHash = fmt.Sprintf("%X", hash)
	return out, nil
}

// blockHashAt returns the hash of s's header at height h (from /commit),
// checking that the header hashes to the block id its commit signs.
func blockHashAt(ctx context.Context, s *rpcServer, h int64, chainID string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	res, err := s.c.Commit(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("--state-sync %s: commit at height %d: %w: %w", s.url, h, ErrUnreachable, err)
	}
	if res.Header == nil || res.Commit == nil {
		return nil, fmt.Errorf("--state-sync %s: no signed header at height %d", s.url, h)
	}
	if res.Header.ChainID != chainID || res.Header.Height != h {
		return nil, fmt.Errorf("%w: %s answered for height %d with a header of chain %q height %d", ErrTrustMismatch, s.url, h, res.Header.ChainID, res.Header.Height)
	}
	hash := res.Header.Hash()
	if !bytes.Equal(hash, res.Commit.BlockID.Hash) {
		return nil, fmt.Errorf("%w: %s: header %d hashes to %X but its commit signs %X", ErrTrustMismatch, s.url, h, hash, res.Commit.BlockID.Hash)
	}
	return hash, nil
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
