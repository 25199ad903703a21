// Package lightclient is the user's side of verifiable reads
// (docs/spec/read-proofs.md): it verifies CometBFT headers from a root of
// trust with CometBFT's own light client, cross-checked by witnesses, and
// checks what an untrusted gateway returns against the app hash of a header
// it verified itself.
//
// The checks themselves are pure and live elsewhere: header verification in
// CometBFT's light/verifier.go, proof verification in node/readproof. This
// package owns the I/O around them: RPC providers, the trusted store on
// disk, the gateway over HTTP, waiting for the next header, and freshness.
package lightclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	"github.com/cometbft/cometbft/light/store"
	dbs "github.com/cometbft/cometbft/light/store/db"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/cmtlog"
)

// Config configures a Client. ChainID, Primary, at least one witness and
// TrustingPeriod are required; the trusted height and hash are required
// the first time (the store then remembers what was verified).
type Config struct {
	ChainID string
	// Primary is the CometBFT RPC address headers are fetched from, e.g.
	// http://127.0.0.1:26657.
	Primary string
	// Witnesses are other full nodes' RPC addresses. CometBFT compares
	// every header it verifies with theirs, which is what catches a
	// primary serving a fork; one honest node among primary and witnesses
	// suffices. A witness may be the same operator's second node, but then
	// it protects against less.
	Witnesses []string

	// TrustHeight and TrustHash are the root of trust: a header hash the
	// user obtained out of band (a block explorer, another operator).
	// Zero TrustHeight resumes from the trusted store.
	TrustHeight int64
	TrustHash   []byte
	// TrustingPeriod is how long a verified header may be used to verify
	// newer ones; it must be shorter than the time in which validators
	// who signed it can leave without consequence.
	TrustingPeriod time.Duration

	// Dir holds the trusted store (goleveldb). Empty: DefaultDir(ChainID).
	Dir string
	// Sequential verifies every header in between instead of skipping
	// (slower, for the cautious or for benchmarks).
	Sequential bool
	// TrustLevel is the fraction of a trusted validator set's power that
	// must sign a non-adjacent header when skipping. Zero: 1/3.
	TrustLevel cmtmath.Fraction
	// MaxClockDrift and MaxBlockLag tune CometBFT's checks of header times
	// (zero: CometBFT's 10 s each). A witness that is behind the primary
	// is waited for up to 2*MaxClockDrift+MaxBlockLag.
	MaxClockDrift time.Duration
	MaxBlockLag   time.Duration

	Logger *slog.Logger
	// Now is the clock the verification uses; nil is time.Now.
	Now func() time.Time
}

// DefaultDir is where the trusted store of a chain lives by default:
// ~/.idoslight/trust/<chain-id>.
func DefaultDir(chainID string) (string, error) {
	if chainID == "" || chainID == "." || chainID == ".." || strings.ContainsAny(chainID, `/\`) {
		return "", fmt.Errorf("lightclient: chain id %q cannot name a directory", chainID)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("lightclient: trusted store directory: %w", err)
	}
	return filepath.Join(home, ".idoslight", "trust", chainID), nil
}

// Client verifies headers of one chain. Its methods are safe for
// concurrent use; calls into CometBFT's client are serialised.
type Client struct {
	mu      sync.Mutex
	lc      *light.Client
	db      dbm.DB
	journal *journal
	log     *slog.Logger
	now     func() time.Time
	chainID string
}

// New opens (or creates) the trusted store and starts a light client from
// the root of trust. With a trusted height it fetches that header from the
// primary, checks its hash (ErrTrustMismatch) and its commit, and compares
// it with the witnesses; without one it resumes from the store (ErrNoTrust
// if empty).
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.ChainID == "" {
		return nil, errors.New("lightclient: chain id required")
	}
	if cfg.Primary == "" {
		return nil, errors.New("lightclient: primary RPC address required")
	}
	if len(cfg.Witnesses) == 0 {
		return nil, errors.New("lightclient: at least one witness required: a header no second node confirms is not trusted")
	}
	if cfg.TrustingPeriod <= 0 {
		return nil, errors.New("lightclient: trusting period required")
	}
	if cfg.TrustHeight < 0 || (cfg.TrustHeight > 0 && len(cfg.TrustHash) != 32) {
		return nil, fmt.Errorf("lightclient: trusted height %d with a %d-byte hash: want a positive height and a 32-byte hash",
			cfg.TrustHeight, len(cfg.TrustHash))
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("chain_id", cfg.ChainID)
	dir := cfg.Dir
	if dir == "" {
		d, err := DefaultDir(cfg.ChainID)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lightclient: trusted store: %w", err)
	}
	db, err := dbm.NewGoLevelDB("lightblocks", dir)
	if err != nil {
		return nil, fmt.Errorf("lightclient: open trusted store in %s: %w", dir, err)
	}
	c := &Client{db: db, journal: &journal{}, log: logger, now: cfg.Now, chainID: cfg.ChainID}
	if c.now == nil {
		c.now = time.Now
	}
	if err := c.start(ctx, cfg, dbs.New(db, cfg.ChainID)); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) start(ctx context.Context, cfg Config, st store.Store) error {
	newProvider := func(name, addr string) (provider.Provider, error) {
		p, err := lighthttp.New(cfg.ChainID, addr)
		if err != nil {
			return nil, fmt.Errorf("lightclient: %s %s: %w", name, addr, err)
		}
		return &recorder{Provider: p, name: fmt.Sprintf("%s (%s)", name, addr), j: c.journal, log: c.log}, nil
	}
	primary, err := newProvider("primary", cfg.Primary)
	if err != nil {
		return err
	}
	witnesses := make([]provider.Provider, len(cfg.Witnesses))
	for i, w := range cfg.Witnesses {
		if witnesses[i], err = newProvider(fmt.Sprintf("witness %d", i), w); err != nil {
			return err
		}
	}

	opts := []light.Option{
		light.Logger(cmtlog.New(c.log, cmtlog.Options{QuietModules: []string{}})),
		light.ConfirmationFunction(func(action string) bool {
			// The user's trust options win over the store (CometBFT's
			// rule); say so, since it removes verified headers.
			c.log.Warn("trusted store changed to follow the given root of trust", "action", action)
			return true
		}),
	}
	if cfg.Sequential {
		opts = append(opts, light.SequentialVerification())
	} else {
		level := cfg.TrustLevel
		if level.Denominator == 0 {
			level = light.DefaultTrustLevel
		}
		opts = append(opts, light.SkippingVerification(level))
	}
	if cfg.MaxClockDrift > 0 {
		opts = append(opts, light.MaxClockDrift(cfg.MaxClockDrift))
	}
	if cfg.MaxBlockLag > 0 {
		opts = append(opts, light.MaxBlockLag(cfg.MaxBlockLag))
	}

	mark := c.journal.len()
	if cfg.TrustHeight == 0 {
		last, err := st.LastLightBlockHeight()
		if err != nil {
			return fmt.Errorf("lightclient: trusted store: %w", err)
		}
		if last <= 0 {
			return fmt.Errorf("%w: the trusted store is empty; give a trusted height and hash", ErrNoTrust)
		}
		lc, err := light.NewClientFromTrustedStore(cfg.ChainID, cfg.TrustingPeriod, primary, witnesses, st, opts...)
		if err != nil {
			seen, _ := c.journal.since(mark)
			return classify("resume from the trusted store", err, seen)
		}
		c.lc = lc
		c.log.Info("light client resumed", "trusted_height", last)
		return nil
	}

	// CometBFT reports a wrong trusted hash as an untyped error; check it
	// first, so that the most likely user mistake has a name. Skipped when
	// the store already holds exactly this header.
	if lb, err := st.LightBlock(cfg.TrustHeight); err != nil || !bytes.Equal(lb.Hash(), cfg.TrustHash) {
		lb, err := primary.LightBlock(ctx, cfg.TrustHeight)
		if err != nil {
			seen, _ := c.journal.since(mark)
			return classify(fmt.Sprintf("fetch the trusted header %d", cfg.TrustHeight), err, seen)
		}
		if !bytes.Equal(lb.Hash(), cfg.TrustHash) {
			return fmt.Errorf("%w: primary %s has %X at height %d, trusted hash is %X",
				ErrTrustMismatch, cfg.Primary, lb.Hash(), cfg.TrustHeight, cfg.TrustHash)
		}
	}
	lc, err := light.NewClient(ctx, cfg.ChainID, light.TrustOptions{
		Period: cfg.TrustingPeriod, Height: cfg.TrustHeight, Hash: cfg.TrustHash,
	}, primary, witnesses, st, opts...)
	if err != nil {
		seen, _ := c.journal.since(mark)
		return classify(fmt.Sprintf("start from trusted height %d", cfg.TrustHeight), err, seen)
	}
	c.lc = lc
	c.log.Info("light client started", "trusted_height", cfg.TrustHeight)
	return nil
}

// Close closes the trusted store.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.Close()
}

// ChainID is the chain the client verifies.
func (c *Client) ChainID() string { return c.chainID }

// LatestHeight is the highest height verified so far (0 if none).
func (c *Client) LatestHeight() (int64, error) {
	h, err := c.lc.LastTrustedHeight()
	if err != nil {
		return 0, fmt.Errorf("lightclient: trusted store: %w", err)
	}
	return max(h, 0), nil
}

// Misbehavior lists every invalid light block a provider sent since the
// client started (CometBFT drops such providers; this says who and why).
func (c *Client) Misbehavior() []Misbehavior {
	m, _ := c.journal.since(0)
	return m
}

// Sync verifies the primary's latest header (skipping or sequentially, as
// configured, and cross-checked with the witnesses) and stores it. progress,
// if not nil, is called with (verified height, target height) before and
// after: CometBFT verifies the whole way in one call.
func (c *Client) Sync(ctx context.Context, progress func(height, target int64)) (*types.SignedHeader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mark := c.journal.len()
	fail := func(op string, err error) (*types.SignedHeader, error) {
		seen, _ := c.journal.since(mark)
		return nil, classify(op, err, seen)
	}
	from, err := c.lc.LastTrustedHeight()
	if err != nil {
		return nil, fmt.Errorf("lightclient: trusted store: %w", err)
	}
	// The target, for progress: the primary's latest. If the primary does
	// not answer, Update below replaces it with a witness.
	target := int64(0)
	if lb, err := c.lc.Primary().LightBlock(ctx, 0); err == nil {
		target = lb.Height
	}
	if progress != nil {
		progress(from, max(target, from))
	}
	start := time.Now()
	lb, err := c.lc.Update(ctx, c.now())
	if err != nil {
		return fail("sync to the latest header", err)
	}
	if lb == nil { // nothing newer than what is trusted
		if lb, err = c.lc.TrustedLightBlock(0); err != nil {
			return fail("read the latest trusted header", err)
		}
	}
	if progress != nil {
		progress(lb.Height, lb.Height)
	}
	if lb.Height > from {
		c.log.Info("headers verified", "from", from, "to", lb.Height, "took", time.Since(start))
	}
	return lb.SignedHeader, nil
}

// VerifiedHeader returns the header at height, verified from the trusted
// store (and the witnesses) if it was not already. A height above the
// latest verified one is first synced to; a height the chain has not
// reached is ErrNoHeader.
func (c *Client) VerifiedHeader(ctx context.Context, height int64) (*types.SignedHeader, error) {
	if height <= 0 {
		return nil, fmt.Errorf("%w: height %d", ErrNoHeader, height)
	}
	latest, err := c.LatestHeight()
	if err != nil {
		return nil, err
	}
	if height > latest {
		sh, err := c.Sync(ctx, nil)
		if err != nil {
			return nil, err
		}
		if height > sh.Height {
			return nil, fmt.Errorf("%w: height %d not reached yet (latest verified %d)", ErrNoHeader, height, sh.Height)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mark := c.journal.len()
	lb, err := c.lc.VerifyLightBlockAtHeight(ctx, height, c.now())
	if err != nil {
		seen, _ := c.journal.since(mark)
		return nil, classify(fmt.Sprintf("verify header %d", height), err, seen)
	}
	return lb.SignedHeader, nil
}
