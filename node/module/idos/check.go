package idos

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/schemename"
)

// Size limits on stored fields (docs/spec/data-model.md).
const (
	MaxContentBytes = 48 << 10
	MaxNotesBytes   = 4 << 10
	MaxFieldBytes   = 256
)

var (
	uuidPattern  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	identPattern = regexp.MustCompile(`^[^\s:]{1,128}$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", module.ErrInvalidPayload, fmt.Sprintf(format, args...))
}

// checkID requires a lowercase RFC 4122 UUID: clients choose IDs, so the
// node never draws randomness.
func checkID(field, s string) error {
	if !uuidPattern.MatchString(s) {
		return invalid("%s %q must be a lowercase UUID", field, s)
	}
	return nil
}

// checkAccountID requires "scheme:identifier": a scheme name, then 1 to
// 128 characters without white space or colon.
func checkAccountID(field, s string) error {
	scheme, ident, ok := strings.Cut(s, ":")
	if !ok || !schemename.Valid(scheme) || !identPattern.MatchString(ident) {
		return invalid("%s %q must be an account id scheme:identifier", field, s)
	}
	return nil
}

// checkText bounds a stored text field; TEXT may not carry NUL (the
// changeset capture reads it as a C string) and must be UTF-8.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return invalid("%s is required", field)
	case len(s) > max:
		return invalid("%s is %d bytes, at most %d", field, len(s), max)
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return invalid("%s must be UTF-8 text without NUL", field)
	}
	return nil
}

// checkKey32 requires base64 of a 32-byte key (X25519, ed25519).
func checkKey32(field, s string) error {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return invalid("%s must be a 32-byte key in standard base64", field)
	}
	return nil
}

// checkCiphertext requires standard base64 within the size limit; the node
// cannot and does not look inside.
func checkCiphertext(field, s string) error {
	if err := checkText(field, s, MaxContentBytes, true); err != nil {
		return err
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return invalid("%s must be standard base64 ciphertext", field)
	}
	return nil
}
