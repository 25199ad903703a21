// Package sdk is the guest SDK for idOS signature plugins: WebAssembly
// modules, built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, that teach
// the node a new signature scheme (docs/spec/wasm-abi.md, ABI version 1).
//
// A plugin is a main package that registers exactly one verifier in init and
// has an empty main:
//
//	func init() {
//		sdk.RegisterSignature(sdk.Metadata{Scheme: "solana", KeyType: sdk.KeyTypeEd25519,
//			AddressFormat: "base58 public key"}, verify)
//	}
//
//	func main() {}
//
// Under wasip1 this package provides the ABI exports (idos_abi_version,
// idos_alloc, idos_free, idos_metadata, idos_verify) and wraps the host's
// crypto imports (module "idos") as ordinary Go functions. In every other
// build the same functions are implemented natively (go-ethereum, CometBFT,
// the standard library), so a plugin's logic is unit-tested with go test.
package sdk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idos-network/idos-node/node/schemename"
)

// ABIVersion is the plugin ABI version this SDK implements.
const ABIVersion = 1

// Key types allowed in Metadata.KeyType.
const (
	KeyTypeSecp256k1 = "secp256k1"
	KeyTypeEd25519   = "ed25519"
)

// MaxResultBytes is the largest verify result the host accepts (status byte
// included). Longer reasons are truncated by the SDK.
const MaxResultBytes = 4096

// Status is the first byte of an idos_verify result.
type Status uint8

const (
	// StatusValid: the text is the signer's canonical identifier.
	StatusValid Status = 0
	// StatusInvalidSignature: the text is a reason for the user.
	StatusInvalidSignature Status = 1
	// StatusInvalidSigner: the signer bytes are malformed; the text is a reason.
	StatusInvalidSigner Status = 2
)

// Errors a VerifyFunc wraps (fmt.Errorf("%w: ...", sdk.ErrInvalidSignature))
// to choose the result status. An error wrapping neither is reported as an
// invalid signature.
var (
	ErrInvalidSignature = errors.New("invalid signature")
	ErrInvalidSigner    = errors.New("invalid signer")
)

// Metadata describes the registered scheme; it is served by idos_metadata.
type Metadata struct {
	// Scheme is the transaction envelope's scheme name (node/schemename).
	Scheme string
	// KeyType is KeyTypeSecp256k1 or KeyTypeEd25519.
	KeyType string
	// AddressFormat is free text describing the identifier, e.g.
	// "EIP-55 checksummed hex address".
	AddressFormat string
}

// VerifyFunc verifies sig by signer over msg and returns the signer's
// canonical identifier (non-empty, valid UTF-8, no NUL). It must be deterministic:
// no clocks, randomness or state carried between calls.
type VerifyFunc func(signer, msg, sig []byte) (identifier string, err error)

var registered struct {
	meta Metadata
	fn   VerifyFunc
	json []byte
}

// RegisterSignature registers the plugin's only verifier. Call it once, from
// init. It panics on invalid metadata or a second registration: in a Wasm
// build that traps _initialize, so the host refuses the module.
func RegisterSignature(m Metadata, fn VerifyFunc) {
	if registered.fn != nil {
		panic("sdk: RegisterSignature called twice (a plugin provides one scheme)")
	}
	if fn == nil {
		panic("sdk: RegisterSignature with a nil VerifyFunc")
	}
	if !schemename.Valid(m.Scheme) {
		panic(fmt.Sprintf("sdk: scheme %q must match %s", m.Scheme, schemename.Rule))
	}
	if m.KeyType != KeyTypeSecp256k1 && m.KeyType != KeyTypeEd25519 {
		panic(fmt.Sprintf("sdk: key type %q must be %q or %q", m.KeyType, KeyTypeSecp256k1, KeyTypeEd25519))
	}
	if !utf8.ValidString(m.AddressFormat) {
		panic("sdk: address format must be valid UTF-8")
	}
	registered.meta, registered.fn, registered.json = m, fn, encodeMetadata(m)
}

// Registered returns the registered metadata, if any.
func Registered() (Metadata, bool) { return registered.meta, registered.fn != nil }

// MetadataJSON returns the bytes idos_metadata serves:
// {"abi":1,"kind":"signature","scheme":…,"key_type":…,"address_format":…}.
// It panics if nothing is registered.
func MetadataJSON() []byte {
	if registered.fn == nil {
		panic("sdk: no signature registered (call sdk.RegisterSignature in init)")
	}
	return append([]byte(nil), registered.json...)
}

// encodeMetadata writes the JSON by hand: encoding/json (and regexp) would add
// about a megabyte to every plugin binary.
func encodeMetadata(m Metadata) []byte {
	return []byte(`{"abi":` + strconv.Itoa(ABIVersion) + `,"kind":"signature","scheme":` + jsonString(m.Scheme) +
		`,"key_type":` + jsonString(m.KeyType) + `,"address_format":` + jsonString(m.AddressFormat) + `}`)
}

// jsonString quotes valid UTF-8 s as a JSON string.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Call runs the registered verifier exactly as idos_verify does and returns
// the status and text of the result. Plugin tests use it natively.
func Call(signer, msg, sig []byte) (Status, string) {
	r := verifyResult(signer, msg, sig)
	return Status(r[0]), string(r[1:])
}

// verifyResult is the idos_verify result: status byte then UTF-8 text.
func verifyResult(signer, msg, sig []byte) []byte {
	if registered.fn == nil {
		panic("sdk: no signature registered (call sdk.RegisterSignature in init)")
	}
	id, err := registered.fn(signer, msg, sig)
	if err == nil {
		// An empty or malformed identifier is a plugin bug, not a user
		// error: trap (a deterministic plugin error) rather than admit
		// an account "scheme:".
		if id == "" || !utf8.ValidString(id) || strings.ContainsRune(id, 0) || len(id) > MaxResultBytes-1 {
			panic(fmt.Sprintf("sdk: verifier returned an invalid identifier %q", id))
		}
		return append([]byte{byte(StatusValid)}, id...)
	}
	status := StatusInvalidSignature
	if errors.Is(err, ErrInvalidSigner) {
		status = StatusInvalidSigner
	}
	return append([]byte{byte(status)}, reason(err.Error())...)
}

// reason makes err text valid UTF-8 that fits in a result.
func reason(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s == "" {
		s = "verification failed"
	}
	if len(s) <= MaxResultBytes-1 {
		return s
	}
	s = s[:MaxResultBytes-1]
	for !utf8.ValidString(s) { // cut inside a rune: drop its leading bytes
		s = s[:len(s)-1]
	}
	return s
}
