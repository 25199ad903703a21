package lightclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
)

// Error classes. Every error of this package wraps one of them (a read
// refused by the proof check wraps readproof's classes instead); the
// CometBFT error it came from stays wrapped too. Test with errors.Is.
var (
	// ErrFork: a witness (or the primary) proved a header that conflicts
	// with one verified from the other side, both signed by the trusted
	// validators: an attack on this client or a chain fork. CometBFT sent
	// the evidence to both sides; do not trust this network until resolved.
	ErrFork = errors.New("lightclient: header fork: conflicting headers are both validly signed")
	// ErrWitnessDisagreement: a witness reports a different header (or
	// validator set priorities) than the primary for the same height.
	ErrWitnessDisagreement = errors.New("lightclient: a witness disagrees with the primary")
	// ErrNoWitness: no witness confirmed the primary's header (they did
	// not answer, lack the height, or were dropped for lying). A header
	// nobody else confirmed is not trusted.
	ErrNoWitness = errors.New("lightclient: no witness confirmed the header")
	// ErrBadProvider: the primary or a witness sent a light block that is
	// malformed or not signed as it claims. Named in the message; CometBFT
	// drops such a provider.
	ErrBadProvider = errors.New("lightclient: a provider sent an invalid light block")
	// ErrInvalidHeader: a header does not verify against the trusted one
	// (not enough trusted voting power signed it, bad commit, time going
	// backwards or too far in the future).
	ErrInvalidHeader = errors.New("lightclient: header does not verify")
	// ErrTrustExpired: the latest trusted header is older than the trusting
	// period; start again from a new trusted height and hash.
	ErrTrustExpired = errors.New("lightclient: trusted header expired")
	// ErrTrustMismatch: the header at the trusted height does not have the
	// trusted hash (a wrong hash given, or a primary on another chain).
	ErrTrustMismatch = errors.New("lightclient: header at the trusted height does not have the trusted hash")
	// ErrNoTrust: no trusted height and hash were given and the trusted
	// store is empty.
	ErrNoTrust = errors.New("lightclient: no root of trust")
	// ErrNoHeader: the header needed does not exist (yet) within the wait,
	// or the providers do not serve it.
	ErrNoHeader = errors.New("lightclient: header not available")
	// ErrStale: a read against an old state: a bundle's height is more
	// than MaxLag blocks behind the latest height verified from the
	// primary and witnesses, or that header is too old (ErrStaleHeader).
	ErrStale = errors.New("lightclient: stale read")
	// ErrStaleHeader: the latest header the providers can show is older
	// than MaxHeaderAge by the local clock: the chain halted, or the
	// providers serve an old state (a frozen primary). It wraps ErrStale.
	ErrStaleHeader = fmt.Errorf("%w: the latest verified header is too old", ErrStale)
	// ErrProvider: the primary or a witness failed to answer (transport
	// failure, HTTP error, a body that is not JSON-RPC or is over
	// MaxResponseBytes, no answer within the request timeout). Carried by
	// *ProviderError, which names the provider.
	ErrProvider = errors.New("lightclient: a provider failed to answer")
	// ErrResponseTooLarge: a provider's answer was over MaxResponseBytes.
	ErrResponseTooLarge = errors.New("lightclient: provider answer over the size limit")
	// ErrWitnessDown: a witness did not answer at start-up, and the
	// configuration does not allow that (Config.AllowWitnessDown).
	ErrWitnessDown = errors.New("lightclient: a witness did not answer")
	// ErrGateway: the gateway did not answer with a bundle (an error
	// response, a transport failure, or a body that is not a bundle).
	ErrGateway = errors.New("lightclient: gateway did not return a bundle")
)

// classify wraps an error of CometBFT's light client in the class that
// says what went wrong, keeping the original for errors.Is/As. seen lists
// the misbehaviour the providers showed during the call; it is named in
// the message, since CometBFT drops a lying provider and may then fail
// with an error that no longer says why.
func classify(op string, err error, seen []Misbehavior) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("lightclient: %s: %w%s", op, err, summary(seen))
	}
	var (
		class      error
		conflict   light.ErrConflictingHeaders
		priorities light.ErrProposerPrioritiesDiverge
		expired    light.ErrOldHeaderExpired
		invalid    light.ErrInvalidHeader
		valset     light.ErrNewValSetCantBeTrusted
		failed     light.ErrVerificationFailed
		bad        provider.ErrBadLightBlock
	)
	switch {
	case errors.Is(err, light.ErrLightClientAttack):
		class = ErrFork
	case errors.As(err, &conflict), errors.As(err, &priorities):
		class = ErrWitnessDisagreement
	case errors.As(err, &expired):
		class = ErrTrustExpired
	case errors.Is(err, light.ErrNoWitnesses), errors.Is(err, light.ErrFailedHeaderCrossReferencing):
		class = ErrNoWitness
	case errors.As(err, &bad):
		class = ErrBadProvider
	case errors.Is(err, ErrProvider):
		class = ErrProvider
	case errors.As(err, &invalid), errors.As(err, &valset), errors.As(err, &failed):
		class = ErrInvalidHeader
	case errors.Is(err, provider.ErrLightBlockNotFound), errors.Is(err, provider.ErrHeightTooHigh),
		errors.Is(err, provider.ErrNoResponse):
		class = ErrNoHeader
	}
	var also []error
	for _, m := range seen {
		c := ErrBadProvider
		if m.Transport {
			c = ErrProvider
		}
		if c != class && !slices.Contains(also, c) {
			also = append(also, c)
		}
	}
	if class == nil {
		if len(also) == 0 {
			return fmt.Errorf("lightclient: %s: %w%s", op, err, summary(seen))
		}
		class, also = also[0], also[1:]
	}
	msg := fmt.Sprintf("%v: %s: %v", class, op, err)
	for _, c := range also {
		msg += "; " + c.Error()
	}
	return &classedError{msg: msg + summary(seen), errs: append([]error{class, err}, also...)}
}

// classedError is an error with several classes (errors.Is matches each)
// and the original error.
type classedError struct {
	msg  string
	errs []error
}

func (e *classedError) Error() string   { return e.msg }
func (e *classedError) Unwrap() []error { return e.errs }

func summary(seen []Misbehavior) string {
	if len(seen) == 0 {
		return ""
	}
	var parts []string
	for _, m := range seen {
		if s := m.String(); !slices.Contains(parts, s) { // a provider asked twice lies twice
			parts = append(parts, s)
		}
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
