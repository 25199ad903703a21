package validators

import (
	"encoding/json"
	"fmt"

	"github.com/idos-network/idos-node/node/module/approval"
)

// Fraction is an exact ratio (the approval engine's threshold).
type Fraction = approval.Fraction

// Params are the genesis parameters of the validator set, in app_state
// under "validators".
type Params struct {
	// JoinExpiryBlocks is how many blocks a join or removal request stays
	// open for approvals: a request made at height H can be approved at
	// heights H .. H+JoinExpiryBlocks-1.
	JoinExpiryBlocks int64 `json:"join_expiry_blocks"`
	// ApprovalThreshold is the share of current voting power whose
	// approvals decide a request ("at least").
	ApprovalThreshold Fraction `json:"approval_threshold"`
	// NewValidatorPower is the voting power a joining validator gets. All
	// validators have equal weight for now; a stake-based rule would
	// replace this single number.
	NewValidatorPower int64 `json:"new_validator_power"`
}

// maxPower keeps power × denominator sums (approval.MaxDenominator) far
// from int64 overflow.
const maxPower = 1 << 40

// DefaultParams: requests stay open for 600 blocks (10 minutes at 1 s
// blocks), need 2/3 of voting power, and new validators get power 10.
func DefaultParams() Params {
	return Params{JoinExpiryBlocks: 600, ApprovalThreshold: Fraction{Numerator: 2, Denominator: 3}, NewValidatorPower: 10}
}

// Validate checks the bounds.
func (p Params) Validate() error {
	switch thresholdErr := p.ApprovalThreshold.Check(); {
	case p.JoinExpiryBlocks < 1:
		return fmt.Errorf("validators: join_expiry_blocks %d must be at least 1", p.JoinExpiryBlocks)
	case thresholdErr != nil:
		return fmt.Errorf("validators: approval_threshold %w", thresholdErr)
	case p.NewValidatorPower < 1 || p.NewValidatorPower > maxPower:
		return fmt.Errorf("validators: new_validator_power %d out of range (1..%d)", p.NewValidatorPower, int64(maxPower))
	}
	return nil
}

// paramsFromAppState reads the "validators" section of the canonical
// app_state (already validated by the app).
func paramsFromAppState(appState []byte) (Params, error) {
	var s struct {
		Validators *Params `json:"validators"`
	}
	if err := json.Unmarshal(appState, &s); err != nil {
		return Params{}, fmt.Errorf("validators: genesis: %w", err)
	}
	if s.Validators == nil {
		return DefaultParams(), nil
	}
	return *s.Validators, s.Validators.Validate()
}
