package client

import (
	"errors"
	"testing"
)

// Content sealed to a recipient opens with the recipient's key and the
// encryptor's public key, and with nothing else.
func TestSealOpen(t *testing.T) {
	issuer, _ := NewEncryptionKey(nil)
	user, _ := NewEncryptionKey(nil)
	other, _ := NewEncryptionKey(nil)
	ct, err := issuer.Seal([]byte(`{"name":"Alice"}`), user.Public)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := user.Open(ct, issuer.Public)
	if err != nil || string(pt) != `{"name":"Alice"}` {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := other.Open(ct, issuer.Public); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a third key opened the box: %v", err)
	}
	if _, err := user.Open("bm90IGEgYm94", issuer.Public); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("garbage opened: %v", err)
	}
	if _, err := ParseKey32(user.PublicBase64()); err != nil {
		t.Fatal(err)
	}
}
