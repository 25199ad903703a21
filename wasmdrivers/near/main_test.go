package main

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/mr-tron/base58"
)

// TestAccount: Ed25519 keys become their implicit account id, leading zero
// bytes included; secp256k1 keys stay as written; anything else is refused.
func TestAccount(t *testing.T) {
	for _, key := range [][]byte{bytes.Repeat([]byte{0xff}, 32), append([]byte{0, 0}, bytes.Repeat([]byte{7}, 30)...), make([]byte, 32)} {
		got, ok := account("ed25519:" + base58.Encode(key))
		if !ok || got != hex.EncodeToString(key) {
			t.Errorf("%x: %q %v", key, got, ok)
		}
	}
	secp := "secp256k1:" + base58.Encode(bytes.Repeat([]byte{9}, 64))
	if got, ok := account(secp); !ok || got != secp {
		t.Errorf("secp256k1: %q %v", got, ok)
	}
	for _, bad := range []string{
		"ed25519:" + base58.Encode(make([]byte, 31)),
		"ed25519:" + base58.Encode(bytes.Repeat([]byte{1}, 33)),
		"ed25519:0OIl", "ed25519:", "ed448:" + base58.Encode(make([]byte, 32)),
		"alice.near", base58.Encode(make([]byte, 32)),
	} {
		if got, ok := account(bad); ok {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

// TestEvent: the contract's events decode, others are ignored, malformed
// ones and unknown versions or events of the contract are errors.
func TestEvent(t *testing.T) {
	k := "ed25519:" + base58.Encode(bytes.Repeat([]byte{1}, 32))
	acc := hex.EncodeToString(bytes.Repeat([]byte{1}, 32))
	g, err := event(`EVENT_JSON:{"standard":"FractalRegistry","version":"0","event":"grant_deleted","data":{"owner":"` + k +
		`","grantee":"` + k + `","data_id":"d","locked_until":18446744073709551615}}`)
	if err != nil || g.Kind != "deleted" || g.Owner != acc || g.Grantee != acc || g.DataID != "d" || g.LockedUntil != "18446744073709551615" {
		t.Fatalf("%+v %v", g, err)
	}
	for _, ignored := range []string{"plain", `EVENT_JSON:{"standard":"nep141","version":"1.0.0","event":"ft_mint","data":[]}`} {
		if g, err := event(ignored); err != nil || g.Kind != "" {
			t.Errorf("%s: %+v %v", ignored, g, err)
		}
	}
	for _, bad := range []string{
		`EVENT_JSON:{`,
		`EVENT_JSON:{"standard":"FractalRegistry","version":"1","event":"grant_inserted","data":{}}`,
		`EVENT_JSON:{"standard":"FractalRegistry","version":"0","event":"grant_changed","data":{}}`,
		`EVENT_JSON:{"standard":"FractalRegistry","version":"0","event":"grant_inserted","data":{"owner":"` + k + `","grantee":"` + k + `","locked_until":0}}`,
		`EVENT_JSON:{"standard":"FractalRegistry","version":"0","event":"grant_inserted","data":{"owner":"` + k + `","grantee":"` + k + `","data_id":"d","locked_until":1.5}}`,
		`EVENT_JSON:{"standard":"FractalRegistry","version":"0","event":"grant_inserted","data":{"owner":"` + k + `","grantee":"` + k + `","data_id":"d","locked_until":18446744073709551616}}`,
	} {
		if g, err := event(bad); err == nil {
			t.Errorf("%s accepted: %+v", bad, g)
		}
	}
}
