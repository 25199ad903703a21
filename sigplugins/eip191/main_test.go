//go:build !wasip1

// Native tests: the host crypto is the SDK's Go implementation.

package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/auth"
	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

// The personal_sign example from the web3.js documentation
// (web3.eth.accounts.sign("Some data", privateKey),
// https://web3js.readthedocs.io/en/v1.10.0/web3-eth-accounts.html#sign),
// the vector node/auth/eip191_test.go pins for the native scheme.
const (
	web3Key     = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	web3Msg     = "Some data"
	web3Hash    = "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655"
	web3Sig     = "b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c"
	web3Address = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
)

func web3Signer() []byte { return mustHex(web3Address[2:]) }

func TestWeb3Vector(t *testing.T) {
	if h := textHash([]byte(web3Msg)); hex.EncodeToString(h[:]) != web3Hash {
		t.Fatalf("textHash = %x, want %s", h, web3Hash)
	}
	st, text := sdk.Call(web3Signer(), []byte(web3Msg), mustHex(web3Sig))
	if st != sdk.StatusValid || text != web3Address {
		t.Fatalf("Call = %d %q, want 0 %q", st, text, web3Address)
	}
}

func TestMetadata(t *testing.T) {
	want := `{"abi":1,"kind":"signature","scheme":"eip191_wasm","key_type":"secp256k1","address_format":"EIP-55 checksummed hex address (0x + 40 hex)"}`
	if got := string(sdk.MetadataJSON()); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
}

var secp256k1NBig = crypto.S256().Params().N

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestVerify is node/auth's eip191 table, run through the SDK's status mapping.
func TestVerify(t *testing.T) {
	msg, sig := []byte(web3Msg), mustHex(web3Sig)
	addr := web3Signer()
	withV := func(v byte) []byte { c := slices.Clone(sig); c[64] = v; return c }
	flip := func(b []byte, i int) []byte { c := slices.Clone(b); c[i] ^= 1; return c }
	setWord := func(i int, x *big.Int) []byte { c := slices.Clone(sig); x.FillBytes(c[32*i : 32*i+32]); return c }
	s := new(big.Int).SetBytes(sig[32:64])
	highS := setWord(1, new(big.Int).Sub(secp256k1NBig, s))
	highS[64] = 27 + 28 - sig[64]
	// The high-S twin is a valid signature by the same key: only the low-S rule rejects it.
	if pub, err := crypto.SigToPub(crypto.Keccak256([]byte("\x19Ethereum Signed Message:\n9"+web3Msg)), append(highS[:64:64], highS[64]-27)); err != nil ||
		!bytes.Equal(crypto.PubkeyToAddress(*pub).Bytes(), addr) {
		t.Fatalf("test setup: high-S twin does not recover the signer (%v)", err)
	}
	halfN := new(big.Int).Rsh(secp256k1NBig, 1)
	other := mustHex("00000000000000000000000000000000000000aa")
	tests := []struct {
		name             string
		signer, msg, sig []byte
		want             sdk.Status
	}{
		{"web3 vector v=28", addr, msg, sig, sdk.StatusValid},
		{"raw recovery id v=1", addr, msg, withV(1), sdk.StatusValid},
		{"wrong recovery id v=27", addr, msg, withV(27), sdk.StatusInvalidSignature},
		{"wrong recovery id v=0", addr, msg, withV(0), sdk.StatusInvalidSignature},
		{"v=2", addr, msg, withV(2), sdk.StatusInvalidSignature},
		{"v=29", addr, msg, withV(29), sdk.StatusInvalidSignature},
		{"v=26", addr, msg, withV(26), sdk.StatusInvalidSignature},
		{"v=37 (EIP-155 style)", addr, msg, withV(37), sdk.StatusInvalidSignature},
		{"high-S twin", addr, msg, highS, sdk.StatusInvalidSignature},
		{"s = n/2+1", addr, msg, setWord(1, new(big.Int).Add(halfN, big.NewInt(1))), sdk.StatusInvalidSignature},
		{"r zero", addr, msg, setWord(0, big.NewInt(0)), sdk.StatusInvalidSignature},
		{"s zero", addr, msg, setWord(1, big.NewInt(0)), sdk.StatusInvalidSignature},
		{"r = n", addr, msg, setWord(0, secp256k1NBig), sdk.StatusInvalidSignature},
		{"flipped bit in r", addr, msg, flip(sig, 0), sdk.StatusInvalidSignature},
		{"flipped bit in s", addr, msg, flip(sig, 40), sdk.StatusInvalidSignature},
		{"flipped bit in msg", addr, flip(msg, 0), sig, sdk.StatusInvalidSignature},
		{"wrong signer", other, msg, sig, sdk.StatusInvalidSignature},
		{"signer 19 bytes", addr[:19], msg, sig, sdk.StatusInvalidSigner},
		{"signer 21 bytes", append(slices.Clone(addr), 0), msg, sig, sdk.StatusInvalidSigner},
		{"signer 32 bytes", make([]byte, 32), msg, sig, sdk.StatusInvalidSigner},
		{"sig 64 bytes", addr, msg, sig[:64], sdk.StatusInvalidSignature},
		{"sig 66 bytes", addr, msg, append(slices.Clone(sig), 0), sdk.StatusInvalidSignature},
		{"sig empty", addr, msg, nil, sdk.StatusInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, text := sdk.Call(tt.signer, tt.msg, tt.sig)
			if st != tt.want {
				t.Fatalf("status = %d (%q), want %d", st, text, tt.want)
			}
			if st == sdk.StatusValid && text != web3Address {
				t.Fatalf("identifier = %q", text)
			}
			if text == "" {
				t.Fatal("empty text")
			}
		})
	}
}

// TestMatchesNative checks the plugin against the node's native eip191
// scheme on signatures by fresh keys over messages of several lengths and on
// random single-byte corruptions: same verdict, same identifier.
func TestMatchesNative(t *testing.T) {
	native, err := auth.DefaultRegistry().Lookup(auth.SchemeEIP191)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		key, _ := crypto.GenerateKey()
		s := auth.NewEIP191Signer(key)
		msg := make([]byte, []int{0, 1, 9, 10, 99, 100, 1000}[i%7])
		for j := range msg {
			msg[j] = byte(rng.IntN(256))
		}
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		signer := s.SignerID()
		cases := [][3][]byte{{signer, msg, sig}}
		for range 5 {
			c := [3][]byte{slices.Clone(signer), slices.Clone(msg), slices.Clone(sig)}
			k := rng.IntN(3)
			if len(c[k]) > 0 {
				c[k][rng.IntN(len(c[k]))] ^= byte(1 + rng.IntN(255))
			}
			cases = append(cases, c)
		}
		for _, c := range cases {
			wantID, wantErr := native.Verify(c[0], c[1], c[2])
			gotID, gotErr := verify(c[0], c[1], c[2])
			if gotID != wantID || (gotErr == nil) != (wantErr == nil) ||
				errors.Is(gotErr, sdk.ErrInvalidSigner) != errors.Is(wantErr, auth.ErrInvalidSigner) {
				t.Fatalf("plugin %q, %v; native %q, %v", gotID, gotErr, wantID, wantErr)
			}
		}
	}
}
