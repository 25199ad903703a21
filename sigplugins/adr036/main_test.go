//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

// vectorFile is testdata/vectors.json, written by testdata/gen.mjs with
// Keplr's @keplr-wallet/cosmos and CosmJS (versions in the file).
type vectorFile struct {
	Packages map[string]string `json:"packages"`
	HRP      string            `json:"hrp"`
	Vectors  []struct {
		Name                       string
		Signer, Message, Signature string
		Status                     sdk.Status
		Identifier                 string
		SignDoc                    string `json:"sign_doc"`
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
	if len(f.Vectors) < 30 || f.Packages["@keplr-wallet/cosmos"] == "" || f.HRP != HRP {
		t.Fatalf("testdata/vectors.json has %d vectors, packages %v, hrp %q", len(f.Vectors), f.Packages, f.HRP)
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

// TestLibraryVectors runs every generated vector: CosmJS amino signatures
// over Keplr's ADR-036 document, verified by Keplr, and their corruptions.
// Valid vectors also pin the exact sign document and the address.
func TestLibraryVectors(t *testing.T) {
	valid := 0
	for _, v := range loadVectors(t).Vectors {
		t.Run(v.Name, func(t *testing.T) {
			signer, msg := mustHex(t, v.Signer), mustHex(t, v.Message)
			if v.SignDoc != "" {
				if got := string(SignDoc(Address(signer), msg)); got != v.SignDoc {
					t.Fatalf("SignDoc =\n%s\nCosmJS serializes\n%s", got, v.SignDoc)
				}
			}
			st, text := sdk.Call(signer, msg, mustHex(t, v.Signature))
			if st != v.Status || text == "" || (st == sdk.StatusValid && text != v.Identifier) {
				t.Fatalf("Call = %d %q, want %d %q", st, text, v.Status, v.Identifier)
			}
			if st == sdk.StatusValid {
				valid++
			}
		})
	}
	if valid < 15 {
		t.Errorf("only %d valid vectors", valid)
	}
}

// TestAddress checks the identifier of the BIP-39 test mnemonic ("abandon
// ... about") at m/44'/118'/0'/0/0, the address Cosmos wallets show for it.
func TestAddress(t *testing.T) {
	pub := mustHex(t, loadVectors(t).Vectors[0].Signer)
	if got := Address(pub); got != "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4" {
		t.Fatalf("Address = %s", got)
	}
}

// TestGoSigner signs documents with go-ethereum's secp256k1 (an independent
// signer) and checks the verdicts on random keys and corruptions.
func TestGoSigner(t *testing.T) {
	for i := range 20 {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub := crypto.CompressPubkey(&key.PublicKey)
		msg := []byte("idOS transaction v1\nNonce: " + string(rune('0'+i%10)))
		digest := sdk.SHA256(SignDoc(Address(pub), msg))
		rsv, err := crypto.Sign(digest[:], key)
		if err != nil {
			t.Fatal(err)
		}
		sig := rsv[:64]
		if st, id := sdk.Call(pub, msg, sig); st != sdk.StatusValid || id != Address(pub) {
			t.Fatalf("Call = %d %q", st, id)
		}
		bad := slices.Clone(sig)
		bad[i%64] ^= 0x80
		if st, _ := sdk.Call(pub, msg, bad); st != sdk.StatusInvalidSignature {
			t.Errorf("corrupted signature: status %d", st)
		}
		// A 33-byte signer with a valid prefix but an X with no curve point is
		// an invalid signature (the key cannot verify anything), not a trap.
		notOnCurve := slices.Clone(pub)
		copy(notOnCurve[1:], make([]byte, 32))
		notOnCurve[32] = 5
		if _, err := crypto.DecompressPubkey(notOnCurve); err == nil {
			t.Fatal("test setup: x = 5 is on the curve")
		}
		if st, _ := sdk.Call(notOnCurve, msg, sig); st != sdk.StatusInvalidSignature {
			t.Errorf("signer not on the curve: status %d", st)
		}
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"adr036","key_type":"secp256k1","address_format":"bech32 account address, prefix cosmos (cosmos1…)"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}

// devnetSignBytes are the sign bytes of docs/spec/transactions.md's test vectors.
const devnetSignBytes = "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\nPayload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a"

// TestSpecExample pins the values docs/spec/schemes.md#adr036 quotes.
func TestSpecExample(t *testing.T) {
	pub := mustHex(t, "024f4e2ad99c34d60b9ba6283c9431a8418af8673212961f97a77b6377fcd05b62")
	const addr = "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"
	doc := SignDoc(Address(pub), []byte(devnetSignBytes))
	want := `{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"","msgs":[{"type":"sign/MsgSignData","value":{"data":"aWRPUyB0cmFuc2FjdGlvbiB2MQpDaGFpbiBJRDogaWRvcy1kZXZuZXQKQWN0aW9uOiBrdi5wdXQKTm9uY2U6IDcKUGF5bG9hZCBTSEEtMjU2OiA3MGQxZjM5YmJkZjQ2NjI4NDEwODhhYmE5OGRmNDkyNWRhNDNlNzBlYTQ4ZjUwMzU1MDc4MzUxZmNlMjUxYjZh","signer":"` + addr + `"}}],"sequence":"0"}`
	if string(doc) != want {
		t.Errorf("sign document %s", doc)
	}
	if h := sdk.SHA256(doc); hex.EncodeToString(h[:]) != "7d1816dbdc96479f918df048fa1e9ab17fc90f39b53d4653f632a189283b49f8" {
		t.Errorf("SHA-256 %x", h)
	}
	sig := mustHex(t, "26ea103ecb98a176108c98b0dd4c019cadfc77a41d5cdc2ece9bb42c7dbd8c9c0cfcf4bf046b37b02aad3f6b884eefe9729cc3a729d92ef5601ec572bf299a2f")
	if st, id := sdk.Call(pub, []byte(devnetSignBytes), sig); st != sdk.StatusValid || id != addr {
		t.Errorf("Call = %d %q", st, id)
	}
}
