// Package retain decides how many blocks a node keeps and checks that the
// window is long enough for the network: CometBFT prunes the block store
// and state store below the RetainHeight the application returns from
// Commit, and the node prunes its transaction index and compacts the
// stores after it (node/runner).
//
// The rules (docs/ARCHITECTURE.md, "Retained blocks"):
//
//   - evidence: a node must keep the blocks evidence may still refer to,
//     evidence.max_age_num_blocks of the genesis consensus parameters;
//   - light clients: a light client trusting a header may ask for any
//     header up to its trusting period later, so the node keeps
//     ceil(trusting period / block interval) blocks. The block interval
//     used is timeout_commit, a lower bound on the real interval, so the
//     estimate errs towards keeping more;
//   - snapshots: blocks from the oldest state-sync snapshot kept are
//     needed to bring a restored node to the tip (Policy.OldestSnapshot;
//     none yet).
package retain

import (
	"errors"
	"fmt"
	"time"
)

// Rule names, as reported in WindowError.
const (
	RuleEvidence    = "evidence.max_age_num_blocks"
	RuleLightClient = "light client trusting period"
	RuleNegative    = "non-negative"
)

// ErrWindow is the class of every refused retain setting.
var ErrWindow = errors.New("retain: window too small for the network")

// WindowError says which rule a retain setting breaks.
type WindowError struct {
	Blocks int64  // the configured window
	Need   int64  // the smallest window the rule allows
	Rule   string // RuleEvidence, RuleLightClient or RuleNegative
	Detail string
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("retain_blocks %d breaks the %s rule: need at least %d (%s)", e.Blocks, e.Rule, e.Need, e.Detail)
}

// Unwrap makes errors.Is(err, ErrWindow) hold.
func (e *WindowError) Unwrap() error { return ErrWindow }

// Rules are the network's needs a retain window must cover.
type Rules struct {
	// EvidenceMaxAgeBlocks is evidence.max_age_num_blocks from the genesis.
	EvidenceMaxAgeBlocks int64
	// TrustingPeriod is the light clients' trusting period.
	TrustingPeriod time.Duration
	// BlockInterval is the shortest time between blocks (timeout_commit).
	BlockInterval time.Duration
}

// TrustingBlocks is the number of blocks produced in the trusting period
// at the shortest block interval, rounded up.
func (r Rules) TrustingBlocks() int64 {
	if r.TrustingPeriod <= 0 {
		return 0
	}
	if r.BlockInterval <= 0 {
		// No lower bound on the interval: no finite window is safe.
		return -1
	}
	return int64((r.TrustingPeriod + r.BlockInterval - 1) / r.BlockInterval)
}

// MinBlocks is the smallest non-zero window Check accepts (for an unbounded
// trusting period in blocks, the evidence rule alone).
func (r Rules) MinBlocks() int64 {
	return max(r.EvidenceMaxAgeBlocks+1, r.TrustingBlocks(), 1)
}

// Check reports whether keeping the last blocks blocks satisfies every
// rule. 0 keeps every block (no pruning) and always passes. Checks, in
// order:
//
//	a) blocks is not negative (RuleNegative);
//	b) blocks > evidence.max_age_num_blocks (RuleEvidence);
//	c) blocks >= ceil(trusting period / block interval) (RuleLightClient).
func Check(blocks int64, r Rules) error {
	if blocks < 0 {
		return &WindowError{Blocks: blocks, Need: 0, Rule: RuleNegative, Detail: "0 keeps every block"}
	}
	if blocks == 0 {
		return nil
	}
	if blocks <= r.EvidenceMaxAgeBlocks {
		return &WindowError{Blocks: blocks, Need: r.EvidenceMaxAgeBlocks + 1, Rule: RuleEvidence,
			Detail: fmt.Sprintf("evidence may refer to the last %d blocks", r.EvidenceMaxAgeBlocks)}
	}
	tb := r.TrustingBlocks()
	if tb < 0 {
		return &WindowError{Blocks: blocks, Need: 0, Rule: RuleLightClient,
			Detail: "timeout_commit is 0, so blocks per trusting period is unbounded; use retain_blocks 0"}
	}
	if blocks < tb {
		return &WindowError{Blocks: blocks, Need: tb, Rule: RuleLightClient,
			Detail: fmt.Sprintf("trusting period %s at one block per %s", r.TrustingPeriod, r.BlockInterval)}
	}
	return nil
}

// Policy turns a committed height into the RetainHeight returned from
// Commit.
type Policy struct {
	// Blocks is how many of the latest blocks to keep; 0 keeps all.
	Blocks int64
	// OldestSnapshot, if set, returns the height of the oldest state-sync
	// snapshot the node still offers (0: none); blocks from it on are kept.
	OldestSnapshot func() int64
}

// RetainHeight is the lowest height to keep after committing height: the
// last Blocks blocks, lowered to the oldest snapshot kept. 0 means prune
// nothing (CometBFT's convention).
func (p Policy) RetainHeight(height int64) int64 {
	if p.Blocks <= 0 || height <= p.Blocks {
		return 0
	}
	h := height - p.Blocks + 1
	if p.OldestSnapshot != nil {
		if s := p.OldestSnapshot(); s > 0 && s < h {
			h = s
		}
	}
	return h
}
