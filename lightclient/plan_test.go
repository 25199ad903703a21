package lightclient

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/light/provider"
	"github.com/cometbft/cometbft/types"
)

// TestPlanSync: which height Sync verifies and which providers serve and
// confirm it, from what each provider said its latest height was.
func TestPlanSync(t *testing.T) {
	at := func(name string, h int64) probe {
		return probe{name: name, lb: &types.LightBlock{SignedHeader: &types.SignedHeader{Header: &types.Header{Height: h}}}}
	}
	down := func(name string) probe {
		return probe{name: name, err: &ProviderError{Provider: name, Err: errors.New("no answer within 1s")}}
	}
	bad := func(name string) probe {
		return probe{name: name, err: provider.ErrBadLightBlock{Reason: errors.New("commit signs another block")}}
	}
	cases := []struct {
		probes    []probe
		target    int64
		primary   int
		witnesses []int
		report    string // a substring
		errs      []error
	}{
		// 0: all at the same height: the primary serves, the witnesses confirm.
		{probes: []probe{at("p", 10), at("w0", 10), at("w1", 10)}, target: 10, primary: 0, witnesses: []int{1, 2}},
		// 1: a witness one block ahead: the second-highest, which all have.
		{probes: []probe{at("p", 10), at("w0", 11)}, target: 10, primary: 0, witnesses: []int{1}},
		// 2: the primary ahead of its only witness: what the witness has.
		{probes: []probe{at("p", 12), at("w0", 10)}, target: 10, primary: 0, witnesses: []int{1}},
		// 3: a frozen primary and two witnesses: they serve and confirm; the primary is named behind.
		{probes: []probe{at("p", 5), at("w0", 40), at("w1", 41)}, target: 40, primary: 1, witnesses: []int{2},
			report: "behind height 41: p, w0"},
		// 4: a frozen primary and one witness: the frozen height (the clock decides next).
		{probes: []probe{at("p", 5), at("w0", 40)}, target: 5, primary: 0, witnesses: []int{1}, report: "behind height 40: p"},
		// 5: a primary that does not answer, two witnesses: they take over.
		{probes: []probe{down("p"), at("w0", 9), at("w1", 9)}, target: 9, primary: 1, witnesses: []int{2},
			report: "p failed to answer"},
		// 6: a primary that does not answer, one witness: nobody to confirm.
		{probes: []probe{down("p"), at("w0", 9)}, errs: []error{ErrNoWitness, ErrProvider}, report: "p failed to answer"},
		// 7: a witness that sends an invalid block: named as such.
		{probes: []probe{at("p", 9), bad("w0")}, errs: []error{ErrNoWitness, ErrBadProvider},
			report: "w0 sent an invalid light block"},
	}
	for i, c := range cases {
		plan, err := planSync(c.probes)
		if len(c.errs) > 0 {
			for _, want := range c.errs {
				if !errors.Is(err, want) {
					t.Errorf("case %d: err = %v, want %v", i, err, want)
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.report) {
				t.Errorf("case %d: err = %v, want it to say %q", i, err, c.report)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if plan.target != c.target || plan.primary != c.primary || !slices.Equal(plan.witnesses, c.witnesses) ||
			!strings.Contains(plan.report, c.report) {
			t.Errorf("case %d: plan %+v, want target %d primary %d witnesses %v report with %q",
				i, plan, c.target, c.primary, c.witnesses, c.report)
		}
	}
}
