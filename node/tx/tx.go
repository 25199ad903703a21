// Package tx defines the idOS transaction envelope: its wire encoding, the
// text a wallet signs, and signature verification. The encoding and the sign
// bytes are consensus-critical; docs/spec/transactions.md specifies them and
// the golden vectors in this package's tests pin them.
package tx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/rlp"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/schemename"
)

// Version is the envelope version. It is the first RLP field and appears in
// the sign bytes, so a future envelope can never be confused with this one.
const Version = 1

// Size limits. A transaction exceeding them is rejected with ErrTooLarge.
const (
	// MaxTxBytes bounds the whole encoded transaction. It keeps mempool and
	// block space per transaction bounded; with the field limits below a
	// valid transaction cannot actually reach it.
	MaxTxBytes = 64 << 10
	// MaxPayloadBytes bounds the action payload, leaving room under
	// MaxTxBytes for the other fields.
	MaxPayloadBytes = 60 << 10
)

// Field limits that are not part of the exported contract; see the spec.
const (
	maxChainIDLen   = 50 // same as CometBFT's genesis chain ID limit
	maxSignerLen    = 128
	maxActionLen    = 64
	maxSignatureLen = 256
)

// Sentinel errors, wrapped with detail; test with errors.Is.
var (
	// ErrMalformed is returned for bytes or fields that violate the envelope
	// format.
	ErrMalformed = errors.New("malformed transaction")
	// ErrTooLarge is returned when the transaction exceeds MaxTxBytes or its
	// payload exceeds MaxPayloadBytes.
	ErrTooLarge = errors.New("transaction too large")
)

// Tx is a signed transaction.
type Tx struct {
	ChainID   string
	Scheme    string // auth scheme name, e.g. "ed25519", "eip191"
	Signer    []byte // scheme-specific signer id (ed25519 pubkey, 20-byte address)
	Nonce     uint64 // the sender's count of earlier committed transactions (first is 0)
	Action    string
	Payload   []byte // action-specific bytes (JSON for the built-in actions)
	Signature []byte
}

// wireTx is the RLP list, in order. Field types decide the RLP kinds: uint64
// is a canonical integer, string and []byte are byte strings.
type wireTx struct {
	Version   uint64
	ChainID   string
	Scheme    string
	Signer    []byte
	Nonce     uint64
	Action    string
	Payload   []byte
	Signature []byte
}

// Encode validates t and returns its canonical RLP encoding.
func (t *Tx) Encode() ([]byte, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	b, err := rlp.EncodeToBytes(&wireTx{
		Version:   Version,
		ChainID:   t.ChainID,
		Scheme:    t.Scheme,
		Signer:    t.Signer,
		Nonce:     t.Nonce,
		Action:    t.Action,
		Payload:   t.Payload,
		Signature: t.Signature,
	})
	if err != nil {
		// Unreachable for wireTx's field types; kept so a future field type
		// cannot fail silently.
		return nil, fmt.Errorf("%w: encoding: %v", ErrMalformed, err)
	}
	if len(b) > MaxTxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit is %d", ErrTooLarge, len(b), MaxTxBytes)
	}
	return b, nil
}

// Decode parses an encoded transaction. It accepts exactly the bytes Encode
// produces: canonical RLP, no trailing data, every field within its limits.
// So Encode(Decode(b)) == b, and a transaction has exactly one encoding and
// one hash. Decode does not verify the signature.
func Decode(b []byte) (*Tx, error) {
	// Check before parsing so oversized input costs nothing.
	if len(b) > MaxTxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit is %d", ErrTooLarge, len(b), MaxTxBytes)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrMalformed)
	}
	var w wireTx
	// DecodeBytes rejects trailing bytes, non-canonical sizes and integers,
	// and lists with missing or extra elements.
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("%w: invalid RLP: %v", ErrMalformed, err)
	}
	if w.Version != Version {
		return nil, fmt.Errorf("%w: version %d, only version %d is supported", ErrMalformed, w.Version, Version)
	}
	t := &Tx{
		ChainID:   w.ChainID,
		Scheme:    w.Scheme,
		Signer:    w.Signer,
		Nonce:     w.Nonce,
		Action:    w.Action,
		Payload:   w.Payload,
		Signature: w.Signature,
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Hash returns the transaction hash of the encoded bytes raw: SHA-256, the
// same hash CometBFT uses to index transactions.
func Hash(raw []byte) [32]byte { return sha256.Sum256(raw) }

// SignBytes returns the message t's signer signs; see the package-level
// SignBytes.
func (t *Tx) SignBytes() []byte { return SignBytes(t.ChainID, t.Action, t.Nonce, t.Payload) }

// SignBytes returns the message a signer signs: human-readable text a wallet
// can show, committing to the chain, action, nonce and (by hash) payload:
//
//	idOS transaction v1
//	Chain ID: <chain_id>
//	Action: <action>
//	Nonce: <decimal nonce>
//	Payload SHA-256: <lowercase hex sha256(payload)>
//
// Lines are separated by "\n" with no trailing newline. The scheme and signer
// are not included: the signature itself binds them. The field rules
// (printable chain ID, restricted action) keep each value on its own line;
// SignBytes does not check them, Encode, Decode, Sign and Verify do.
func SignBytes(chainID, action string, nonce uint64, payload []byte) []byte {
	sum := sha256.Sum256(payload)
	var sb strings.Builder
	sb.WriteString("idOS transaction v" + strconv.Itoa(Version))
	sb.WriteString("\nChain ID: " + chainID)
	sb.WriteString("\nAction: " + action)
	sb.WriteString("\nNonce: " + strconv.FormatUint(nonce, 10))
	sb.WriteString("\nPayload SHA-256: " + hex.EncodeToString(sum[:]))
	return []byte(sb.String())
}

// Sign sets t's Scheme and Signer from s and signs t's sign bytes. The other
// fields are validated first, so nothing is signed that could not be encoded.
func Sign(t *Tx, s auth.Signer) error {
	t.Scheme = s.Scheme()
	t.Signer = s.SignerID()
	if err := t.validateUnsigned(); err != nil {
		return err
	}
	sig, err := s.Sign(t.SignBytes())
	if err != nil {
		return fmt.Errorf("sign transaction: %w", err)
	}
	t.Signature = sig
	return nil
}

// Verify checks t's fields and its signature over SignBytes with the scheme
// named by t.Scheme, and returns the signer's canonical identifier. Errors
// wrap ErrMalformed, ErrTooLarge or the auth package's sentinels. Verify does
// not check the chain ID or nonce against state; the caller does.
func (t *Tx) Verify(reg *auth.Registry) (identifier string, err error) {
	if err := t.validate(); err != nil {
		return "", err
	}
	scheme, err := reg.Lookup(t.Scheme)
	if err != nil {
		return "", err
	}
	return scheme.Verify(t.Signer, t.SignBytes(), t.Signature)
}

func (t *Tx) validate() error {
	if err := t.validateUnsigned(); err != nil {
		return err
	}
	if len(t.Signature) == 0 || len(t.Signature) > maxSignatureLen {
		return fmt.Errorf("%w: signature must be 1 to %d bytes, got %d", ErrMalformed, maxSignatureLen, len(t.Signature))
	}
	return nil
}

// validateUnsigned checks every field except Signature.
func (t *Tx) validateUnsigned() error {
	if len(t.ChainID) == 0 || len(t.ChainID) > maxChainIDLen || !isPrintableASCII(t.ChainID) {
		return fmt.Errorf("%w: chain ID %q must be 1 to %d printable ASCII characters", ErrMalformed, t.ChainID, maxChainIDLen)
	}
	if !schemename.Valid(t.Scheme) {
		return fmt.Errorf("%w: scheme %q must be 1 to %d characters of a-z, 0-9 and _", ErrMalformed, t.Scheme, schemename.MaxLen)
	}
	if len(t.Signer) == 0 || len(t.Signer) > maxSignerLen {
		return fmt.Errorf("%w: signer must be 1 to %d bytes, got %d", ErrMalformed, maxSignerLen, len(t.Signer))
	}
	if !ValidActionName(t.Action) {
		return fmt.Errorf("%w: action %q must be 1 to %d bytes of dot-separated names, each a lowercase letter followed by a-z, 0-9 or _ (like \"kv.put\")", ErrMalformed, t.Action, maxActionLen)
	}
	if len(t.Payload) > MaxPayloadBytes {
		return fmt.Errorf("%w: payload is %d bytes, limit is %d", ErrTooLarge, len(t.Payload), MaxPayloadBytes)
	}
	return nil
}

// isPrintableASCII reports whether s is only 0x20 (space) to 0x7e (~). This
// excludes newlines, which would break the line structure of the sign bytes,
// and non-ASCII look-alikes a wallet user could not tell apart.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidActionName reports whether s is an action (or query) name: 1 to 64
// bytes matching ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$. Hand-written
// rather than a regexp so the rule is explicit byte by byte.
func ValidActionName(s string) bool {
	return len(s) > 0 && len(s) <= maxActionLen && isActionName(s)
}

func isActionName(s string) bool {
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" || !isLower(seg[0]) {
			return false
		}
		for i := 1; i < len(seg); i++ {
			if !isLower(seg[i]) && !isDigit(seg[i]) && seg[i] != '_' {
				return false
			}
		}
	}
	return true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
