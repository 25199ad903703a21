package auth

import (
	"crypto/ed25519"
	"fmt"
)

// Unregister removes the scheme registered under name. The node calls it
// when a signature plugin stops being active (chain state decides when);
// a scheme it did not register is never removed. It fails with an error
// wrapping ErrUnknownScheme if nothing is registered under name.
func (r *Registry) Unregister(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.schemes[name]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownScheme, name)
	}
	delete(r.schemes, name)
	return nil
}

// BuiltinSchemes returns the names of the native schemes every node has,
// sorted. A signature plugin may not take one of these names.
func BuiltinSchemes() []string { return DefaultRegistry().Names() }

// NewEd25519SignerAs signs with priv like NewEd25519Signer but names
// another scheme: for signature plugins whose signatures are plain Ed25519
// over the message and whose signer bytes are the 32-byte public key (the
// "solana" plugin).
func NewEd25519SignerAs(scheme string, priv ed25519.PrivateKey) Signer {
	return namedSigner{Signer: NewEd25519Signer(priv), scheme: scheme}
}

type namedSigner struct {
	Signer
	scheme string
}

func (s namedSigner) Scheme() string { return s.scheme }
