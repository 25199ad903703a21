package lightclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cometbft/cometbft/light/provider"
	"github.com/cometbft/cometbft/types"
)

// Misbehavior is one invalid answer from a provider: which one (its role
// and address), for which height, and what was wrong with it.
type Misbehavior struct {
	Provider string // e.g. "witness 0 (http://127.0.0.1:26657)"
	Height   int64  // 0: the latest
	Err      error
	At       time.Time
}

func (m Misbehavior) String() string {
	h := "latest"
	if m.Height > 0 {
		h = fmt.Sprint(m.Height)
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

// recorder is a provider that notes the invalid light blocks its inner
// provider returns. CometBFT classifies provider errors as benign (no
// answer, no such height) or malicious (anything else) and silently drops a
// malicious provider; the recorder keeps the evidence of why, so that the
// client's errors and logs can name the liar.
type recorder struct {
	provider.Provider
	name string
	j    *journal
	log  *slog.Logger
}

var _ provider.Provider = (*recorder)(nil)

func (r *recorder) LightBlock(ctx context.Context, height int64) (*types.LightBlock, error) {
	lb, err := r.Provider.LightBlock(ctx, height)
	if err == nil || benign(err) {
		return lb, err
	}
	m := Misbehavior{Provider: r.name, Height: height, Err: err, At: time.Now()}
	r.j.add(m)
	r.log.Warn("provider sent an invalid light block", "provider", r.name, "height", height, "err", err)
	return lb, err
}

func (r *recorder) String() string { return r.name }

// benign reports whether err is one CometBFT does not hold against a
// provider (no answer, no such height, transport failures); only an
// invalid light block (provider.ErrBadLightBlock) counts as lying.
func benign(err error) bool {
	var bad provider.ErrBadLightBlock
	return !errors.As(err, &bad)
}
