package lightclient

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/readproof"
)

// Headers is what a Reader needs from a light client: *Client implements
// it. Both methods return only headers verified from the root of trust.
type Headers interface {
	// Sync verifies the latest header of the primary, cross-checked with
	// the witnesses.
	Sync(ctx context.Context, progress func(height, target int64)) (*types.SignedHeader, error)
	// VerifiedHeader verifies the header at a height not above the
	// latest one synced.
	VerifiedHeader(ctx context.Context, height int64) (*types.SignedHeader, error)
}

var _ Headers = (*Client)(nil)

// Defaults of ReaderOptions.
const (
	DefaultMaxLag       = 10
	DefaultWaitTimeout  = 30 * time.Second
	DefaultPollInterval = 200 * time.Millisecond
	// MaxBundleBytes bounds a gateway's answer.
	MaxBundleBytes = 64 << 20
)

// ReaderOptions tune a Reader; the zero value takes the defaults.
type ReaderOptions struct {
	// MaxLag is how many blocks a bundle's height may be behind the latest
	// height verified from the primary and witnesses (ErrStale beyond).
	// The node serves its latest state, so an honest bundle is 0-2 blocks
	// behind; an older one is a replay of a state that may have changed.
	MaxLag int64
	// WaitTimeout bounds the wait for header Height+1, which the chain
	// produces one block interval after the bundle's height.
	WaitTimeout time.Duration
	// PollInterval is how often the latest header is asked for meanwhile.
	PollInterval time.Duration
	// PageRows asks pages of at most this many rows (0: the node's
	// maximum, 10,000).
	PageRows int
	// HTTPClient talks to the gateway; nil is a client with a 30 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Reader reads rows from an untrusted gateway and returns them only once a
// proof bundle shows them to be the state that a verified header commits
// to. The gateway is trusted for nothing: it can only fail to answer.
type Reader struct {
	gateway string
	headers Headers
	opts    ReaderOptions
	log     *slog.Logger
}

// NewReader returns a Reader of the gateway at base URL gateway (e.g.
// http://127.0.0.1:8080) that verifies against headers.
func NewReader(gateway string, headers Headers, opts ReaderOptions) *Reader {
	if opts.MaxLag <= 0 {
		opts.MaxLag = DefaultMaxLag
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.PageRows == 1 {
		opts.PageRows = 2 // a page repeats the previous one's last row
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{gateway: strings.TrimRight(gateway, "/"), headers: headers, opts: opts, log: log}
}

// Read is a verified answer: the rows of the state after block Height.
type Read struct {
	Height int64
	// Kind is KindRow or KindAbsent for a key, KindRange for a prefix.
	Kind readproof.Kind
	Rows []readproof.VerifiedRow
	// Header is the verified header Height+1 whose app hash the proof
	// matched.
	Header *types.SignedHeader
}

// GatewayError is an error answer of the gateway (its JSON error body,
// node/gateway/errors.go). It wraps ErrGateway.
type GatewayError struct {
	Status  int
	Code    string // stable, e.g. "not_found", "bad_request"
	Message string
}

func (e *GatewayError) Error() string {
	return fmt.Sprintf("%v: HTTP %d %s: %s", ErrGateway, e.Status, e.Code, e.Message)
}

// Unwrap makes errors.Is(err, ErrGateway) hold.
func (e *GatewayError) Unwrap() error { return ErrGateway }

// Get reads the row with the key (commitment.Key): a Read of KindRow with
// the row, or of KindAbsent with none, both proven.
func (r *Reader) Get(ctx context.Context, key []byte) (*Read, error) {
	b, err := r.fetch(ctx, url.Values{"key": {hex.EncodeToString(key)}})
	if err != nil {
		return nil, err
	}
	kind := readproof.KindRow
	if b.Kind == readproof.KindAbsent {
		kind = readproof.KindAbsent
	}
	return r.Verify(ctx, kind, key, b)
}

// Range reads every row whose key starts with prefix, proven complete. It
// asks the gateway's GET /v1/proof for pages (RangePages), so a range of
// any size is proven.
func (r *Reader) Range(ctx context.Context, prefix []byte) (*Read, error) {
	return r.RangePages(ctx, prefix, func(ctx context.Context, after []byte, height int64) (*readproof.Bundle, error) {
		q := url.Values{"prefix": {hex.EncodeToString(prefix)}, "page": {"true"}}
		if r.opts.PageRows > 0 {
			q.Set("limit", strconv.Itoa(r.opts.PageRows))
		}
		if after != nil {
			q.Set("after", hex.EncodeToString(after))
			q.Set("height", strconv.FormatInt(height, 10))
		}
		return r.fetch(ctx, q)
	})
}

// PageFetch asks an untrusted source for the page of a range that starts
// at after (nil: the first page, at the latest height) at height (the
// first page's; 0 for the first page).
type PageFetch func(ctx context.Context, after []byte, height int64) (*readproof.Bundle, error)

// RangePages proves the complete range of prefix from pages that fetch
// gets (readproof.VerifyPage): the first page at the latest height, each
// next one at the same height starting with the previous page's last row,
// until a page has nothing after it; all against the one verified header
// Height+1. The source may answer the first page with the whole range's
// proof (an empty range). A failure to fetch a page after the first (the
// node lost the height, or the rows changed) makes it start again, at most
// three times.
func (r *Reader) RangePages(ctx context.Context, prefix []byte, fetch PageFetch) (*Read, error) {
	const maxRestarts = 3
	var lastErr error
	for range maxRestarts + 1 {
		read, err := r.pages(ctx, prefix, fetch)
		if err == nil || !errors.Is(err, errMidway) {
			return read, err
		}
		lastErr = err
		r.log.Info("range changed while paging; starting again", "prefix", hex.EncodeToString(prefix), "err", err)
	}
	return nil, lastErr
}

// errMidway marks a failure to fetch a page after the first.
var errMidway = errors.New("after the first page")

func (r *Reader) pages(ctx context.Context, prefix []byte, fetch PageFetch) (*Read, error) {
	var (
		after []byte
		out   *Read
	)
	for {
		var height int64
		if out != nil {
			height = out.Height
		}
		b, err := fetch(ctx, after, height)
		if err != nil {
			if out != nil {
				return nil, fmt.Errorf("%w: %w", errMidway, err)
			}
			return nil, err
		}
		if out == nil && b != nil && b.Kind == readproof.KindRange {
			return r.Verify(ctx, readproof.KindRange, prefix, b)
		}
		if b == nil {
			return nil, fmt.Errorf("lightclient: %w: no page", readproof.ErrWrongAnswer)
		}
		if out != nil && b.Height != out.Height {
			return nil, fmt.Errorf("lightclient: page from %s: %w: page at height %d, the first page's is %d",
				r.gateway, readproof.ErrWrongAnswer, b.Height, out.Height)
		}
		if b.Kind != readproof.KindPage || !bytes.Equal(b.Key, prefix) || !bytes.Equal(b.After, after) {
			// The question's check needs no header.
			_, _, err := readproof.VerifyPage(nil, prefix, after, b)
			return nil, fmt.Errorf("lightclient: page from %s: %w", r.gateway, err)
		}
		if out == nil {
			sh, err := r.waitHeader(ctx, b.Height, r.opts.MaxLag)
			if err != nil {
				return nil, err
			}
			out = &Read{Height: b.Height, Kind: readproof.KindRange, Rows: []readproof.VerifiedRow{}, Header: sh}
		}
		rows, more, err := readproof.VerifyPage(out.Header.AppHash, prefix, after, b)
		if err != nil {
			r.log.Warn("gateway page refused", "gateway", r.gateway, "height", b.Height, "prefix", hex.EncodeToString(prefix), "err", err)
			return nil, fmt.Errorf("lightclient: page from %s against verified header %d: %w", r.gateway, out.Header.Height, err)
		}
		if after != nil {
			rows = rows[1:] // the previous page's last row, repeated
		}
		out.Rows = append(out.Rows, rows...)
		if !more {
			return out, nil
		}
		if after != nil && len(rows) == 0 {
			return nil, fmt.Errorf("lightclient: page from %s: %w: a page of one row that is not the last", r.gateway, readproof.ErrWrongAnswer)
		}
		after = b.Rows[len(b.Rows)-1].Key
	}
}

// Verify checks a bundle obtained elsewhere (a private table's bundle,
// fetched with a signed challenge) as the answer to (kind, key): it
// verifies header b.Height+1, waiting for it if needed, refuses a stale
// height (ErrStale), and then runs readproof.Verify against the header's
// app hash.
func (r *Reader) Verify(ctx context.Context, kind readproof.Kind, key []byte, b *readproof.Bundle) (*Read, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: no bundle", readproof.ErrWrongAnswer)
	}
	if b.Kind != kind || !bytes.Equal(b.Key, key) || b.Height < 1 {
		// Refuse a wrong answer before waiting for a header: readproof's
		// first check needs no app hash.
		_, err := readproof.Verify(nil, kind, key, b)
		return nil, fmt.Errorf("lightclient: bundle from %s: %w", r.gateway, err)
	}
	sh, err := r.waitHeader(ctx, b.Height, r.opts.MaxLag)
	if err != nil {
		return nil, err
	}
	rows, err := readproof.Verify(sh.AppHash, kind, key, b)
	if err != nil {
		r.log.Warn("gateway bundle refused", "gateway", r.gateway, "height", b.Height, "kind", kind,
			"key", hex.EncodeToString(key), "err", err)
		return nil, fmt.Errorf("lightclient: bundle from %s against verified header %d: %w", r.gateway, sh.Height, err)
	}
	return &Read{Height: b.Height, Kind: kind, Rows: rows, Header: sh}, nil
}

// waitHeader syncs to the latest header, refuses a height more than maxLag
// behind it (0: no bound), and returns the verified header height+1,
// polling until the chain has produced it or WaitTimeout passes.
func (r *Reader) waitHeader(ctx context.Context, height, maxLag int64) (*types.SignedHeader, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.WaitTimeout)
	defer cancel()
	var tick *time.Ticker
	for {
		latest, err := r.headers.Sync(ctx, nil)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil, fmt.Errorf("%w: header %d: no verified header within %s: %w", ErrNoHeader, height+1, r.opts.WaitTimeout, err)
			}
			return nil, err
		}
		if lag := latest.Height - height; maxLag > 0 && lag > maxLag {
			return nil, fmt.Errorf("%w: bundle of height %d is %d blocks behind the latest verified height %d (at most %d allowed)",
				ErrStale, height, lag, latest.Height, maxLag)
		}
		if latest.Height > height {
			if latest.Height == height+1 {
				return latest, nil
			}
			return r.headers.VerifiedHeader(ctx, height+1)
		}
		if tick == nil {
			tick = time.NewTicker(r.opts.PollInterval)
			defer tick.Stop()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: header %d not produced within %s (latest verified %d): %w",
				ErrNoHeader, height+1, r.opts.WaitTimeout, latest.Height, ctx.Err())
		case <-tick.C:
		}
	}
}

// fetch asks the gateway's /v1/proof for a bundle.
func (r *Reader) fetch(ctx context.Context, q url.Values) (*readproof.Bundle, error) {
	u := r.gateway + "/v1/proof?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGateway, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrGateway, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: read body: %w", ErrGateway, u, err)
	}
	if len(body) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: GET %s: body over %d bytes", ErrGateway, u, MaxBundleBytes)
	}
	if resp.StatusCode != http.StatusOK {
		ge := &GatewayError{Status: resp.StatusCode, Code: "unknown", Message: strings.TrimSpace(string(body))}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
			ge.Code, ge.Message = eb.Error.Code, eb.Error.Message
		}
		if len(ge.Message) > 512 {
			ge.Message = ge.Message[:512] + "…"
		}
		return nil, ge
	}
	var b readproof.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("%w: GET %s: body is not a bundle: %w", ErrGateway, u, err)
	}
	return &b, nil
}
