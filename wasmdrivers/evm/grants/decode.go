package grants

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"golang.org/x/crypto/sha3"
)

// Event topics: keccak256 of the events' signatures in contract/Grants.sol.
var (
	topicAdded   = "0x" + hexString(keccak([]byte("GrantAdded(address,address,string,uint256,string)")))
	topicDeleted = "0x" + hexString(keccak([]byte("GrantDeleted(address,address,string,uint256,string)")))
)

func keccak(b []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(b)
	return h.Sum(nil)
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

// quantity parses an Ethereum JSON-RPC quantity ("0x1a").
func quantity(s string) (uint64, error) {
	if !strings.HasPrefix(s, "0x") || len(s) < 3 {
		return 0, fmt.Errorf("bad quantity %q", s)
	}
	return strconv.ParseUint(s[2:], 16, 64)
}

func hexQ(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

func hexBytes(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, fmt.Errorf("bad hex %q", s)
	}
	return hex.DecodeString(s[2:])
}

// topicAddress reads an indexed address: 12 zero bytes and 20 of address.
func topicAddress(t string) (string, error) {
	b, err := hexBytes(t)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("bad address topic %q", t)
	}
	for _, z := range b[:12] {
		if z != 0 {
			return "", fmt.Errorf("address topic %q has high bytes", t)
		}
	}
	return "0x" + hexString(b[12:]), nil
}

// decodeData reads the events' data, abi.encode(uint256 lockedUntil, string
// dataIdText): the number, the string's offset (64), its length and bytes.
func decodeData(s string) (locked, dataID string, err error) {
	b, err := hexBytes(s)
	if err != nil {
		return "", "", err
	}
	if len(b) < 96 || len(b)%32 != 0 {
		return "", "", fmt.Errorf("event data of %d bytes", len(b))
	}
	word := func(i int) *big.Int { return new(big.Int).SetBytes(b[i : i+32]) }
	if off := word(32); off.Cmp(big.NewInt(64)) != 0 {
		return "", "", fmt.Errorf("string offset %s, want 64", off)
	}
	n := word(64)
	if !n.IsUint64() || n.Uint64() > uint64(len(b)-96) {
		return "", "", errors.New("string length beyond the data")
	}
	str := b[96 : 96+n.Uint64()]
	return word(0).String(), string(str), nil
}
