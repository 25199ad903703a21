// Package auth verifies transaction signatures. Each signature standard is a
// Scheme, looked up by name in a Registry; the scheme turns a signer's bytes
// into the canonical identifier the rest of the node uses for the sender.
//
// Everything here runs inside consensus: verification must be deterministic
// and must not depend on the clock, the environment or any I/O.
package auth

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/idos-network/idos-node/node/schemename"
)

// Sentinel errors. Functions in this package wrap them with detail, so test
// with errors.Is.
var (
	// ErrUnknownScheme is returned for a scheme name that is not registered.
	ErrUnknownScheme = errors.New("unknown signature scheme")
	// ErrInvalidSigner is returned when the signer bytes are malformed for
	// the scheme (for example a wrong length).
	ErrInvalidSigner = errors.New("invalid signer")
	// ErrInvalidSignature is returned when the signature is malformed or does
	// not verify for the given signer and message.
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrInvalidScheme is returned when a scheme cannot be registered: nil,
	// a name that is not a valid scheme name, or a name already taken.
	ErrInvalidScheme = errors.New("invalid scheme registration")
)

// Scheme verifies signatures of one signature standard. Implementations must
// be deterministic (consensus code) and safe for concurrent use.
type Scheme interface {
	// Name is the scheme's registry key as it appears in transactions. It
	// must be a scheme name (node/schemename).
	Name() string
	// Verify checks that sig is signer's signature over msg and returns the
	// signer's canonical identifier.
	Verify(signer, msg, sig []byte) (identifier string, err error)
}

// Signer produces signatures. It is the client side of a Scheme, used by
// wallets, CLIs and tests; the node itself only verifies.
type Signer interface {
	// Scheme is the name of the Scheme that verifies this signer's signatures.
	Scheme() string
	// SignerID is the signer bytes a transaction carries for this signer.
	SignerID() []byte
	// Sign signs msg.
	Sign(msg []byte) ([]byte, error)
}

// Registry maps scheme names to schemes. Lookup is safe for concurrent use,
// also concurrently with Register.
type Registry struct {
	mu      sync.RWMutex
	schemes map[string]Scheme
}

// NewRegistry returns a registry holding schemes. It fails if a scheme is nil,
// has an invalid name, or two schemes share a name.
func NewRegistry(schemes ...Scheme) (*Registry, error) {
	r := &Registry{schemes: make(map[string]Scheme, len(schemes))}
	for _, s := range schemes {
		if err := r.Register(s); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// DefaultRegistry returns a new registry with the built-in schemes, ed25519
// and eip191. Each call returns a fresh registry, so registering more schemes
// on one never affects another.
func DefaultRegistry() *Registry {
	r, err := NewRegistry(ed25519Scheme{}, eip191Scheme{})
	if err != nil {
		// Only reachable if the built-in schemes are misnamed: a programming
		// error caught by the package's tests.
		panic(err)
	}
	return r
}

// Register adds s. The name must be unused: replacing a scheme would change
// which transactions are valid, so that has to be a deliberate new name.
func (r *Registry) Register(s Scheme) error {
	if s == nil {
		return fmt.Errorf("%w: scheme is nil", ErrInvalidScheme)
	}
	name := s.Name()
	if !schemename.Valid(name) {
		return fmt.Errorf("%w: name %q must be 1 to %d characters of a-z, 0-9 and _", ErrInvalidScheme, name, schemename.MaxLen)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.schemes[name]; dup {
		return fmt.Errorf("%w: scheme %q is already registered", ErrInvalidScheme, name)
	}
	r.schemes[name] = s
	return nil
}

// Lookup returns the scheme registered under name, or an error wrapping
// ErrUnknownScheme.
func (r *Registry) Lookup(name string) (Scheme, error) {
	r.mu.RLock()
	s, ok := r.schemes[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (supported: %s)", ErrUnknownScheme, name, strings.Join(r.Names(), ", "))
	}
	return s, nil
}

// Names returns the registered scheme names in sorted order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.schemes))
}
