package auth

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeScheme is a named scheme that accepts nothing; registry tests only need
// its name.
type fakeScheme string

func (f fakeScheme) Name() string { return string(f) }
func (f fakeScheme) Verify(_, _, _ []byte) (string, error) {
	return "", ErrInvalidSignature
}

func TestNewRegistry(t *testing.T) {
	tests := []struct {
		name    string
		schemes []Scheme
		want    []string // sorted names on success
		wantErr error
	}{
		// No schemes is a valid, empty registry.
		{name: "empty", schemes: nil, want: []string{}},
		// Names come back sorted regardless of registration order.
		{name: "sorted", schemes: []Scheme{fakeScheme("zeta"), fakeScheme("alpha_1")}, want: []string{"alpha_1", "zeta"}},
		// Two schemes may not share a name: which one verifies would be ambiguous.
		{name: "duplicate", schemes: []Scheme{fakeScheme("x"), fakeScheme("x")}, wantErr: ErrInvalidScheme},
		// Shadowing a built-in is a duplicate like any other.
		{name: "duplicate builtin", schemes: []Scheme{ed25519Scheme{}, fakeScheme(SchemeEd25519)}, wantErr: ErrInvalidScheme},
		// The empty name could never be referenced by a transaction.
		{name: "empty name", schemes: []Scheme{fakeScheme("")}, wantErr: ErrInvalidScheme},
		// Names follow the transaction envelope's [a-z0-9_]+ rule.
		{name: "uppercase name", schemes: []Scheme{fakeScheme("Ed25519")}, wantErr: ErrInvalidScheme},
		{name: "dash in name", schemes: []Scheme{fakeScheme("ed-25519")}, wantErr: ErrInvalidScheme},
		// ... and its 32-byte limit.
		{name: "name too long", schemes: []Scheme{fakeScheme(strings.Repeat("a", 33))}, wantErr: ErrInvalidScheme},
		{name: "name at limit", schemes: []Scheme{fakeScheme(strings.Repeat("a", 32))}, want: []string{strings.Repeat("a", 32)}},
		// A nil scheme is a programming error, reported rather than panicking later.
		{name: "nil scheme", schemes: []Scheme{nil}, wantErr: ErrInvalidScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRegistry(tt.schemes...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewRegistry error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRegistry: %v", err)
			}
			if got := r.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("Names() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRegistryRegisterAndLookup(t *testing.T) {
	r := DefaultRegistry()
	if got, want := r.Names(), []string{SchemeEd25519, SchemeEIP191}; !slices.Equal(got, want) {
		t.Fatalf("DefaultRegistry names = %q, want %q", got, want)
	}

	// Re-registering a built-in name is rejected.
	if err := r.Register(fakeScheme(SchemeEIP191)); !errors.Is(err, ErrInvalidScheme) {
		t.Errorf("duplicate Register error = %v, want ErrInvalidScheme", err)
	}

	// An unknown name is ErrUnknownScheme, and the message names it.
	_, err := r.Lookup("secp256r1")
	if !errors.Is(err, ErrUnknownScheme) {
		t.Fatalf("Lookup(unknown) error = %v, want ErrUnknownScheme", err)
	}
	if !strings.Contains(err.Error(), `"secp256r1"`) {
		t.Errorf("Lookup(unknown) error %q does not name the scheme", err)
	}

	// A plugged-in scheme becomes visible to Lookup.
	if err := r.Register(fakeScheme("secp256r1")); err != nil {
		t.Fatalf("Register: %v", err)
	}
	s, err := r.Lookup("secp256r1")
	if err != nil || s.Name() != "secp256r1" {
		t.Fatalf("Lookup after Register = %v, %v", s, err)
	}

	// DefaultRegistry returns independent registries: the plugin above must
	// not leak into a new one.
	if _, err := DefaultRegistry().Lookup("secp256r1"); !errors.Is(err, ErrUnknownScheme) {
		t.Errorf("fresh DefaultRegistry sees a scheme registered elsewhere: %v", err)
	}
}

// TestRegistryConcurrent exercises Lookup racing Register; run with -race.
func TestRegistryConcurrent(t *testing.T) {
	r := DefaultRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_ = r.Register(fakeScheme("plugin_" + string(rune('a'+i))))
		}()
		go func() {
			defer wg.Done()
			if _, err := r.Lookup(SchemeEd25519); err != nil {
				t.Error(err)
			}
			_ = r.Names()
		}()
	}
	wg.Wait()
	if n := len(r.Names()); n != 10 {
		t.Errorf("got %d schemes, want 10", n)
	}
}

func TestUnregister(t *testing.T) {
	r := DefaultRegistry()
	if err := r.Unregister("nope"); !errors.Is(err, ErrUnknownScheme) {
		t.Fatalf("unregister unknown: %v", err)
	}
	if err := r.Unregister(SchemeEIP191); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(SchemeEIP191); !errors.Is(err, ErrUnknownScheme) {
		t.Fatalf("lookup after unregister: %v", err)
	}
	if err := r.Register(eip191Scheme{}); err != nil {
		t.Fatalf("register again: %v", err)
	}
	if got := BuiltinSchemes(); len(got) != 2 || got[0] != SchemeEd25519 || got[1] != SchemeEIP191 {
		t.Fatalf("BuiltinSchemes = %v", got)
	}
}
