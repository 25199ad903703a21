package valclient

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
)

// Query paths of the validators module.
const (
	QueryList     = "/validators.list"
	QueryRequests = "/validators.requests"
)

// Request statuses.
const (
	StatusPending   = "pending"
	StatusApproved  = "approved"
	StatusExpired   = "expired"
	StatusWithdrawn = "withdrawn"
)

// Request kinds.
const (
	KindJoin   = "join"
	KindRemove = "remove"
)

// Validator is one member of the application's validator set.
type Validator struct {
	PubKey string `json:"pubkey"`
	Power  int64  `json:"power"`
	// Since is the height at which the validator joined (0: genesis).
	Since int64 `json:"since"`
}

// Fraction is a rational threshold such as 2/3.
type Fraction struct {
	Numerator   int64 `json:"numerator"`
	Denominator int64 `json:"denominator"`
}

// Params are the validators module's genesis parameters.
type Params struct {
	JoinExpiryBlocks  int64    `json:"join_expiry_blocks"`
	ApprovalThreshold Fraction `json:"approval_threshold"`
	NewValidatorPower int64    `json:"new_validator_power"`
}

// ValidatorSet is the answer of /validators.list.
type ValidatorSet struct {
	// Height is the committed block the answer was read at (from the
	// query response, not the module's JSON).
	Height     int64       `json:"-"`
	Validators []Validator `json:"validators"`
	TotalPower int64       `json:"total_power"`
	Params     Params      `json:"params"`
}

// Needed is the voting power a request needs out of total: the smallest
// power p with p/total >= the approval threshold.
func (p Params) Needed(total int64) int64 {
	n, d := p.ApprovalThreshold.Numerator, p.ApprovalThreshold.Denominator
	if d <= 0 {
		return total
	}
	return (n*total + d - 1) / d
}

// Request is a join or remove request and its approvals.
type Request struct {
	Kind          string   `json:"kind"`
	Target        string   `json:"target"`
	Proposer      string   `json:"proposer"`
	Created       int64    `json:"created"`
	Expires       int64    `json:"expires"`
	Status        string   `json:"status"`
	Decided       int64    `json:"decided"`
	Approvals     []string `json:"approvals"`
	ApprovedPower int64    `json:"approved_power"`
	TotalPower    int64    `json:"total_power"`
}

// Requests is the answer of /validators.requests.
type Requests struct {
	Requests []Request `json:"requests"`
}

// List reads the application's validator set and parameters.
func (c *Client) List(ctx context.Context) (ValidatorSet, error) {
	var v ValidatorSet
	h, err := c.query(ctx, QueryList, []byte(`{}`), &v)
	v.Height = h
	return v, err
}

// Requests reads the pending requests, or all requests ever made.
func (c *Client) Requests(ctx context.Context, all bool) ([]Request, error) {
	data := []byte(`{}`)
	if all {
		data = []byte(`{"all":true}`)
	}
	var r Requests
	_, err := c.query(ctx, QueryRequests, data, &r)
	return r.Requests, err
}

// ConsensusValidator is a validator as CometBFT sees it: the set that
// signs blocks, which lags the application's set by two blocks.
type ConsensusValidator struct {
	PubKey  string `json:"pubkey"`
	Address string `json:"address"`
	Power   int64  `json:"power"`
}

// ConsensusSet is CometBFT's validator set at one height.
type ConsensusSet struct {
	Height     int64                `json:"height"`
	Validators []ConsensusValidator `json:"validators"`
}

// perPage is CometBFT's maximum page size for /validators.
const perPage = 100

// ConsensusValidators reads CometBFT's validator set at the latest height
// (height nil) or at *height, following pages, sorted by public key.
func (c *Client) ConsensusValidators(ctx context.Context, height *int64) (ConsensusSet, error) {
	var set ConsensusSet
	for page := 1; ; page++ {
		p, n := page, perPage
		res, err := c.RPC.Validators(ctx, height, &p, &n)
		if err != nil {
			return ConsensusSet{}, fmt.Errorf("cometbft /validators: %w", err)
		}
		// Pin the height so later pages describe the same set.
		set.Height, height = res.BlockHeight, &res.BlockHeight
		for _, v := range res.Validators {
			set.Validators = append(set.Validators, ConsensusValidator{
				PubKey:  hex.EncodeToString(v.PubKey.Bytes()),
				Address: v.Address.String(),
				Power:   v.VotingPower,
			})
		}
		if len(set.Validators) >= res.Total || len(res.Validators) == 0 {
			break
		}
	}
	sort.Slice(set.Validators, func(i, j int) bool { return set.Validators[i].PubKey < set.Validators[j].PubKey })
	return set, nil
}
