package main

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/home"
)

func homeFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:     "home",
		Usage:    "node home `DIR` (config/, data/)",
		Required: true,
		EnvVars:  []string{"IDOSNODE_HOME"},
	}
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "create a node home with keys, config and a single-validator genesis",
		UsageText: "idosnode init --home DIR [--chain-id ID] [--moniker NAME] [--p2p-laddr HOST:PORT] [--rpc-laddr HOST:PORT] [--gateway-laddr HOST:PORT] [--timeout-commit D] [--join PEER_RPC_URL | --state-sync RPC_URL[,RPC_URL...]] [--force]",
		Description: "Creates DIR/config/config.toml (CometBFT), DIR/config/idos.json (gateway and\n" +
			"logging), the node and validator keys, and a genesis in which this node is\n" +
			"the only validator. All listen addresses default to loopback; pass another\n" +
			"host to expose a port. An existing home is refused unless --force, which\n" +
			"rewrites config and genesis but keeps the keys and leaves data/ alone.\n\n" +
			"With --join, the node joins a running network instead: the genesis is\n" +
			"fetched from the peer's CometBFT RPC (/genesis) and the peer (from its\n" +
			"/status) becomes this node's persistent peer. `start` then syncs the chain\n" +
			"as a full node; `idosnode validators join` asks the validators to admit it.\n\n" +
			"With --state-sync, the node joins without replaying the chain: genesis and\n" +
			"peers come from every listed server; the newest snapshot height they offer\n" +
			"(else the newest block they all have) is fetched from each (/commit) and\n" +
			"becomes the trusted height and hash only if they all agree on it; `start`\n" +
			"restores a snapshot a peer serves, verifying every chunk against the\n" +
			"light-client-verified app hash, then block-syncs the rest. CometBFT's\n" +
			"light client wants two servers (a primary and a witness that cross-checks\n" +
			"it); with one, it is used for both and a warning says that nothing checks\n" +
			"it. The trust period is the home's light_trusting_period (config/idos.json).",
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "chain-id", Value: home.DefaultChainID, Usage: "chain `ID` written into the genesis"},
			&cli.StringFlag{Name: "moniker", Usage: "human-readable node `NAME` (default: host name)"},
			&cli.StringFlag{Name: "p2p-laddr", Value: home.DefaultP2PListenAddr, Usage: "P2P listen `HOST:PORT`"},
			&cli.StringFlag{Name: "rpc-laddr", Value: home.DefaultRPCListenAddr, Usage: "CometBFT RPC listen `HOST:PORT`"},
			&cli.StringFlag{Name: "gateway-laddr", Value: home.DefaultGatewayListenAddr, Usage: "HTTP gateway listen `HOST:PORT`"},
			&cli.DurationFlag{Name: "timeout-commit", Value: home.DefaultTimeoutCommit, Usage: "pause `D` after each block (the idle block interval); match the network's"},
			&cli.StringFlag{Name: "join", Usage: "join the network of the node whose CometBFT RPC is at `PEER_RPC_URL` (http://host:port)"},
			&cli.StringFlag{Name: "state-sync", Usage: "join by state sync from the CometBFT RPCs `RPC_URL[,RPC_URL...]` (two or more independent servers)"},
			&cli.Int64Flag{Name: "retain-blocks", Usage: "keep the last `N` blocks, pruning older ones (default 1000000, more if timeout-commit needs it for the light client trusting period; -1 keeps every block)"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite the config and genesis of an existing home"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			dir := c.String("home")
			opts := home.Options{
				ChainID:           c.String("chain-id"),
				Moniker:           c.String("moniker"),
				P2PListenAddr:     c.String("p2p-laddr"),
				RPCListenAddr:     c.String("rpc-laddr"),
				GatewayListenAddr: c.String("gateway-laddr"),
				TimeoutCommit:     c.Duration("timeout-commit"),
				RetainBlocks:      c.Int64("retain-blocks"),
				Overwrite:         c.Bool("force"),
			}
			joining := c.IsSet("join") || c.IsSet("state-sync")
			atSnapshot := false
			if c.IsSet("join") && c.IsSet("state-sync") {
				return usageErrorf("--join and --state-sync exclude each other (--state-sync joins too)")
			}
			if joining && !c.IsSet("chain-id") {
				opts.ChainID = "" // take the network's
			}
			if c.IsSet("state-sync") {
				ss, err := fetchStateSync(c.Context, splitList(c.String("state-sync")))
				if err != nil {
					return err
				}
				if ss.Repeated {
					fmt.Fprintf(c.App.ErrWriter, "warning: one state-sync server: CometBFT's light client wants two (primary and witness), so %s is both and nothing cross-checks it; give two independent servers where you can\n", ss.Sync.RPCServers[0])
				}
				opts.Genesis = ss.Genesis
				opts.PersistentPeers = ss.Peers
				opts.StateSync = &ss.Sync
				atSnapshot = ss.AtSnapshot
			}
			if c.IsSet("join") {
				nw, err := fetchNetwork(c.Context, "join", c.String("join"))
				if err != nil {
					return err
				}
				opts.Genesis = nw.Genesis
				opts.PersistentPeers = []string{nw.Peer}
			}
			if err := home.Init(dir, opts); err != nil {
				return err
			}
			id, err := home.ReadIdentity(dir)
			if err != nil {
				return err
			}
			out := c.App.Writer
			fmt.Fprintf(out, "initialised node home %s\n", dir)
			fmt.Fprintf(out, "node id:           %s\n", id.NodeID)
			fmt.Fprintf(out, "validator address: %s\n", id.ValidatorAddress)
			fmt.Fprintf(out, "validator pubkey:  %s\n", hex.EncodeToString(id.ValidatorPubKey.Bytes()))
			fmt.Fprintf(out, "start it with:     idosnode start --home %s\n", dir)
			if joining {
				fmt.Fprintf(out, "chain:             %s (peers %s)\n", opts.Genesis.ChainID, strings.Join(opts.PersistentPeers, ","))
				if ss := opts.StateSync; ss != nil {
					what := "the newest height the servers have"
					if atSnapshot {
						what = "the newest snapshot they offer"
					}
					fmt.Fprintf(out, "state sync:        trust height %d (%s) hash %s (agreed by %s)\n", ss.TrustHeight, what, ss.TrustHash, strings.Join(slices.Compact(slices.Clone(ss.RPCServers)), ", "))
				}
				fmt.Fprintf(out, "once it has synced, ask to become a validator:\n")
				fmt.Fprintf(out, "                   idosnode validators join --home %s\n", dir)
			}
			return nil
		},
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
