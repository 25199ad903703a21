package wire

import (
	"testing"
	"time"
)

// The values below are API: a client built against an older node branches
// on them. A change here must be a deliberate, versioned one.
func TestPinnedValues(t *testing.T) {
	codes := []uint32{CodeOK, CodeMalformed, CodeTooLarge, CodeWrongChain, CodeUnauthorized,
		CodeBadNonce, CodeUnknownAction, CodeActionFailed, CodeNotReady, CodeForbidden}
	for i, c := range codes {
		if c != uint32(i) {
			t.Errorf("result code #%d is %d, want %d", i, c, i)
		}
	}
	seen := map[string]bool{}
	for _, c := range ErrorCodes() {
		if seen[c] {
			t.Errorf("error code %q listed twice", c)
		}
		seen[c] = true
	}
	if len(seen) != 21 {
		t.Errorf("%d error codes, want 21", len(seen))
	}
	if ErrUnsupportedMedia != "unsupported_media_type" {
		t.Errorf("ErrUnsupportedMedia = %q", ErrUnsupportedMedia)
	}
	// Signed texts: a wallet signs exactly these bytes.
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	if got, want := ChallengeMessage("ab", "cd", exp), "idOS read authentication\nNode: ab\nChallenge: cd\nExpires: 2026-01-02T02:04:05Z"; got != want {
		t.Errorf("ChallengeMessage = %q, want %q", got, want)
	}
	if got, want := LinkMessage("u", "eip191", "0xA"), "idOS: link wallet\nUser: u\nWallet type: eip191\nAddress: 0xA"; got != want {
		t.Errorf("LinkMessage = %q, want %q", got, want)
	}
}
