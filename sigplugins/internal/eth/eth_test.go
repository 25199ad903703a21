package eth

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	sdk "github.com/idos-network/idos-node/sdk-wasm"
)

// Checksum agrees with go-ethereum's EIP-55 on the EIP's own test vectors
// and on a spread of addresses.
func TestChecksum(t *testing.T) {
	for _, want := range []string{
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
		"0x52908400098527886E0F7030069857D2E4169EE7", // all caps
		"0xde709f2102306220921060314715629080e2fb77", // all lower
	} {
		addr, _ := hex.DecodeString(want[2:])
		if got := Checksum(addr); got != want {
			t.Errorf("Checksum = %s, want %s", got, want)
		}
	}
	for i := range 64 {
		addr := crypto.Keccak256([]byte{byte(i)})[:20]
		if got, want := Checksum(addr), common.BytesToAddress(addr).Hex(); got != want {
			t.Errorf("Checksum(%x) = %s, go-ethereum says %s", addr, got, want)
		}
	}
}

func TestRecoverAddress(t *testing.T) {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("eth test key")))
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.PubkeyToAddress(key.PublicKey)
	var digest [32]byte
	copy(digest[:], crypto.Keccak256([]byte("message")))
	sig, err := crypto.Sign(digest[:], key) // v is 0 or 1, s is low
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []byte{sig[64], sig[64] + 27} {
		s := append(append([]byte{}, sig[:64]...), v)
		got, err := RecoverAddress("x", digest, s)
		if err != nil || common.BytesToAddress(got) != want {
			t.Fatalf("v=%d: got %x, %v; want %s", v, got, err, want)
		}
	}
	bad := map[string][]byte{
		"short":  sig[:64],
		"v = 2":  append(append([]byte{}, sig[:64]...), 2),
		"r = 0":  append(make([]byte, 32), sig[32:]...),
		"s = 0":  append(append(append([]byte{}, sig[:32]...), make([]byte, 32)...), sig[64]),
		"v = 29": append(append([]byte{}, sig[:64]...), 29),
	}
	for name, s := range bad {
		if _, err := RecoverAddress("x", digest, s); !errors.Is(err, sdk.ErrInvalidSignature) {
			t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
		}
	}
}
