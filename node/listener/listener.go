// Package listener runs beside consensus on each validator: for every
// enabled chain it polls the chain's driver for new observations (at the
// chain's finality, which the driver applies), and submits what it saw as
// drivers.attest transactions through the node's mempool. Agreement of the
// validators decides what enters state (docs/spec/drivers.md); nothing here
// runs inside a block.
//
// The cursor of each chain (how far its driver has read) is kept in a
// local file, outside consensus state, and advanced only after the
// observations up to it were submitted: after a crash the listener reads
// again from the last saved cursor, and attesting an observation twice is
// a no-op in state.
package listener

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/idos-network/idos-node/node/observation"
)

// Poller is a chain's driver as the listener uses it: the observations
// final after cursor, and the cursor to continue from. A nil cursor means
// from the driver's configured start. node/driverhost implements it by
// running the chain's Wasm driver.
type Poller interface {
	Poll(ctx context.Context, cursor []byte) ([]observation.Grant, []byte, error)
}

// Submitter sends one drivers.attest transaction with the encodings, signed
// by the validator's key, and returns once the node accepted it.
type Submitter interface {
	Attest(ctx context.Context, encodings [][]byte) error
}

// Source is one enabled chain and its driver.
type Source struct {
	// Chain and Contract name the chain config (drivers.Chain); they key
	// the cursor.
	Chain, Contract string
	Poller          Poller
	// Skip, if set, says why this node does not poll the chain (not a
	// validator, no endpoints configured, the driver did not load): the
	// source is only reported in the status file, and its cursor stays.
	Skip string
}

func (s Source) key() string {
	h := sha256.Sum256([]byte(s.Chain + "\x00" + s.Contract))
	return hex.EncodeToString(h[:8])
}

// Listener polls its sources and submits attestations.
type Listener struct {
	Sources []Source
	// Refresh, if set, replaces Sources at the start of every round (the
	// node reads the enabled chains from state and gives each its driver).
	Refresh func(ctx context.Context) ([]Source, error)
	Submit  Submitter
	// Dir holds one cursor file per source.
	Dir string
	// MaxBatch caps the observations of one transaction (the chain's
	// max_observations); 0 means 64.
	MaxBatch int
	// Interval between rounds in Run; 0 means 5 s.
	Interval time.Duration
	Log      *slog.Logger

	// status is what Step last did per source, saved in StatusFile.
	status map[string]ChainStatus
}

// Cursor returns the saved cursor of a source (nil if none).
func (l *Listener) Cursor(s Source) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(l.Dir, s.key()+".cursor"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// saveCursor writes the cursor atomically: a temporary file, synced, then
// renamed over the old one.
func (l *Listener) saveCursor(s Source, c []byte) error {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(l.Dir, s.key()+".cursor")
	f, err := os.CreateTemp(l.Dir, s.key()+".tmp*")
	if err != nil {
		return err
	}
	if _, err := f.Write(c); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

func (l *Listener) log() *slog.Logger {
	if l.Log == nil {
		return slog.Default()
	}
	return l.Log
}

// Step runs one round: each source in order is polled from its cursor, its
// observations submitted in batches, and its cursor saved. An error of one
// source is logged and does not stop the others; Step returns them joined.
func (l *Listener) Step(ctx context.Context) error {
	var errs []error
	if l.Refresh != nil {
		src, err := l.Refresh(ctx)
		if err != nil {
			return fmt.Errorf("enabled chains: %w", err)
		}
		l.Sources = src
	}
	now := time.Now().UTC()
	st := Status{Updated: now, Chains: []ChainStatus{}}
	for _, s := range l.Sources {
		cs := l.status[s.key()]
		cs.Chain, cs.Contract, cs.Skip = s.Chain, s.Contract, s.Skip
		if s.Skip == "" {
			cs.LastPoll = now
			n, err := l.step(ctx, s)
			prev := cs.LastError
			cs.LastError = ""
			if err != nil {
				cs.LastError = err.Error()
				// An error that lasts (an endpoint down) is logged once,
				// then at debug level each round until it changes; one
				// caused by stopping is not worth a warning.
				level := slog.LevelWarn
				if cs.LastError == prev || ctx.Err() != nil {
					level = slog.LevelDebug
				}
				l.log().Log(ctx, level, "driver listener", "chain", s.Chain, "contract", s.Contract, "err", err)
				errs = append(errs, fmt.Errorf("%s %s: %w", s.Chain, s.Contract, err))
			} else {
				cs.LastSuccess = now
				cs.Attested += n
			}
		}
		if c, err := l.Cursor(s); err == nil {
			cs.Cursor = string(c)
		}
		st.Chains = append(st.Chains, cs)
	}
	// A node with no enabled chain writes no file until it has one.
	write := len(st.Chains) > 0 || len(l.status) > 0
	l.status = map[string]ChainStatus{}
	for _, cs := range st.Chains {
		l.status[Source{Chain: cs.Chain, Contract: cs.Contract}.key()] = cs
	}
	if write {
		if err := l.saveStatus(st); err != nil {
			errs = append(errs, fmt.Errorf("status file: %w", err))
		}
	}
	return errors.Join(errs...)
}

// step polls s and submits what it reports; it returns the number of
// observations attested.
func (l *Listener) step(ctx context.Context, s Source) (int, error) {
	cur, err := l.Cursor(s)
	if err != nil {
		return 0, fmt.Errorf("read cursor: %w", err)
	}
	obs, next, err := s.Poller.Poll(ctx, cur)
	if err != nil {
		return 0, fmt.Errorf("poll: %w", err)
	}
	var encs [][]byte
	for _, g := range obs {
		if g.Chain != s.Chain || g.Contract != s.Contract {
			return 0, fmt.Errorf("%w: the driver reported %s %s", observation.ErrInvalid, g.Chain, g.Contract)
		}
		b, err := g.Encode()
		if err != nil {
			return 0, fmt.Errorf("driver output: %w", err) // the cursor stays: nothing is skipped silently
		}
		encs = append(encs, b)
	}
	max := l.MaxBatch
	if max <= 0 {
		max = 64
	}
	for len(encs) > 0 {
		n := min(max, len(encs))
		if err := l.Submit.Attest(ctx, encs[:n]); err != nil {
			return 0, fmt.Errorf("submit: %w", err)
		}
		encs = encs[n:]
	}
	if len(obs) > 0 {
		l.log().Info("attested", "chain", s.Chain, "observations", len(obs))
	}
	return len(obs), l.saveCursor(s, next)
}

// Run calls Step every Interval until ctx ends.
func (l *Listener) Run(ctx context.Context) error {
	iv := l.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		_ = l.Step(ctx) // logged; the next round retries from the saved cursor
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
