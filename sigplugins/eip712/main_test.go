//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
	"github.com/idos-network/idos-node/sigplugins/internal/eth"
)

// vectorFile is testdata/vectors.json, written by testdata/gen.mjs with
// ethers and @metamask/eth-sig-util (versions in the file).
type vectorFile struct {
	Packages            map[string]string `json:"packages"`
	DomainSeparator     string            `json:"domain_separator"`
	StructHashEmptyText string            `json:"struct_hash_empty_text"`
	Mail                struct {
		DomainSeparator string `json:"domain_separator"`
		StructHash      string `json:"struct_hash"`
		Digest          string `json:"digest"`
		Signature       string `json:"signature"`
		Address         string `json:"address"`
	} `json:"eip712_mail_example"`
	Vectors []struct {
		Name                       string
		Signer, Message, Signature string
		Status                     sdk.Status
		Identifier                 string
		Digest                     string
		LibrariesAccept            bool `json:"libraries_accept"`
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
	if len(f.Vectors) < 30 || f.Packages["ethers"] == "" {
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

func hash32(t *testing.T, s string) (h [32]byte) {
	t.Helper()
	if copy(h[:], mustHex(t, s)) != 32 {
		t.Fatalf("%q is not 32 bytes", s)
	}
	return h
}

// TestLibraryVectors runs every generated vector: signatures by ethers and
// MetaMask's eth-sig-util over the idOS typed data, and their corruptions.
func TestLibraryVectors(t *testing.T) {
	f := loadVectors(t)
	valid := 0
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			msg := mustHex(t, v.Message)
			if v.Digest != "" {
				if got := TypedDataHash(msg); got != hash32(t, v.Digest) {
					t.Fatalf("TypedDataHash = %x, libraries say %s", got, v.Digest)
				}
			}
			st, text := sdk.Call(mustHex(t, v.Signer), msg, mustHex(t, v.Signature))
			if st != v.Status || text == "" || (st == sdk.StatusValid && text != v.Identifier) {
				t.Fatalf("Call = %d %q, want %d %q", st, text, v.Status, v.Identifier)
			}
			if st == sdk.StatusValid {
				valid++
			}
			t.Logf("%d %s", st, text)
		})
	}
	if valid < 20 {
		t.Errorf("only %d valid vectors", valid)
	}
}

// TestDomain pins the fixed domain separator and type hash against the
// libraries' values.
func TestDomain(t *testing.T) {
	f := loadVectors(t)
	if got := DomainSeparator(); got != hash32(t, f.DomainSeparator) {
		t.Errorf("DomainSeparator = %x, want %s", got, f.DomainSeparator)
	}
	if got := StructHash(nil); got != hash32(t, f.StructHashEmptyText) {
		t.Errorf("StructHash(empty) = %x, want %s", got, f.StructHashEmptyText)
	}
}

// TestMailExample checks the digest composition and recovery against the
// EIP-712 specification's example (https://eips.ethereum.org/EIPS/eip-712,
// assets/eip-712/Example.js: Mail from Cow to Bob, key keccak256("cow")).
func TestMailExample(t *testing.T) {
	m := loadVectors(t).Mail
	d := Digest(hash32(t, m.DomainSeparator), hash32(t, m.StructHash))
	if hex.EncodeToString(d[:]) != "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2" || d != hash32(t, m.Digest) {
		t.Fatalf("Digest = %x", d)
	}
	sig := mustHex(t, m.Signature)
	for _, v := range []byte{28, 1} {
		sig[64] = v
		addr, err := eth.RecoverAddress("eip712", d, sig)
		if err != nil || eth.Checksum(addr) != m.Address || m.Address != "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" {
			t.Fatalf("v=%d: RecoverAddress = %s, %v; want %s", v, eth.Checksum(addr), err, m.Address)
		}
	}
	sig[64] = 27
	if addr, err := eth.RecoverAddress("eip712", d, sig); err == nil && eth.Checksum(addr) == m.Address {
		t.Fatal("v=27 recovers the same signer")
	}
}

// TestMatchesGoEthereum compares the digest with go-ethereum's independent
// EIP-712 encoder (signer/core/apitypes, what clef signs) on random texts and
// verifies signatures by fresh keys.
func TestMatchesGoEthereum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 12))
	for i := range 30 {
		text := make([]byte, []int{0, 1, 31, 32, 33, 200, 1000}[i%7])
		for j := range text {
			text[j] = byte(0x20 + rng.IntN(0x5f))
		}
		td := apitypes.TypedData{
			Types: apitypes.Types{
				"EIP712Domain":    {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}},
				"IdosTransaction": {{Name: "text", Type: "string"}},
			},
			PrimaryType: PrimaryType,
			Domain:      apitypes.TypedDataDomain{Name: DomainName, Version: DomainVersion},
			Message:     apitypes.TypedDataMessage{"text": string(text)},
		}
		want, _, err := apitypes.TypedDataAndHash(td)
		if err != nil {
			t.Fatal(err)
		}
		if got := TypedDataHash(text); hex.EncodeToString(got[:]) != hex.EncodeToString(want) {
			t.Fatalf("text %q: TypedDataHash = %x, go-ethereum %x", text, got, want)
		}
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		sig, err := crypto.Sign(want, key)
		if err != nil {
			t.Fatal(err)
		}
		sig[64] += 27
		addr := crypto.PubkeyToAddress(key.PublicKey)
		if st, id := sdk.Call(addr.Bytes(), text, sig); st != sdk.StatusValid || id != addr.Hex() {
			t.Fatalf("Call = %d %q, want 0 %s", st, id, addr.Hex())
		}
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"eip712","key_type":"secp256k1","address_format":"EIP-55 checksummed hex address (0x + 40 hex)"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}

// devnetSignBytes are the sign bytes of docs/spec/transactions.md's test vectors.
const devnetSignBytes = "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\nPayload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a"

// TestSpecExample pins the values docs/spec/schemes.md#eip712 quotes.
func TestSpecExample(t *testing.T) {
	if d := DomainSeparator(); hex.EncodeToString(d[:]) != "f3002fe2d72bfdb9b30e43ad152067454dff364b2a3c8452a92b3a9c68ee4efd" {
		t.Errorf("domain separator %x", d)
	}
	if h := sdk.Keccak256([]byte(TxType)); hex.EncodeToString(h[:]) != "4f390f59acce0a5d0cd94060d3640b41c758de3b84937fbc73a22be975e1f8c3" {
		t.Errorf("type hash %x", h)
	}
	if d := TypedDataHash([]byte(devnetSignBytes)); hex.EncodeToString(d[:]) != "669fd327a7bb4e6e06638f0d81b08779325c99e1a64aef5ce656ce88482c8085" {
		t.Errorf("digest %x", d)
	}
	sig := mustHex(t, "76ca08962c63ccf7a043e8cb8cb7590f69bfba5352978ffda0a6def34cb9425378df888405937179be93cca0666ce7f94c758bbd0e46019b554c4b8b45bb9e211c")
	st, id := sdk.Call(mustHex(t, "2c7536e3605d9c16a7a3d7b1898e529396a65c23"), []byte(devnetSignBytes), sig)
	if st != sdk.StatusValid || id != "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23" {
		t.Errorf("Call = %d %q", st, id)
	}
}
