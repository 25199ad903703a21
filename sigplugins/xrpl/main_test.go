//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/vectors"
)

const vectorFile = "testdata/vectors.json"

// generated is testdata/vectors.json, written by testdata/gen.mjs with
// ripple-keypairs and ripple-address-codec (versions in the file).
type generated struct {
	vectors.File
	Addresses []struct {
		Name      string      `json:"name"`
		PublicKey vectors.Hex `json:"public_key"`
		Address   string      `json:"address"`
	} `json:"addresses"`
	AccountIDs []struct {
		Name      string      `json:"name"`
		AccountID vectors.Hex `json:"account_id"`
		Address   string      `json:"address"`
	} `json:"account_ids"`
}

func load(t *testing.T) generated {
	t.Helper()
	var g generated
	vectors.Load(t, vectorFile, &g)
	if len(g.Cases) == 0 || len(g.Addresses) == 0 || len(g.AccountIDs) == 0 {
		t.Fatalf("%s: no vectors", vectorFile)
	}
	return g
}

// TestLibraryVectors runs the ripple-keypairs cases: its published fixtures
// ("test message", secp256k1 and Ed25519), the sign bytes signed by three
// keys (one the genesis account), and rejections (altered message and
// signature, wrong key, high-S twin, non-canonical DER, wrong key prefix).
func TestLibraryVectors(t *testing.T) {
	for _, c := range load(t).Cases {
		t.Run(c.Name, func(t *testing.T) {
			st, text := sdk.Call(c.Signer, c.Msg, c.Sig)
			if st != sdk.Status(c.Status) || text == "" {
				t.Fatalf("Call = %d %q, want status %d", st, text, c.Status)
			}
			if c.Status == 0 && text != c.Identifier {
				t.Fatalf("identifier %q, want %q", text, c.Identifier)
			}
		})
	}
}

// TestAddresses checks the identifier against ripple-keypairs' deriveAddress
// and ripple-address-codec's encodeAccountID, including xrpl.org's special
// addresses ACCOUNT_ZERO (rrrrrrrrrrrrrrrrrrrrrhoLvTp) and ACCOUNT_ONE.
func TestAddresses(t *testing.T) {
	g := load(t)
	for _, a := range g.Addresses {
		if got := address(a.PublicKey); got != a.Address {
			t.Errorf("%s: address %q, want %q", a.Name, got, a.Address)
		}
	}
	for _, a := range g.AccountIDs {
		if got := encodeAccountID(a.AccountID); got != a.Address {
			t.Errorf("%s: encodeAccountID %q, want %q", a.Name, got, a.Address)
		}
	}
}

func mustHexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseDER: the fully canonical DER rules, case by case.
func TestParseDER(t *testing.T) {
	one := "020101"
	halfN := "02207fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"
	halfNPlus1 := "02207fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1"
	nMinus1 := "022100fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"
	n := "022100fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
	long := "0221010000000000000000000000000000000000000000000000000000000000000000" // 33 bytes, no pad
	seq := func(parts ...string) string {
		body := ""
		for _, p := range parts {
			body += p
		}
		return hex.EncodeToString([]byte{0x30, byte(len(body) / 2)}) + body
	}
	for i, c := range []struct {
		der string
		ok  bool
	}{
		0:  {seq(one, one), true},              // smallest valid
		1:  {seq(nMinus1, halfN), true},        // largest r, largest low s
		2:  {seq(one, halfNPlus1), false},      // high S
		3:  {seq(n, one), false},               // r = n
		4:  {seq("020100", one), false},        // r = 0
		5:  {seq(one, "020100"), false},        // s = 0
		6:  {seq("02020001", one), false},      // superfluous leading zero
		7:  {seq("020180", one), false},        // negative r
		8:  {seq("02020080", one), true},       // 0x80 needs its pad
		9:  {seq(one, one) + "00", false},      // trailing byte (length byte covers the body only)
		10: {"3007" + one + one + "00", false}, // length covers a trailing byte
		11: {"3106" + one + one, false},        // not a SEQUENCE
		12: {seq("030101", one), false},        // not an INTEGER
		13: {seq("020201", one), false},        // INTEGER longer than the rest
		14: {seq(one), false},                  // one INTEGER (and too short)
		15: {"", false},                        // empty
		16: {seq(long, one), false},            // 33 bytes without a pad
	} {
		rs, err := parseDER(mustHexT(t, c.der))
		if (err == nil) != c.ok {
			t.Errorf("%d: parseDER(%s) = %v, want ok=%v", i, c.der, err, c.ok)
			continue
		}
		if c.ok && len(rs) != 64 {
			t.Errorf("%d: %d bytes", i, len(rs))
		}
	}
}

// derSig is the minimal DER encoding of a 64-byte r || s.
func derSig(rs []byte) []byte {
	enc := func(x []byte) []byte {
		x = bytes.TrimLeft(x, "\x00")
		if len(x) == 0 || x[0]&0x80 != 0 {
			x = append([]byte{0}, x...)
		}
		return append([]byte{0x02, byte(len(x))}, x...)
	}
	body := append(enc(rs[:32]), enc(rs[32:64])...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

// TestSecp256k1Random signs random messages with go-ethereum (RFC 6979, low
// S) and checks that the DER form verifies and its high-S twin does not.
func TestSecp256k1Random(t *testing.T) {
	n := crypto.S256().Params().N
	for i := range 50 {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub := crypto.CompressPubkey(&key.PublicKey)
		msg := []byte{byte(i), 'x'}
		h := sha512Half(msg)
		rsv, err := crypto.Sign(h[:], key)
		if err != nil {
			t.Fatal(err)
		}
		if st, text := sdk.Call(pub, msg, derSig(rsv)); st != sdk.StatusValid || text != address(pub) {
			t.Fatalf("%d: Call = %d %q", i, st, text)
		}
		high := new(big.Int).Sub(n, new(big.Int).SetBytes(rsv[32:64])).FillBytes(make([]byte, 32))
		twin := append(append([]byte{}, rsv[:32]...), high...)
		if st, _ := sdk.Call(pub, msg, derSig(twin)); st != sdk.StatusInvalidSignature {
			t.Fatalf("%d: high-S twin: status %d", i, st)
		}
		if st, _ := sdk.Call(pub, append(msg, 0), derSig(rsv)); st != sdk.StatusInvalidSignature {
			t.Fatalf("%d: extended message: status %d", i, st)
		}
	}
}

// TestVerifyErrors covers signers the library cannot express.
func TestVerifyErrors(t *testing.T) {
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("m")
	h := sha512Half(msg)
	rsv, err := crypto.Sign(h[:], key)
	if err != nil {
		t.Fatal(err)
	}
	edPriv := ed25519.NewKeyFromSeed(make([]byte, 32))
	edPub := append([]byte{prefixEd25519}, edPriv.Public().(ed25519.PublicKey)...)
	for _, c := range []struct {
		name             string
		signer, msg, sig []byte
		want             sdk.Status
	}{
		{"secp256k1 compressed (control)", crypto.CompressPubkey(&key.PublicKey), msg, derSig(rsv), sdk.StatusValid},
		{"secp256k1 uncompressed 65 bytes", crypto.FromECDSAPub(&key.PublicKey), msg, derSig(rsv), sdk.StatusInvalidSigner},
		{"ed25519 (control)", edPub, msg, ed25519.Sign(edPriv, msg), sdk.StatusValid},
		{"ed25519 empty signature", edPub, msg, nil, sdk.StatusInvalidSignature},
		{"secp256k1 empty signature", crypto.CompressPubkey(&key.PublicKey), msg, nil, sdk.StatusInvalidSignature},
		{"prefix 0x00", append([]byte{0}, edPub[1:]...), msg, ed25519.Sign(edPriv, msg), sdk.StatusInvalidSigner},
	} {
		if st, text := sdk.Call(c.signer, c.msg, c.sig); st != c.want || text == "" {
			t.Errorf("%s: status %d (%q), want %d", c.name, st, text, c.want)
		}
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"xrpl","key_type":"secp256k1","address_format":"XRPL classic address (r..., base58 of RIPEMD160(SHA256(33-byte key))); secp256k1 or 0xED-prefixed Ed25519 key"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}
