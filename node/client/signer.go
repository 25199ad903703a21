package client

import (
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/auth"
)

// Signer is what signs for a client: transactions' sign bytes, read
// challenges and wallet link messages. A key held by this process
// (NewKeySigner) and a wallet elsewhere (External) are both Signers, so
// everything that signs works with either.
type Signer interface {
	auth.Signer
	// Identifier is the canonical identifier the node derives for this
	// signer; the account is Scheme():Identifier().
	Identifier() string
}

// AccountID is s's account id, scheme:identifier.
func AccountID(s Signer) string { return s.Scheme() + ":" + s.Identifier() }

type keySigner struct {
	auth.Signer
	id string
}

func (k keySigner) Identifier() string { return k.id }

// NewKeySigner makes a Signer of a key-backed auth.Signer whose identifier
// is id.
func NewKeySigner(s auth.Signer, id string) Signer { return keySigner{s, id} }

// ErrMalformedSignature is returned when a wallet's answer is not a
// signature of the scheme's form (encoding, length, DER, low S, header
// byte): caught here, before anything is sent.
var ErrMalformedSignature = errors.New("malformed signature")

// ErrNoSignature is returned when the wallet gave no answer.
var ErrNoSignature = errors.New("no signature")

// Wallet answers sign requests: it is shown what to sign and returns the
// signature as the wallet printed it (hex, base64, base58, or the JSON a
// NEAR wallet returns). The I/O (a prompt, a file, a command) is the
// Wallet's; External only builds requests and checks answers.
type Wallet interface {
	Sign(req *SignRequest) (string, error)
}

// External signs with a wallet this process holds no key of: each Sign
// builds the SignRequest of the scheme, asks the Wallet, and checks the
// answer's form before returning it. Whether the signature verifies is the
// node's to say (a well-formed wrong signature is refused there with
// wire.CodeUnauthorized).
type External struct {
	format *walletFormat
	signer []byte
	id     string
	wallet Wallet
}

var _ Signer = (*External)(nil)

// NewExternal returns the external signer of scheme whose public key or
// address is signer, written as its wallets write it (ParseSigner). The
// identifier is derived from it for the schemes this client knows, and
// must then equal identifier if that is given; for another scheme (a plugin
// the network activated later) signer is hex and identifier is required.
func NewExternal(scheme, signer, identifier string, w Wallet) (*External, error) {
	f := formatOf(scheme)
	raw, err := f.parseSigner(signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s signer %q: %w", auth.ErrInvalidSigner, scheme, signer, err)
	}
	id := identifier
	if f.identifier != nil {
		if id, err = f.identifier(raw); err != nil {
			return nil, fmt.Errorf("%w: %s signer %q: %w", auth.ErrInvalidSigner, scheme, signer, err)
		}
		if identifier != "" && identifier != id {
			return nil, fmt.Errorf("%w: %s signer %q has identifier %s, not %s", auth.ErrInvalidSigner, scheme, signer, id, identifier)
		}
	}
	if id == "" {
		return nil, fmt.Errorf("%w: scheme %q is not one this client knows: give its identifier (the account is %s:IDENTIFIER)",
			auth.ErrInvalidSigner, scheme, scheme)
	}
	return &External{format: f, signer: raw, id: id, wallet: w}, nil
}

// Scheme implements auth.Signer.
func (e *External) Scheme() string { return e.format.name }

// SignerID implements auth.Signer.
func (e *External) SignerID() []byte { return append([]byte(nil), e.signer...) }

// Identifier implements Signer.
func (e *External) Identifier() string { return e.id }

// Request is the request Sign shows the wallet for msg.
func (e *External) Request(msg []byte) *SignRequest {
	return e.format.request(e.signer, e.id, msg)
}

// Sign asks the wallet to sign msg and checks the form of its answer.
func (e *External) Sign(msg []byte) ([]byte, error) {
	answer, err := e.wallet.Sign(e.Request(msg))
	if err != nil {
		return nil, err
	}
	return ParseSignature(e.format.name, e.signer, answer)
}
