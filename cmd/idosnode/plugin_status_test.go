package main

import (
	"bytes"
	"errors"
	"testing"

	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/plugins"
)

// checkProposal refuses, from plugins.list, what the node would refuse
// before any upload, with the node's errors.
func TestCheckProposal(t *testing.T) {
	l := plugins.ListResult{
		Builtin: []string{"ed25519", "eip191"},
		Plugins: []plugins.Plugin{
			{Scheme: "open", Status: plugins.StatusPending},
			{Scheme: "live", Status: plugins.StatusActive, ActiveFrom: 5},
			{Scheme: "leaving", Status: plugins.StatusRemoved, ActiveFrom: 5, RemovedFrom: 20},
			{Scheme: "gone", Status: plugins.StatusRemoved, ActiveFrom: 5, RemovedFrom: 10},
			{Scheme: "lapsed", Status: plugins.StatusExpired},
		},
		Params: plugins.Params{ActivationDelayBlocks: 3},
	}
	const height = 15 // the next block is 16
	for _, c := range []struct {
		scheme string
		delay  int64
		want   error
	}{
		{"new", 0, nil},
		{"new", 3, nil},
		{"new", plugins.MaxActivationDelay, nil},
		{"new", 2, plugins.ErrBadActivation},
		{"new", plugins.MaxActivationDelay + 1, plugins.ErrBadActivation},
		{"eip191", 0, plugins.ErrNameTaken},
		{"open", 0, plugins.ErrNameTaken},
		{"live", 0, plugins.ErrNameTaken},
		{"leaving", 0, plugins.ErrNameTaken},
		{"gone", 0, nil},
		{"lapsed", 0, nil},
	} {
		err := checkProposal(l, height, c.scheme, c.delay)
		if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s, delay %d: %v, want %v", c.scheme, c.delay, err, c.want)
		}
	}
}

// After a transaction the proposal's state says who approved, with what
// power, what is missing and when it takes effect.
func TestPrintProposal(t *testing.T) {
	params := plugins.Params{ApprovalThreshold: approval.Fraction{Numerator: 2, Denominator: 3}}
	powers := map[string]int64{"aaaaaaaaaaaa": 10, "bbbbbbbbbbbb": 30}
	for _, c := range []struct {
		name string
		v    proposalView
		want string
	}{
		{"pending", proposalView{Request: plugins.Request{Kind: plugins.KindAdd, Status: approval.StatusPending, Expires: 120,
			Approvals: []string{"aaaaaaaaaaaa"}, ApprovedPower: 10, TotalPower: 70}, Params: params, Powers: powers},
			"approvals 1: aaaaaaaa (power 10)\npower   10 of 70; the threshold 2/3 needs 47: 37 missing\nstate   pending; approvals count until height 119\n"},
		{"added", proposalView{Request: plugins.Request{Kind: plugins.KindAdd, Status: approval.StatusApproved, Decided: 50,
			Approvals: []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb"}, ApprovedPower: 40, TotalPower: 40},
			Plugin: &plugins.Plugin{ActiveFrom: 53}, Params: params, Powers: powers},
			"approvals 2: aaaaaaaa (power 10), bbbbbbbb (power 30)\nstate   threshold 2/3 reached; decided at height 50\nactive  from height 53\n"},
		{"removed", proposalView{Request: plugins.Request{Kind: plugins.KindRemove, Status: approval.StatusApproved, Decided: 60,
			Approvals: []string{"cccccccccccc"}}, Plugin: &plugins.Plugin{ActiveFrom: 53, RemovedFrom: 63}, Params: params},
			"approvals 1: cccccccc\nstate   threshold 2/3 reached; decided at height 60\nremoved from height 63 (verifies until 62)\n"},
		{"expired", proposalView{Request: plugins.Request{Kind: plugins.KindAdd, Status: approval.StatusExpired, Expires: 120}, Params: params},
			"approvals none\nstate   expired at height 120 without reaching 2/3 of power\n"},
	} {
		var b bytes.Buffer
		printProposal(&b, c.v)
		if b.String() != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.name, b.String(), c.want)
		}
	}
}
