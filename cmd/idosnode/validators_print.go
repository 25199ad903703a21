package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/idos-network/idos-node/node/valclient"
)

// printTxResult prints a transaction's hash, height and outcome. A
// rejection is returned as the command's error, so the node's message
// reaches stderr verbatim and the exit status is 1.
func printTxResult(w io.Writer, res valclient.Result, err error) error {
	rej, rejected := valclient.IsRejected(err)
	if err != nil && !rejected {
		if res.Hash != "" {
			fmt.Fprintf(w, "tx      %s\n", res.Hash)
		}
		return err
	}
	fmt.Fprintf(w, "tx      %s\n", res.Hash)
	switch {
	case rejected && rej.Stage == "check":
		fmt.Fprintf(w, "height  - (refused by the mempool, not executed)\n")
	case res.Height == 0:
		fmt.Fprintf(w, "height  - (not waited for)\n")
	default:
		fmt.Fprintf(w, "height  %d\n", res.Height)
	}
	if rejected {
		fmt.Fprintf(w, "result  rejected (code %d)\n", rej.Code)
		return err
	}
	if res.Height == 0 {
		fmt.Fprintf(w, "result  accepted into the mempool\n")
	} else {
		fmt.Fprintf(w, "result  ok\n")
	}
	return nil
}

func printList(w io.Writer, v listView) {
	cmt := map[string]int64{}
	for _, c := range v.CometBFT.Validators {
		cmt[c.PubKey] = c.Power
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PUBKEY\tPOWER\tSINCE\tCOMETBFT@%d\n", v.CometBFT.Height)
	seen := map[string]bool{}
	for _, val := range v.Validators {
		seen[val.PubKey] = true
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", val.PubKey, val.Power, val.Since, powerOrDash(cmt, val.PubKey))
	}
	// Validators CometBFT still has but the application removed: the
	// change takes effect two blocks after it was decided.
	for _, c := range v.CometBFT.Validators {
		if !seen[c.PubKey] {
			fmt.Fprintf(tw, "%s\t-\t-\t%d (leaving)\n", c.PubKey, c.Power)
		}
	}
	tw.Flush()
	p := v.Params
	fmt.Fprintf(w, "\nheight %d: %d validators, total power %d; approval needs %d/%d of power (%d now); requests expire after %d blocks; new validators get power %d\n",
		v.Height, len(v.Validators), v.TotalPower, p.ApprovalThreshold.Numerator, p.ApprovalThreshold.Denominator,
		p.Needed(v.TotalPower), p.JoinExpiryBlocks, p.NewValidatorPower)
	fmt.Fprintln(w)
	printRequests(w, v.Pending, p, false)
}

func powerOrDash(m map[string]int64, k string) string {
	if p, ok := m[k]; ok {
		return fmt.Sprint(p)
	}
	return "- (not yet)"
}

func printRequests(w io.Writer, reqs []valclient.Request, p valclient.Params, all bool) {
	if len(reqs) == 0 {
		if all {
			fmt.Fprintln(w, "no requests")
		} else {
			fmt.Fprintln(w, "no pending requests")
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "KIND\tTARGET\tSTATUS\tCREATED\tEXPIRES\tDECIDED\tAPPROVED\tAPPROVALS\n")
	for _, r := range reqs {
		decided, approved := "-", "-"
		if r.Decided > 0 {
			decided = fmt.Sprint(r.Decided)
		}
		// Power tallies are against the current set, which is only
		// meaningful while the request is open.
		if r.Status == valclient.StatusPending {
			approved = fmt.Sprintf("%d/%d (need %d)", r.ApprovedPower, r.TotalPower, p.Needed(r.TotalPower))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n",
			r.Kind, r.Target, r.Status, r.Created, r.Expires, decided, approved, shortIDs(r.Approvals))
	}
	tw.Flush()
}

// shortIDs abbreviates validator ids to their first 8 hex characters, as
// git does with hashes; `--json` has them in full.
func shortIDs(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		if len(id) > 8 {
			id = id[:8]
		}
		out[i] = id
	}
	return strings.Join(out, ",")
}
