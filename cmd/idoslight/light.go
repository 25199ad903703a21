package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/lightclient/idosverify"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/wire"
)

// The light client's files under --home (default ~/.idoslight):
//
//	light.json           lightConfig: chain, providers, root of trust, gateway
//	trust/<chain-id>/    the trusted store (lightclient), headers verified so far
const (
	lightConfigFile       = "light.json"
	defaultTrustingPeriod = 7 * 24 * time.Hour
)

// lightConfig is light.json, written by `idoslight init`.
type lightConfig struct {
	ChainID   string   `json:"chain_id"`
	Primary   string   `json:"primary"`
	Witnesses []string `json:"witnesses"`
	// TrustHeight and TrustHash are the root of trust given at init; the
	// trusted store continues from the latest header verified since.
	TrustHeight    int64  `json:"trust_height"`
	TrustHash      string `json:"trust_hash"`
	TrustingPeriod string `json:"trusting_period"`
	// Gateway is the (untrusted) gateway reads are fetched from; the
	// commands' --gateway flag overrides it.
	Gateway string `json:"gateway,omitempty"`
}

func defaultLightHome() string {
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".idoslight")
	}
	return ".idoslight"
}

func homeFlag() cli.Flag {
	return &cli.StringFlag{Name: "home", Value: defaultLightHome(), EnvVars: []string{"IDOSLIGHT_HOME"},
		Usage: "light client `DIR`: light.json and the trusted store trust/<chain-id>/"}
}

func maxLagFlag() cli.Flag {
	return &cli.Int64Flag{Name: "max-lag", Value: lightclient.DefaultMaxLag,
		Usage: "refuse a proof more than `N` blocks behind the latest verified header (a replayed old state)"}
}

func maxHeaderAgeFlag() cli.Flag {
	return &cli.DurationFlag{Name: "max-header-age", Value: lightclient.DefaultMaxHeaderAge,
		Usage: "refuse to read against a latest header older than `DURATION` by this machine's clock (a halted chain, or providers serving an old state); negative: no bound"}
}

func rpcTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "rpc-timeout", Value: lightclient.DefaultRequestTimeout,
		Usage: "give up on a header provider that does not answer a request within `DURATION` (named in the error; another is used if there is one)"}
}

// verifiedHelp ends the help of every command that answers with proven
// rows: what its answer is verified against, and what "fresh" means.
const verifiedHelp = "\n\nVerified: the rows, against the app hash of header H+1, itself verified\n" +
	"from your root of trust and confirmed by a second provider. Fresh: H is at\n" +
	"most --max-lag blocks behind the latest header two providers show, and that\n" +
	"header at most --max-header-age old by this machine's clock. Not verified:\n" +
	"that the gateway answers at all."

// lightFlags are the flags of every command that verifies.
func lightFlags() []cli.Flag {
	return []cli.Flag{homeFlag(), maxLagFlag(), maxHeaderAgeFlag(), rpcTimeoutFlag()}
}

func lightConfigPath(home string) string { return filepath.Join(home, lightConfigFile) }

func trustDir(home, chainID string) (string, error) {
	if chainID == "" || chainID == "." || chainID == ".." || strings.ContainsAny(chainID, `/\`) {
		return "", usageErrorf("chain id %q cannot name a directory", chainID)
	}
	return filepath.Join(home, "trust", chainID), nil
}

// errNoLightConfig: `idoslight init` has not been run for this home.
var errNoLightConfig = errors.New("no light client configuration")

// errStoreBusy: another process holds the trusted store of this home.
var errStoreBusy = errors.New("trusted store in use")

func readLightConfig(home string) (*lightConfig, error) {
	p := lightConfigPath(home)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist; run `idoslight init` first (see idoslight init --help)", errNoLightConfig, p)
	}
	if err != nil {
		return nil, err
	}
	var cfg lightConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if cfg.ChainID == "" || cfg.Primary == "" {
		return nil, fmt.Errorf("%s: chain_id and primary are required", p)
	}
	return &cfg, nil
}

// lightSession is an open light client with a reader of the gateway (nil
// when the command needs none and none is configured).
type lightSession struct {
	cfg     *lightConfig
	client  *lightclient.Client
	reader  *lightclient.Reader
	gateway string
}

func (s *lightSession) Close() error { return s.client.Close() }

// witnessesOf returns the configured witnesses, or the primary itself when
// there are none (the light client needs one; it then checks headers
// against the trusted validator set only and cannot detect a primary's
// fork, which is logged).
func witnessesOf(cfg *lightConfig, log *slog.Logger) []string {
	if len(cfg.Witnesses) > 0 {
		return cfg.Witnesses
	}
	log.Warn("no witness configured: the primary is its own witness, so a fork it serves would go undetected (idoslight init --witness)",
		"primary", cfg.Primary)
	return []string{cfg.Primary}
}

// openLight resumes the light client of --home from its trusted store and,
// when the command reads (needGateway), makes a reader of the gateway
// (gatewayOf). `sync` needs no gateway and has no --gateway flag.
func openLight(c *cli.Context, log *slog.Logger, needGateway bool) (*lightSession, error) {
	home := c.String("home")
	cfg, err := readLightConfig(home)
	if err != nil {
		return nil, err
	}
	period, err := time.ParseDuration(cfg.TrustingPeriod)
	if err != nil {
		return nil, fmt.Errorf("%s: trusting_period: %w", lightConfigPath(home), err)
	}
	dir, err := trustDir(home, cfg.ChainID)
	if err != nil {
		return nil, err
	}
	lc, err := lightclient.New(c.Context, lightclient.Config{
		ChainID: cfg.ChainID, Primary: cfg.Primary, Witnesses: witnessesOf(cfg, log),
		TrustingPeriod: period, Dir: dir, Logger: log,
		MaxHeaderAge: c.Duration("max-header-age"), RequestTimeout: c.Duration("rpc-timeout"),
	})
	if errors.Is(err, syscall.EWOULDBLOCK) {
		// goleveldb's lock: one process at a time opens a store.
		return nil, fmt.Errorf("%w: %s is open in another idoslight process (a running `idoslight proxy` holds it while it runs): "+
			"stop that process, or give this command another --home (idoslight init --home DIR): %w", errStoreBusy, dir, err)
	}
	if err != nil {
		return nil, verified(err)
	}
	if !needGateway {
		return &lightSession{cfg: cfg, client: lc}, nil
	}
	gw, _, err := gatewayOf(c, cfg)
	if err != nil {
		lc.Close()
		return nil, err
	}
	if c.Int64("max-lag") < 1 {
		lc.Close()
		return nil, usageErrorf("--max-lag %d: must be at least 1", c.Int64("max-lag"))
	}
	// --wait (writes) bounds the wait for a transaction's block; zero is
	// the default.
	r := lightclient.NewReader(gw, lc, lightclient.ReaderOptions{MaxLag: c.Int64("max-lag"), WaitTimeout: c.Duration("wait"), Logger: log})
	return &lightSession{cfg: cfg, client: lc, reader: r, gateway: gw}, nil
}

// failureClasses name what went wrong in a verification, most specific
// first (a witness disagreement may also name a bad provider).
var failureClasses = []struct {
	err        error
	code, name string
}{
	{lightclient.ErrFork, "header_fork", "header fork"},
	{lightclient.ErrWitnessDisagreement, "witness_disagreement", "witness disagreement"},
	{lightclient.ErrStaleHeader, "stale_header", "stale header"},
	{lightclient.ErrWitnessDown, "witness_down", "witness down"},
	{lightclient.ErrProvider, "provider_failed", "provider failed"},
	{lightclient.ErrNoWitness, "no_witness", "no witness confirmed the header"},
	{lightclient.ErrBadProvider, "bad_provider", "a provider sent an invalid header"},
	{lightclient.ErrInvalidHeader, "invalid_header", "invalid header"},
	{lightclient.ErrTrustExpired, "trust_expired", "trusted header expired"},
	{lightclient.ErrTrustMismatch, "trust_mismatch", "trusted hash mismatch"},
	{lightclient.ErrNoTrust, "no_trust", "no root of trust"},
	{lightclient.ErrStale, "stale_height", "stale height"},
	{readproof.ErrAppHashMismatch, "app_hash_mismatch", "app hash mismatch"},
	{readproof.ErrProof, "bad_proof", "bad proof"},
	{readproof.ErrBadRows, "bad_rows", "bad rows"},
	{readproof.ErrWrongAnswer, "wrong_answer", "wrong answer"},
	{idosverify.ErrWalletNotProven, "wallet_not_proven", "wallet not proven"},
	{idosverify.ErrNotGranted, "not_granted", "credential neither owned nor granted"},
	{idosverify.ErrContentHash, "content_hash_mismatch", "content hash mismatch"},
	{idosverify.ErrSchema, "schema_mismatch", "schema mismatch"},
	{lightclient.ErrTxNotIncluded, "tx_not_included", "transaction not in a verified block"},
	{lightclient.ErrTxResult, "tx_result_unproven", "transaction result not proven"},
	{errTxFailed, "tx_result_mismatch", "transaction result not the gateway's"},
	{lightclient.ErrNoHeader, "no_header", "header not available"},
	{lightclient.ErrGateway, "gateway_error", "gateway error"},
}

// failureOf returns the code and name of err's verification failure class,
// or "" if it has none.
func failureOf(err error) (code, name string) {
	for _, f := range failureClasses {
		if errors.Is(err, f.err) {
			return f.code, f.name
		}
	}
	return "", ""
}

// verifyError is a failed verification, named in its message, with a hint
// of what to do when there is one.
type verifyError struct {
	name, hint string
	err        error
}

func (e *verifyError) Error() string {
	msg := "verification failed (" + e.name + "): " + e.err.Error()
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	return msg
}
func (e *verifyError) Unwrap() error { return e.err }

// forbiddenError is the gateway's refusal to answer this read at all (HTTP
// 403, e.g. a proof of a private table). It is not a verification failure:
// nothing was sent to verify.
type forbiddenError struct {
	gw *lightclient.GatewayError
}

func (e *forbiddenError) Error() string {
	// The node's reason may itself start with its error class.
	return "forbidden: the gateway refuses this read: " + strings.TrimPrefix(e.gw.Message, "forbidden: ") +
		" (private tables are read by their owner: idoslight me, wallets, credentials, credential get, grants)"
}
func (e *forbiddenError) Unwrap() error { return e.gw }

// forbidden returns err as a forbiddenError if the gateway refused with 403.
func forbidden(err error) (*forbiddenError, bool) {
	var ge *lightclient.GatewayError
	if errors.As(err, &ge) && (ge.Status == http.StatusForbidden || ge.Code == wire.ErrForbidden) {
		return &forbiddenError{gw: ge}, true
	}
	return nil, false
}

// verified names err's failure class in its message (exit status 1); a
// refusal of the gateway is reported as forbidden, not as a failed
// verification.
func verified(err error) error {
	if err == nil {
		return nil
	}
	var ve *verifyError
	var fe *forbiddenError
	if errors.As(err, &ve) || errors.As(err, &fe) {
		return err
	}
	if fe, ok := forbidden(err); ok {
		return fe
	}
	_, name := failureOf(err)
	if name == "" {
		return err
	}
	hint := ""
	if errors.Is(err, lightclient.ErrNoWitness) || errors.Is(err, lightclient.ErrProvider) {
		hint = "check the providers named above; to replace one, run idoslight init --force with other --primary/--witness"
	}
	return &verifyError{name: name, hint: hint, err: err}
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "set up the light client: chain, header providers, root of trust, gateway",
		UsageText: "idoslight init --chain-id ID --primary RPC_URL [--witness RPC_URL ...] --trust-height H --trust-hash HEX\n" +
			"   [--trusting-period DUR] [--gateway URL] [--home DIR] [--force]",
		Description: "Writes DIR/light.json and creates the trusted store DIR/trust/<chain-id>,\n" +
			"after verifying the trusted header: the primary's header at --trust-height\n" +
			"must have --trust-hash, be signed by its validators, and match every witness.\n\n" +
			"The root of trust comes from outside the network you are checking: a node\n" +
			"you run or trust, a block explorer, a friend. From a node you trust:\n" +
			"  curl -s 'http://TRUSTED:26657/commit?height=1' | jq -r .result.signed_header.commit.block_id.hash\n" +
			"(the header hash at that height; `idosnode devnet` prints both for its\n" +
			"network). The trusting period must be shorter than the time in which\n" +
			"validators who signed it can leave without consequence.\n\n" +
			"Witnesses are other operators' nodes; CometBFT compares every header with\n" +
			"them, which is what catches a primary serving a fork. Without --witness the\n" +
			"primary is its own witness (a warning says so). Every witness must answer\n" +
			"with the trusted header: one that does not fails init, naming it, unless\n" +
			"--allow-unreachable-witness (then later reads need another witness to\n" +
			"confirm each header).\n\n" +
			"Verified: the trusted header's hash and commit, and that every witness\n" +
			"has it. Trusted: the hash you give, and that one provider is honest.",
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "chain-id", Usage: "chain `ID` (required)"},
			&cli.StringFlag{Name: "primary", Usage: "CometBFT RPC `URL` headers come from (required)"},
			&cli.StringSliceFlag{Name: "witness", Usage: "CometBFT RPC `URL` of another node that cross-checks headers (repeatable)"},
			&cli.Int64Flag{Name: "trust-height", Usage: "`HEIGHT` of the trusted header (required)"},
			&cli.StringFlag{Name: "trust-hash", Usage: "`HEX` hash of the trusted header (required)"},
			&cli.DurationFlag{Name: "trusting-period", Value: defaultTrustingPeriod, Usage: "how long a verified header may verify newer ones (`DURATION`)"},
			&cli.StringFlag{Name: "gateway", EnvVars: []string{"IDOSLIGHT_GATEWAY"}, Usage: "gateway `URL` reads are fetched from (untrusted)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing light.json and trusted store"},
			&cli.BoolFlag{Name: "allow-unreachable-witness", Usage: "initialise although a witness does not answer (it is logged)"},
			rpcTimeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(c *cli.Context) error {
			if err := need(c, "chain-id", "primary", "trust-hash"); err != nil {
				return err
			}
			h := c.Int64("trust-height")
			if h < 1 {
				return usageErrorf("--trust-height is required and must be at least 1")
			}
			hash, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(c.String("trust-hash")), "0x"))
			if err != nil || len(hash) != 32 {
				return usageErrorf("--trust-hash %q: want 32 bytes of hex", c.String("trust-hash"))
			}
			if c.Duration("trusting-period") <= 0 {
				return usageErrorf("--trusting-period must be positive")
			}
			gw := c.String("gateway")
			if gw != "" {
				if gw, err = gatewayURL(gw); err != nil {
					return usageErrorf("--gateway: %w", err)
				}
			}
			home := c.String("home")
			dir, err := trustDir(home, c.String("chain-id"))
			if err != nil {
				return err
			}
			cfgPath := lightConfigPath(home)
			if _, err := os.Stat(cfgPath); err == nil && !c.Bool("force") {
				return fmt.Errorf("%s already exists: give --force to replace it and its trusted store", cfgPath)
			}
			if old, err := readLightConfig(home); err == nil && c.Bool("force") {
				if od, err := trustDir(home, old.ChainID); err == nil {
					if err := os.RemoveAll(od); err != nil {
						return err
					}
				}
			}
			// A new store (a left-over of a failed init is replaced too).
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			log, err := logger(c)
			if err != nil {
				return err
			}
			ctx, cancel := commandContext(c)
			defer cancel()
			cfg := &lightConfig{
				ChainID: c.String("chain-id"), Primary: c.String("primary"), Witnesses: c.StringSlice("witness"),
				TrustHeight: h, TrustHash: hex.EncodeToString(hash), TrustingPeriod: c.Duration("trusting-period").String(),
				Gateway: gw,
			}
			lc, err := lightclient.New(ctx, lightclient.Config{
				ChainID: cfg.ChainID, Primary: cfg.Primary, Witnesses: witnessesOf(cfg, log),
				TrustHeight: h, TrustHash: hash, TrustingPeriod: c.Duration("trusting-period"), Dir: dir, Logger: log,
				RequestTimeout: c.Duration("rpc-timeout"), AllowWitnessDown: c.Bool("allow-unreachable-witness"),
			})
			if err != nil {
				os.RemoveAll(dir) // nothing trusted: leave nothing behind
				if errors.Is(err, lightclient.ErrWitnessDown) {
					err = fmt.Errorf("%w (fix or drop that --witness, or give --allow-unreachable-witness)", err)
				}
				return verified(err)
			}
			if err := lc.Close(); err != nil {
				return err
			}
			data, err := json.MarshalIndent(cfg, "", "  ")
			if err != nil {
				return err
			}
			if err := os.MkdirAll(home, 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(cfgPath, append(data, '\n'), 0o600); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, cfg)
			}
			fmt.Fprintf(c.App.Writer, "trusted header %d %X of %s verified\nwrote %s\ntrusted store %s\n",
				h, hash, cfg.ChainID, cfgPath, dir)
			return nil
		},
	}
}

// syncResult is what `sync` prints.
type syncResult struct {
	ChainID string `json:"chain_id"`
	Height  int64  `json:"height"`
	// AppHash is header Height's app hash: the state after block Height-1.
	AppHash string    `json:"app_hash"`
	Hash    string    `json:"hash"`
	Time    time.Time `json:"time"`
}

func syncCommand() *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "verify headers up to the latest one two providers (primary, witnesses) can show",
		UsageText: "idoslight sync [--home DIR] [--max-header-age DUR] [--rpc-timeout DUR] [--json]",
		Description: "Asks the primary and every witness for its latest header, verifies the\n" +
			"highest height that one of them serves and another confirms, from the\n" +
			"trusted store, and prints that height, its header hash and its app hash\n" +
			"(the state after the block before it). Progress goes to stderr.\n\n" +
			"Verified: the printed header (signatures of the trusted validators,\n" +
			"confirmed by a second provider) and its freshness: it must be at most\n" +
			"--max-header-age old by this machine's clock. A provider that fails, lags\n" +
			"or lies is named in the error.",
		Flags: append(lightFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			log, err := logger(c)
			if err != nil {
				return err
			}
			ctx, cancel := commandContext(c)
			defer cancel()
			c.Context = ctx
			s, err := openLight(c, log, false)
			if err != nil {
				return err
			}
			defer s.Close()
			sh, err := s.client.Sync(ctx, progressLine(c))
			if err != nil {
				fmt.Fprintln(c.App.ErrWriter)
				return verified(err)
			}
			res := syncResult{ChainID: s.cfg.ChainID, Height: sh.Height, AppHash: hex.EncodeToString(sh.AppHash),
				Hash: hex.EncodeToString(sh.Hash()), Time: sh.Time.UTC()}
			if c.Bool("json") {
				return printJSON(c, res)
			}
			fmt.Fprintf(c.App.Writer, "verified height:  %d\nheader hash:      %s\napp hash:         %s\ntime:             %s\n",
				res.Height, res.Hash, res.AppHash, res.Time.Format(time.RFC3339))
			return nil
		},
	}
}

// progressLine draws the header sync's progress on stderr:
//
//	headers [##########··········] 1200/2400
func progressLine(c *cli.Context) func(height, target int64) {
	const width = 20
	var last [2]int64
	return func(height, target int64) {
		if target <= 0 {
			target = height
		}
		if last == [2]int64{height, target} {
			return
		}
		last = [2]int64{height, target}
		filled := width
		if target > 0 {
			filled = int(float64(width) * float64(height) / float64(target))
		}
		filled = min(max(filled, 0), width)
		bar := strings.Repeat("#", filled) + strings.Repeat("·", width-filled)
		end := ""
		if height >= target {
			end = "\n"
		}
		fmt.Fprintf(c.App.ErrWriter, "\rheaders [%s] %d/%d%s", bar, height, target, end)
	}
}
