package retain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/retain"
)

func TestCheck(t *testing.T) {
	net := retain.Rules{EvidenceMaxAgeBlocks: 100, TrustingPeriod: time.Hour, BlockInterval: time.Second} // 3600 blocks
	for i, tc := range []struct {
		blocks int64
		rules  retain.Rules
		rule   string // "" means accepted
		need   int64
	}{
		// 0: zero keeps every block and always passes.
		{0, net, "", 0},
		// 1: negative windows are refused.
		{-1, net, retain.RuleNegative, 0},
		// 2: a window equal to the evidence age is one short.
		{100, net, retain.RuleEvidence, 101},
		// 3: above evidence age, below the trusting period in blocks.
		{3599, net, retain.RuleLightClient, 3600},
		// 4: exactly the trusting period in blocks.
		{3600, net, "", 0},
		// 5: the trusting period rounds up to a whole block.
		{2, retain.Rules{EvidenceMaxAgeBlocks: 1, TrustingPeriod: 2500 * time.Millisecond, BlockInterval: time.Second}, retain.RuleLightClient, 3},
		// 6: no block interval: no finite window is safe.
		{5000, retain.Rules{EvidenceMaxAgeBlocks: 1, TrustingPeriod: time.Hour}, retain.RuleLightClient, 0},
		// 7: no light clients to serve: only evidence counts.
		{2, retain.Rules{EvidenceMaxAgeBlocks: 1}, "", 0},
	} {
		err := retain.Check(tc.blocks, tc.rules)
		if tc.rule == "" {
			if err != nil {
				t.Errorf("%d: %v", i, err)
			}
			continue
		}
		var we *retain.WindowError
		if !errors.As(err, &we) || !errors.Is(err, retain.ErrWindow) {
			t.Errorf("%d: err = %v, want a WindowError", i, err)
			continue
		}
		if we.Rule != tc.rule || we.Need != tc.need || we.Blocks != tc.blocks {
			t.Errorf("%d: got rule %q need %d blocks %d, want %q %d %d", i, we.Rule, we.Need, we.Blocks, tc.rule, tc.need, tc.blocks)
		}
	}
}

func TestRetainHeight(t *testing.T) {
	snap := int64(0)
	p := retain.Policy{Blocks: 10, OldestSnapshot: func() int64 { return snap }}
	for i, tc := range []struct {
		height, snap, want int64
	}{
		{1, 0, 0},     // 0: young chain: nothing to prune
		{10, 0, 0},    // 1: exactly the window
		{11, 0, 2},    // 2: keep 2..11, ten blocks
		{100, 0, 91},  // 3
		{100, 50, 50}, // 4: an older snapshot holds blocks back
		{100, 95, 91}, // 5: a newer snapshot does not prune more
	} {
		snap = tc.snap
		if got := p.RetainHeight(tc.height); got != tc.want {
			t.Errorf("%d: RetainHeight(%d) = %d, want %d", i, tc.height, got, tc.want)
		}
	}
	if got := (retain.Policy{}).RetainHeight(1000); got != 0 {
		t.Errorf("zero policy retains from %d", got)
	}
}
