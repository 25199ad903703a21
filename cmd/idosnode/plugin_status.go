package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/valclient"
)

// checkProposal refuses, before megabytes are uploaded, a proposal the node
// would refuse by its current state (plugins.list at height): a scheme name
// that is built in, proposed, active or not yet removed, and an activation
// delay outside [params.activation_delay_blocks, plugins.MaxActivationDelay]
// (0 is the default). The node checks again: the state may change meanwhile.
func checkProposal(l plugins.ListResult, height int64, scheme string, delay int64) error {
	p := l.Params
	if delay != 0 && (delay < p.ActivationDelayBlocks || delay > plugins.MaxActivationDelay) {
		return fmt.Errorf("%w: --activation-delay %d; the minimum is %d, the maximum %d",
			plugins.ErrBadActivation, delay, p.ActivationDelayBlocks, plugins.MaxActivationDelay)
	}
	for _, b := range l.Builtin {
		if b == scheme {
			return fmt.Errorf("%w: %q is a built-in scheme", plugins.ErrNameTaken, scheme)
		}
	}
	next := height + 1
	for _, pl := range l.Plugins {
		if pl.Scheme != scheme {
			continue
		}
		switch {
		case pl.Status == plugins.StatusChecking:
			return fmt.Errorf("%w: a proposal for %q is being checked until height %d (see idosnode plugin list)", plugins.ErrNameTaken, scheme, pl.CheckHeight)
		case pl.Status == plugins.StatusPending:
			return fmt.Errorf("%w: a proposal for %q is open (see idosnode plugin list)", plugins.ErrNameTaken, scheme)
		case pl.Status == plugins.StatusActive:
			return fmt.Errorf("%w: %q is an active plugin (from height %d)", plugins.ErrNameTaken, scheme, pl.ActiveFrom)
		case pl.Status == plugins.StatusRemoved && next < pl.RemovedFrom:
			return fmt.Errorf("%w: %q stays active until height %d", plugins.ErrNameTaken, scheme, pl.RemovedFrom-1)
		}
	}
	return nil
}

// uploadProgress prints one line per accepted upload chunk.
func uploadProgress(w io.Writer) func(n, chunks int, sent, total int64) {
	return func(n, chunks int, sent, total int64) {
		fmt.Fprintf(w, "upload  chunk %d/%d: %d of %d compressed bytes\n", n, chunks, sent, total)
	}
}

// proposalView is what printProposal shows of one proposal.
type proposalView struct {
	Request plugins.Request
	Plugin  *plugins.Plugin // the scheme's row, if any
	Params  plugins.Params
	Powers  map[string]int64 // voting power by validator id; nil if unknown
}

// printProposalStatus reads the (kind, scheme) proposal and the scheme
// after a transaction and prints who approved it, with how much power,
// what is missing, and when it takes effect. The transaction is done either
// way, so a failed read is a line of output, not the command's failure.
func printProposalStatus(ctx context.Context, w io.Writer, vc *valclient.Client, kind, scheme string) {
	v, err := readProposal(ctx, vc, kind, scheme)
	if err != nil {
		fmt.Fprintf(w, "state   unknown: %v (see idosnode plugin list)\n", err)
		return
	}
	printProposal(w, v)
}

func readProposal(ctx context.Context, vc *valclient.Client, kind, scheme string) (proposalView, error) {
	reqs, err := vc.PluginRequests(ctx, true)
	if err != nil {
		return proposalView{}, fmt.Errorf("read the proposal: %w", err)
	}
	l, _, err := vc.Plugins(ctx)
	if err != nil {
		return proposalView{}, fmt.Errorf("read the plugins: %w", err)
	}
	v := proposalView{Params: l.Params}
	found := false
	for _, r := range reqs.Requests {
		if r.Kind == kind && r.Scheme == scheme {
			v.Request, found = r, true
		}
	}
	if !found {
		return proposalView{}, fmt.Errorf("no %s proposal for %q on the node", kind, scheme)
	}
	for i := range l.Plugins {
		if l.Plugins[i].Scheme == scheme {
			v.Plugin = &l.Plugins[i]
		}
	}
	// Per-validator power is a courtesy: without it the totals still say
	// what is missing.
	if set, err := vc.List(ctx); err == nil {
		v.Powers = map[string]int64{}
		for _, val := range set.Validators {
			v.Powers[val.PubKey] = val.Power
		}
	}
	return v, nil
}

func printProposal(w io.Writer, v proposalView) {
	r, t := v.Request, v.Params.ApprovalThreshold
	who := make([]string, len(r.Approvals))
	for i, id := range r.Approvals {
		who[i] = shortIDs([]string{id})
		if p, ok := v.Powers[id]; ok {
			who[i] += fmt.Sprintf(" (power %d)", p)
		}
	}
	if len(who) == 0 {
		fmt.Fprintln(w, "approvals none")
	} else {
		fmt.Fprintf(w, "approvals %d: %s\n", len(who), strings.Join(who, ", "))
	}
	switch r.Status {
	case approval.StatusPending:
		needed := valclient.Params{ApprovalThreshold: valclient.Fraction(t)}.Needed(r.TotalPower)
		fmt.Fprintf(w, "power   %d of %d; the threshold %d/%d needs %d: %d missing\n",
			r.ApprovedPower, r.TotalPower, t.Numerator, t.Denominator, needed, max(needed-r.ApprovedPower, 0))
		fmt.Fprintf(w, "state   pending; approvals count until height %d\n", r.Expires-1)
	case approval.StatusExpired:
		fmt.Fprintf(w, "state   expired at height %d without reaching %d/%d of power\n", r.Expires, t.Numerator, t.Denominator)
	default:
		fmt.Fprintf(w, "state   threshold %d/%d reached; decided at height %d\n", t.Numerator, t.Denominator, r.Decided)
		switch {
		case v.Plugin == nil:
		case r.Kind == plugins.KindRemove && v.Plugin.RemovedFrom != 0:
			fmt.Fprintf(w, "removed from height %d (verifies until %d)\n", v.Plugin.RemovedFrom, v.Plugin.RemovedFrom-1)
		case r.Kind == plugins.KindAdd && v.Plugin.ActiveFrom != 0:
			fmt.Fprintf(w, "active  from height %d\n", v.Plugin.ActiveFrom)
		}
	}
}
