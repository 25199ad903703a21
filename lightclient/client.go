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
	"slices"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
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

	// RequestTimeout bounds each request to a provider (zero:
	// DefaultRequestTimeout). A provider that does not answer within it
	// is named in the error and another one is used if there is one.
	RequestTimeout time.Duration
	// MaxResponseBytes caps each answer of a provider (zero:
	// DefaultMaxResponseBytes); a longer one fails with
	// ErrResponseTooLarge.
	MaxResponseBytes int64
	// MaxHeaderAge bounds, by the local clock, the age of the latest
	// header Sync returns (ErrStaleHeader beyond): reads are checked
	// against no older state. Zero: DefaultMaxHeaderAge; negative: no
	// bound.
	MaxHeaderAge time.Duration
	// AllowWitnessDown lets New start from a trusted height although a
	// witness does not answer for it (it is logged). By default every
	// witness must answer and agree (ErrWitnessDown).
	AllowWitnessDown bool

	Logger *slog.Logger
	// Now is the clock the verification uses; nil is time.Now.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMaxResponseBytes is far above a light block of 10,000
	// validators (CometBFT's cap on validator pages), about 2 MB.
	DefaultMaxResponseBytes = 16 << 20
	// DefaultMaxHeaderAge is a minute: blocks come every second or so
	// (empty ones too), so an older latest header means a halted chain
	// or providers serving an old state.
	DefaultMaxHeaderAge = time.Minute
)

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
	st      store.Store
	journal *journal
	log     *slog.Logger
	now     func() time.Time
	chainID string
	cfg     Config
	opts    []light.Option
	// providers[0] is the primary, then the witnesses in order.
	providers []*recorder
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
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxHeaderAge == 0 {
		cfg.MaxHeaderAge = DefaultMaxHeaderAge
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
	c := &Client{db: db, st: dbs.New(db, cfg.ChainID), journal: &journal{}, log: logger, now: cfg.Now,
		chainID: cfg.ChainID, cfg: cfg}
	if c.now == nil {
		c.now = time.Now
	}
	if err := c.start(ctx, cfg, c.st); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) start(ctx context.Context, cfg Config, st store.Store) error {
	newProvider := func(name, addr string) (*recorder, error) {
		p, err := newRPCProvider(cfg.ChainID, addr, cfg.MaxResponseBytes)
		if err != nil {
			return nil, fmt.Errorf("lightclient: %s %s: %w", name, addr, err)
		}
		return &recorder{Provider: p, name: fmt.Sprintf("%s (%s)", name, addr), timeout: cfg.RequestTimeout,
			j: c.journal, log: c.log}, nil
	}
	primary, err := newProvider("primary", cfg.Primary)
	if err != nil {
		return err
	}
	c.providers = []*recorder{primary}
	witnesses := make([]provider.Provider, len(cfg.Witnesses))
	for i, w := range cfg.Witnesses {
		r, err := newProvider(fmt.Sprintf("witness %d", i), w)
		if err != nil {
			return err
		}
		witnesses[i] = r
		c.providers = append(c.providers, r)
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

	c.opts = opts
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
	if err := c.checkWitnesses(ctx, cfg); err != nil {
		return err
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
	// From the store, not c.lc: Sync replaces c.lc under c.mu.
	h, err := c.st.LastLightBlockHeight()
	if err != nil {
		return 0, fmt.Errorf("lightclient: trusted store: %w", err)
	}
	return max(h, 0), nil
}

// Misbehavior lists every failed answer of a provider (an invalid light
// block, or none) since the client started (CometBFT drops such providers; this says who and why).
func (c *Client) Misbehavior() []Misbehavior {
	m, _ := c.journal.since(0)
	return m
}

// Sync verifies the latest header that two providers can show and stores
// it:
//
//  1. Every provider (primary and witnesses) is asked for its latest
//     header at once, each within RequestTimeout; one that fails is named
//     (*ProviderError, or ErrBadProvider for an invalid light block).
//  2. The target is the second-highest height reported: the highest one
//     that one provider can serve and another can confirm. Fewer than two
//     answers: ErrNoWitness, naming the providers that failed.
//  3. It is verified from the trusted store (skipping or sequentially, as
//     configured) with CometBFT's light client, served by the configured
//     primary if it reached the target, else by the first witness that
//     did, and cross-checked with every other provider that reached it.
//     The clock is read after step 1, so that a slow provider does not
//     make a fresh header look like one from the future.
//  4. Its age by the clock must not exceed MaxHeaderAge (ErrStaleHeader,
//     naming the providers that lag): a primary frozen at an old height
//     cannot hold the client there.
//
// progress, if not nil, is called with (verified height, target height)
// before and after: CometBFT verifies the whole way in one call.
func (c *Client) Sync(ctx context.Context, progress func(height, target int64)) (*types.SignedHeader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mark := c.journal.len()
	from, err := c.lc.LastTrustedHeight()
	if err != nil {
		return nil, fmt.Errorf("lightclient: trusted store: %w", err)
	}
	probes := c.probe(ctx)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lightclient: ask the providers for their latest header: %w", err)
	}
	now := c.now()
	plan, err := planSync(probes)
	if err != nil {
		return nil, err
	}
	if progress != nil {
		progress(from, max(plan.target, from))
	}
	var (
		lb    *types.LightBlock
		start = time.Now()
	)
	if plan.target > from {
		ws := make([]provider.Provider, len(plan.witnesses))
		for i, w := range plan.witnesses {
			ws[i] = c.providers[w]
		}
		lc, err := light.NewClientFromTrustedStore(c.chainID, c.cfg.TrustingPeriod, c.providers[plan.primary], ws, c.st, c.opts...)
		if err != nil {
			return nil, fmt.Errorf("lightclient: trusted store: %w", err)
		}
		c.lc = lc
		if lb, err = lc.VerifyLightBlockAtHeight(ctx, plan.target, now); err != nil {
			seen, _ := c.journal.since(mark)
			err = classify(fmt.Sprintf("verify header %d", plan.target), err, seen)
			return nil, &classedError{msg: err.Error() + " [" + plan.report + "]", errs: []error{err}}
		}
		c.log.Info("headers verified", "from", from, "to", lb.Height, "took", time.Since(start),
			"primary", c.providers[plan.primary].name)
	} else if lb, err = c.lc.TrustedLightBlock(0); err != nil {
		seen, _ := c.journal.since(mark)
		return nil, classify("read the latest trusted header", err, seen)
	}
	if progress != nil {
		progress(lb.Height, lb.Height)
	}
	if limit := c.cfg.MaxHeaderAge; limit > 0 {
		// Against the clock read when the providers answered: the time
		// spent verifying is not the header's age.
		if age := now.Sub(lb.Time); age > limit {
			return nil, fmt.Errorf("%w: header %d is from %s, %s ago, more than the %s allowed: the chain halted, the providers serve an old state, or this machine's clock is wrong [%s]",
				ErrStaleHeader, lb.Height, lb.Time.UTC().Format(time.RFC3339), age.Round(100*time.Millisecond), limit, plan.report)
		}
	}
	return lb.SignedHeader, nil
}

// probe is one provider's answer for its latest header.
type probe struct {
	name string
	lb   *types.LightBlock
	err  error
}

// probe asks every provider for its latest header, concurrently.
func (c *Client) probe(ctx context.Context) []probe {
	out := make([]probe, len(c.providers))
	var wg sync.WaitGroup
	for i, p := range c.providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lb, err := p.LightBlock(ctx, 0)
			if err != nil && benign(err) {
				err = &ProviderError{Provider: p.name, Err: err}
			}
			out[i] = probe{name: p.name, lb: lb, err: err}
		}()
	}
	wg.Wait()
	return out
}

// syncPlan is what Sync verifies: the target height, the index of the
// provider that serves it and of those that confirm it, and a line that
// reports every provider's answer.
type syncPlan struct {
	target    int64
	primary   int
	witnesses []int
	report    string
}

// planSync chooses the target height and the providers from the probes
// (probes[0] is the configured primary). Pure.
func planSync(probes []probe) (syncPlan, error) {
	var (
		heights []int64
		parts   []string
		failed  []error
		bad     bool
	)
	for _, p := range probes {
		if p.err != nil {
			failed = append(failed, p.err)
			var b provider.ErrBadLightBlock
			bad = bad || errors.As(p.err, &b)
			if errors.As(p.err, new(*ProviderError)) {
				parts = append(parts, p.err.Error())
			} else {
				parts = append(parts, fmt.Sprintf("%s sent an invalid light block for the latest height: %v", p.name, p.err))
			}
			continue
		}
		heights = append(heights, p.lb.Height)
		parts = append(parts, fmt.Sprintf("%s at height %d", p.name, p.lb.Height))
	}
	report := strings.Join(parts, "; ")
	if len(heights) < 2 {
		errs := []error{ErrNoWitness}
		if bad {
			errs = append(errs, ErrBadProvider)
		}
		return syncPlan{}, &classedError{
			msg: fmt.Sprintf("%v: %d of %d providers answered, and a header needs one to serve it and another to confirm it: %s",
				ErrNoWitness, len(heights), len(probes), report),
			errs: append(errs, failed...),
		}
	}
	slices.Sort(heights)
	top := heights[len(heights)-1]
	var behind []string
	for _, p := range probes {
		if p.err == nil && p.lb.Height < top {
			behind = append(behind, p.name)
		}
	}
	if len(behind) > 0 {
		report += fmt.Sprintf("; behind height %d: %s", top, strings.Join(behind, ", "))
	}
	plan := syncPlan{target: heights[len(heights)-2], primary: -1, report: report}
	for i, p := range probes {
		if p.err != nil || p.lb.Height < plan.target {
			continue
		}
		if plan.primary < 0 {
			plan.primary = i
		} else {
			plan.witnesses = append(plan.witnesses, i)
		}
	}
	return plan, nil
}

// checkWitnesses asks every witness for the trusted header before the
// client starts from it: each must answer with the trusted hash. A witness
// that does not answer is ErrWitnessDown unless cfg.AllowWitnessDown; one
// with another hash is ErrWitnessDisagreement.
func (c *Client) checkWitnesses(ctx context.Context, cfg Config) error {
	errs := make([]error, len(c.providers)-1)
	var wg sync.WaitGroup
	for i, w := range c.providers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lb, err := w.LightBlock(ctx, cfg.TrustHeight)
			switch {
			case err != nil && benign(err):
				errs[i] = &ProviderError{Provider: w.name, Height: cfg.TrustHeight, Err: err}
			case err != nil && errors.As(err, new(*ProviderError)):
				errs[i] = err
			case err != nil:
				errs[i] = fmt.Errorf("%s sent an invalid light block for height %d: %w", w.name, cfg.TrustHeight, err)
			case !bytes.Equal(lb.Hash(), cfg.TrustHash):
				errs[i] = fmt.Errorf("%w: %s has %X at height %d, trusted hash is %X",
					ErrWitnessDisagreement, w.name, lb.Hash(), cfg.TrustHeight, cfg.TrustHash)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lightclient: ask the witnesses for the trusted header: %w", err)
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, ErrWitnessDisagreement) {
			return err
		}
		if cfg.AllowWitnessDown {
			c.log.Warn("starting although a witness did not answer for the trusted header", "err", err)
			continue
		}
		var b provider.ErrBadLightBlock
		if errors.As(err, &b) {
			return &classedError{msg: fmt.Sprintf("%v: %v", ErrBadProvider, err), errs: []error{ErrBadProvider, err}}
		}
		return &classedError{msg: fmt.Sprintf("%v: %v", ErrWitnessDown, err), errs: []error{ErrWitnessDown, err}}
	}
	return nil
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
