package lightclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
)

// Misbehavior is one failed answer from a provider: which one (its role
// and address), for which height, and what was wrong with it: an invalid
// light block, or no usable answer at all (Transport).
type Misbehavior struct {
	Provider string // e.g. "witness 0 (http://127.0.0.1:26657)"
	Height   int64  // 0: the latest
	Err      error
	At       time.Time
	// Transport: the provider did not answer with a light block (an HTTP
	// error, a body that is not JSON-RPC, an oversized or slow body, a
	// timeout) rather than answering with an invalid one.
	Transport bool
}

func (m Misbehavior) String() string {
	h := "latest"
	if m.Height > 0 {
		h = fmt.Sprint(m.Height)
	}
	if m.Transport {
		return fmt.Sprintf("%s failed to answer for height %s: %v", m.Provider, h, m.Err)
	}
	return fmt.Sprintf("%s sent an invalid light block for height %s: %v", m.Provider, h, m.Err)
}

// journal collects misbehaviour from every provider of one client.
type journal struct {
	mu  sync.Mutex
	all []Misbehavior
}

func (j *journal) add(m Misbehavior) {
	j.mu.Lock()
	j.all = append(j.all, m)
	j.mu.Unlock()
}

// since returns the entries from index i on, and the current length.
func (j *journal) since(i int) ([]Misbehavior, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Misbehavior(nil), j.all[i:]...), len(j.all)
}

func (j *journal) len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.all)
}

// ProviderError is a provider's failure to answer with a light block: a
// transport failure, an HTTP error, a body that is not JSON-RPC or is over
// MaxResponseBytes, or no answer within the request timeout. It names the
// provider (role and address) and wraps ErrProvider and the cause.
type ProviderError struct {
	Provider string // e.g. "primary (http://127.0.0.1:26657)"
	Height   int64  // 0: the latest
	Err      error
}

func (e *ProviderError) Error() string {
	h := "the latest header"
	if e.Height > 0 {
		h = fmt.Sprintf("header %d", e.Height)
	}
	return fmt.Sprintf("%s failed to answer for %s: %v", e.Provider, h, e.Err)
}

// Unwrap returns ErrProvider and the cause.
func (e *ProviderError) Unwrap() []error { return []error{ErrProvider, e.Err} }

// recorder is a provider that bounds each request by a timeout and notes
// the failures of its inner provider. CometBFT classifies provider errors
// as benign (no answer, no such height) or not (anything else) and
// silently drops a provider of the second kind; the recorder keeps the
// evidence of why, so that the client's errors and logs can name the liar.
// Errors other than CometBFT's benign sentinels come back as
// *ProviderError.
type recorder struct {
	provider.Provider
	name    string
	timeout time.Duration
	j       *journal
	log     *slog.Logger
}

var _ provider.Provider = (*recorder)(nil)

func (r *recorder) LightBlock(ctx context.Context, height int64) (*types.LightBlock, error) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	lb, err := r.Provider.LightBlock(cctx, height)
	switch {
	case err == nil:
		return lb, nil
	case benign(err):
		return lb, err // CometBFT compares these by value
	case ctx.Err() != nil:
		return nil, ctx.Err() // the caller gave up: nobody's fault
	}
	if cctx.Err() != nil {
		// Not context.DeadlineExceeded itself: the caller's context is
		// alive, and CometBFT treats a deadline as the caller's.
		err = fmt.Errorf("no answer within %s (request timeout)", r.timeout)
	}
	var bad provider.ErrBadLightBlock
	transport := !errors.As(err, &bad)
	r.j.add(Misbehavior{Provider: r.name, Height: height, Err: err, At: time.Now(), Transport: transport})
	if transport {
		r.log.Warn("provider failed to answer", "provider", r.name, "height", height, "err", err)
		return nil, &ProviderError{Provider: r.name, Height: height, Err: err}
	}
	r.log.Warn("provider sent an invalid light block", "provider", r.name, "height", height, "err", err)
	return nil, err
}

func (r *recorder) String() string { return r.name }

// benign reports whether err is one of the answers CometBFT does not hold
// against a provider: no answer after retries, no such height (yet).
func benign(err error) bool {
	return err == provider.ErrNoResponse || err == provider.ErrLightBlockNotFound || err == provider.ErrHeightTooHigh
}

// newRPCProvider is a CometBFT RPC provider whose every answer is capped at
// maxBytes (ErrResponseTooLarge). Requests are bounded by the recorder's
// context timeout, not by http.Client.Timeout: CometBFT retries an error
// that says "Timeout exceeded" five times with back-off, for a minute.
func newRPCProvider(chainID, addr string, maxBytes int64) (provider.Provider, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	hc := &http.Client{Transport: &cappedTransport{base: base, max: maxBytes}}
	rc, err := rpchttp.NewWithClient(addr, "/websocket", hc)
	if err != nil {
		return nil, err
	}
	return lighthttp.NewWithClient(chainID, rc), nil
}

// cappedTransport limits every response body to max bytes.
type cappedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: Content-Length %d, limit %d", ErrResponseTooLarge, resp.ContentLength, t.max)
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.max, max: t.max}
	return resp, nil
}

// cappedBody reads at most left bytes, then fails with ErrResponseTooLarge.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
