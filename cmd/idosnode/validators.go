package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/valclient"
)

// validatorsTimeout bounds one validators command, including waiting for
// the transaction's block.
const validatorsTimeout = 2 * time.Minute

func validatorsCommand() *cli.Command {
	return &cli.Command{
		Name:  "validators",
		Usage: "join, approve, leave or remove validators; list the set and its requests",
		Description: "The validator set changes by approval. A node asks to join (`join`);\n" +
			"current validators approve it (`approve`); with approvals from at least the\n" +
			"genesis threshold (2/3) of the current voting power before the request\n" +
			"expires, it becomes a validator two blocks later. A validator can `leave`,\n" +
			"and `remove` proposes or approves removing another one by the same rule.\n" +
			"Transactions are signed with the home's validator key\n" +
			"(config/priv_validator_key.json); a validator's id is the hex of its public\n" +
			"key, as `init` and `list` print it. A transaction the node refuses exits 1\n" +
			"with the node's message; a wrong command line exits 2.",
		Subcommands: []*cli.Command{
			txCommand("join", "ask to become a validator", "", func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, _ string) (valclient.Result, error) {
				return c.Join(ctx, key)
			}),
			txCommand("approve", "approve a pending join request (validators only)", "CANDIDATE_PUBKEY_HEX", func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, id string) (valclient.Result, error) {
				return c.Approve(ctx, key, id)
			}),
			txCommand("leave", "leave the validator set", "", func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, _ string) (valclient.Result, error) {
				return c.Leave(ctx, key)
			}),
			txCommand("remove", "propose, or approve a proposal, to remove a validator (validators only)", "VALIDATOR_PUBKEY_HEX", func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, id string) (valclient.Result, error) {
				return c.Remove(ctx, key, id)
			}),
			listCommand(),
			requestsCommand(),
		},
	}
}

// Flags shared by the validators commands. --home is checked by the
// commands rather than by cli's Required, whose error is not
// distinguishable as a usage error.
func validatorsHomeFlag() cli.Flag {
	f := homeFlag()
	f.Required = false
	f.Usage = "node home `DIR`: the signing key, the chain id and the default --node (required)"
	return f
}

func nodeFlag() cli.Flag {
	return &cli.StringFlag{Name: "node", Usage: "CometBFT RPC `URL` of the node to talk to (default: the home's rpc.laddr)"}
}

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON instead of tables"}
}

type txFunc func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, arg string) (valclient.Result, error)

// txCommand is a validators subcommand that sends one transaction; argName
// names its single argument, or is empty for none.
func txCommand(name, usage, argName string, send txFunc) *cli.Command {
	return groupTxCommand("validators", name, usage, argName, valclient.ParseID, send, nil)
}

// afterFunc prints what a committed transaction changed, read back from the
// node.
type afterFunc func(ctx context.Context, w io.Writer, c *valclient.Client, arg string) error

// groupTxCommand is a subcommand of group that sends one transaction signed
// with the home's validator key; parse checks its argument (argName) before
// anything is sent and returns it in the form the transaction carries;
// after, if set, runs once the transaction executed in a block.
func groupTxCommand(group, name, usage, argName string, parse func(string) (string, error), send txFunc, after afterFunc) *cli.Command {
	usageText := "idosnode " + group + " " + name + " --home DIR [--node URL] [--wait=false]"
	if argName != "" {
		usageText += " " + argName
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: usageText,
		Flags: []cli.Flag{
			validatorsHomeFlag(),
			nodeFlag(),
			&cli.BoolFlag{Name: "wait", Value: true, Usage: "wait for the block (broadcast_tx_commit); --wait=false returns once the mempool accepts it"},
		},
		Action: func(c *cli.Context) error {
			want := 0
			if argName != "" {
				want = 1
			}
			if c.NArg() != want {
				if want == 0 {
					return usageErrorf("%s %s takes no arguments, got %v", group, name, c.Args().Slice())
				}
				return usageErrorf("%s %s needs exactly one argument, %s", group, name, argName)
			}
			arg := c.Args().First()
			if argName != "" {
				var err error
				if arg, err = parse(arg); err != nil {
					return usageError{err: err}
				}
			}
			if c.String("home") == "" {
				return usageErrorf("%s %s: --home is required (it holds the signing key)", group, name)
			}
			h, err := home.Load(c.String("home"))
			if err != nil {
				return err
			}
			key, err := valclient.HomeKey(h)
			if err != nil {
				return err
			}
			vc, err := newValClient(c, h)
			if err != nil {
				return err
			}
			vc.Wait = c.Bool("wait")
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			res, err := send(ctx, vc, key, arg)
			if err := printTxResult(c.App.Writer, res, err); err != nil || after == nil || res.Height == 0 {
				return err
			}
			return after(ctx, c.App.Writer, vc, arg)
		},
	}
}

// newValClient connects to --node, or to the home's own RPC, for the
// home's chain. h may be nil when only --node is given (queries).
func newValClient(c *cli.Context, h *home.Home) (*valclient.Client, error) {
	url := c.String("node")
	if url == "" {
		if h == nil {
			return nil, usageErrorf("give --home or --node")
		}
		url = localRPCURL(h.CometBFT.RPC.ListenAddress)
	}
	u, err := normaliseRPCURL(url)
	if err != nil {
		return nil, err
	}
	rpc, err := rpchttp.New(u.String(), "/websocket")
	if err != nil {
		return nil, fmt.Errorf("--node %s: %w", url, err)
	}
	chainID := ""
	if h != nil {
		doc, err := h.Genesis()
		if err != nil {
			return nil, fmt.Errorf("read genesis: %w", err)
		}
		chainID = doc.ChainID
	}
	return valclient.New(rpc, chainID), nil
}

// localRPCURL turns an rpc.laddr (tcp://host:port) into a URL this machine
// can dial; a node listening on all interfaces is reached on loopback.
func localRPCURL(laddr string) string {
	hostPort := strings.TrimPrefix(laddr, "tcp://")
	if host, port, err := net.SplitHostPort(hostPort); err == nil {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			hostPort = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return "http://" + hostPort
}
