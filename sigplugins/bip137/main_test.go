//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

// vectorFile is testdata/vectors.json, written by testdata/gen.mjs with
// bitcoinjs-message and bitcoinjs-lib (versions in the file), including
// bitcoinjs-message's published fixtures.
type vectorFile struct {
	Packages    map[string]string `json:"packages"`
	MagicHashes []struct {
		Message, Hash string
	} `json:"magic_hashes"`
	MagicHashesRepeated []struct {
		Repeat     int
		Byte, Hash string
	} `json:"magic_hashes_repeated"`
	Vectors []struct {
		Name                       string
		Signer, Message, Signature string
		Status                     sdk.Status
		Identifier                 string
		Source                     string
	}
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 100 || f.Packages["bitcoinjs-message"] == "" {
		t.Fatalf("testdata/vectors.json has %d vectors, packages %v", len(f.Vectors), f.Packages)
	}
	return f
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLibraryVectors runs every generated vector: bitcoinjs-message's
// fixtures, its signatures for each address type, and their corruptions.
func TestLibraryVectors(t *testing.T) {
	valid, fixtures := 0, 0
	for _, v := range loadVectors(t).Vectors {
		t.Run(v.Name, func(t *testing.T) {
			st, text := sdk.Call(mustHex(t, v.Signer), mustHex(t, v.Message), mustHex(t, v.Signature))
			if st != v.Status || text == "" || (st == sdk.StatusValid && text != v.Identifier) {
				t.Fatalf("Call = %d %q, want %d %q", st, text, v.Status, v.Identifier)
			}
			if st == sdk.StatusValid {
				valid++
			}
			if v.Source != "" {
				fixtures++
			}
			t.Logf("%d %s", st, text)
		})
	}
	if valid < 100 || fixtures != 8 {
		t.Errorf("%d valid vectors, %d fixtures", valid, fixtures)
	}
}

// TestMessageHash checks the digest against bitcoinjs-message's published
// magicHash fixtures and its magicHash at each varint width.
func TestMessageHash(t *testing.T) {
	f := loadVectors(t)
	for _, m := range f.MagicHashes {
		if got := MessageHash(mustHex(t, m.Message)); hex.EncodeToString(got[:]) != m.Hash {
			t.Errorf("MessageHash(%s) = %x, want %s", m.Message, got, m.Hash)
		}
	}
	for _, m := range f.MagicHashesRepeated {
		msg := bytes.Repeat(mustHex(t, m.Byte), m.Repeat)
		if got := MessageHash(msg); hex.EncodeToString(got[:]) != m.Hash {
			t.Errorf("MessageHash(%d × %s) = %x, want %s", m.Repeat, m.Byte, got, m.Hash)
		}
	}
	if len(f.MagicHashes) != 3 || len(f.MagicHashesRepeated) < 5 {
		t.Fatalf("%d + %d magic hashes", len(f.MagicHashes), len(f.MagicHashesRepeated))
	}
}

// TestParseAddress checks the address forms against the BIPs' examples.
func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		in, canonical string
		typ           AddrType
		hash          string
	}{
		// BIP-173 "Examples".
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", P2WPKH, "751e76e8199196d454941c45d1b3a323f1433bd6"},
		// The Bitcoin wiki's technical background of version 1 addresses.
		{"1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs", "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs", P2PKH, "f54a5851e9372b87810a8e60cdd2e7cfd80b6e31"},
		// bitcoinjs-message's P2SH-P2WPKH fixture (the key d = 1).
		{"3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN", "3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN", P2SHP2WPKH, "bcfeb728b584253d5f3f70bcb780e9ef218a68f4"},
	} {
		a, err := ParseAddress(c.in)
		if err != nil || a.Type != c.typ || hex.EncodeToString(a.Hash[:]) != c.hash || a.String() != c.canonical {
			t.Errorf("ParseAddress(%s) = %v %x %s, %v", c.in, a.Type, a.Hash, a, err)
		}
	}
	for _, c := range []struct{ in, reason string }{
		{"bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "witness version 2"},                                       // BIP-350 example, version 2
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "witness version 1"},             // BIP-350 Taproot example
		{"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "P2WSH"},                         // BIP-173 P2WSH example
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "mainnet"},                                           // BIP-173 testnet example
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"},                                          // last character changed
		{"BC1SW50QGDZ25J", "witness version 16"},                                                            // BIP-350 example, version 16
		{"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "witness version 1"}, // BIP-350 example
		{"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "mainnet"},                                                   // testnet P2PKH
		{"1111111111111111111114oLvT3", "checksum"},
		{"", "1 to 90"},
		{"0PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs", "base58"},
		{"5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", "25 bytes"}, // a WIF private key, not an address
	} {
		_, err := ParseAddress(c.in)
		if !errors.Is(err, sdk.ErrInvalidSigner) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParseAddress(%q) = %v, want an invalid signer mentioning %q", c.in, err, c.reason)
		}
	}
}

func TestVarint(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{
		{0, "00"}, {252, "fc"}, {253, "fdfd00"}, {0xffff, "fdffff"}, {0x10000, "fe00000100"},
		{0xffffffff, "feffffffff"}, {0x100000000, "ff0000000001000000"},
	} {
		if got := hex.EncodeToString(appendVarint(nil, c.n)); got != c.want {
			t.Errorf("varint(%d) = %s, want %s", c.n, got, c.want)
		}
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"bip137","key_type":"secp256k1","address_format":"Bitcoin mainnet address: P2PKH (1…), P2SH-P2WPKH (3…) or P2WPKH (bc1q…, lowercase)"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}

// devnetSignBytes are the sign bytes of docs/spec/transactions.md's test vectors.
const devnetSignBytes = "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\nPayload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a"

// TestSpecExample pins the values docs/spec/schemes.md#bip137 quotes.
func TestSpecExample(t *testing.T) {
	if d := MessageHash([]byte(devnetSignBytes)); hex.EncodeToString(d[:]) != "5be3db9ede131d755afa4ffbdc684063f8f52b73a3c764e99825ac3dcbb0949a" {
		t.Errorf("digest %x", d)
	}
	rs := "ce0439a167dfbf900aa1c00648f7731ca2b2e0512b1807786cf0434cbb11f9ba6663adcc6f76733460dd48fbe5ebb4d4c0e0520edd724d38c9138f7bd6d61723"
	for _, c := range []struct {
		addr   string
		header string
	}{
		{"1EHNa6Q4Jz2uvNExL497mE43ikXhwF6kZm", "1b"},
		{"1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", "1f"},
		{"3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN", "23"},
		{"3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN", "1f"},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "27"},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "1f"},
	} {
		if st, id := sdk.Call([]byte(c.addr), []byte(devnetSignBytes), mustHex(t, c.header+rs)); st != sdk.StatusValid || id != c.addr {
			t.Errorf("%s header %s: Call = %d %q", c.addr, c.header, st, id)
		}
	}
}
