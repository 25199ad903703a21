// Package evmchain is a real EVM chain for tests: go-ethereum's simulated
// backend (an in-process geth node with its dev-mode beacon, a block per
// Commit, chain id 1337) serving HTTP JSON-RPC on loopback, with the grant
// contract (wasmdrivers/evm/contract) deployed. The test drives the chain's
// height itself with Commit, so it decides when a block becomes final.
package evmchain

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
)

// ChainID is the simulated backend's chain id, and CAIP2 its CAIP-2 name.
const (
	ChainID = 1337
	CAIP2   = "eip155:1337"
)

// Chain is a running simulated chain with the grant contract.
type Chain struct {
	t       testing.TB
	Backend *simulated.Backend
	// URL is the HTTP JSON-RPC endpoint on loopback.
	URL string
	// Key is the funded account that deployed the contract and sends
	// every transaction (the grants' owner).
	Key      *ecdsa.PrivateKey
	ABI      abi.ABI
	Contract common.Address
}

// FreePort returns a loopback port that was free a moment ago. The
// simulated backend does not expose its node, so the HTTP server's actual
// address cannot be read back after listening on port 0.
func FreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// contractDir is wasmdrivers/evm/contract, found from this file's place
// in the repository.
func contractDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "wasmdrivers", "evm", "contract")
}

// New starts a chain funding key (nil: a fresh key) and deploys the grant
// contract; it stops with the test.
func New(t testing.TB, key *ecdsa.PrivateKey) *Chain {
	t.Helper()
	if key == nil {
		var err error
		if key, err = crypto.GenerateKey(); err != nil {
			t.Fatal(err)
		}
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	port := FreePort(t)
	b := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}},
		func(nc *node.Config, _ *ethconfig.Config) {
			nc.HTTPHost, nc.HTTPPort, nc.HTTPModules = "127.0.0.1", port, []string{"eth"}
		})
	t.Cleanup(func() { _ = b.Close() })
	abiJSON, err := os.ReadFile(filepath.Join(contractDir(), "Grants.abi"))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := abi.JSON(strings.NewReader(string(abiJSON)))
	if err != nil {
		t.Fatal(err)
	}
	c := &Chain{t: t, Backend: b, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Key: key, ABI: parsed}
	binHex, err := os.ReadFile(filepath.Join(contractDir(), "Grants.bin"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := hex.DecodeString(strings.TrimSpace(string(binHex)))
	if err != nil {
		t.Fatal(err)
	}
	rcpt := c.Send(nil, code)
	if rcpt.Status != types.ReceiptStatusSuccessful {
		t.Fatal("contract deployment reverted")
	}
	c.Contract = rcpt.ContractAddress
	return c
}

// ContractHex is the contract address as chain configs and observations
// write it (lowercase hex).
func (c *Chain) ContractHex() string { return strings.ToLower(c.Contract.Hex()) }

// Send signs and sends a transaction, mines it in one block (Commit) and
// returns its receipt, whatever its status.
func (c *Chain) Send(to *common.Address, data []byte) *types.Receipt {
	c.t.Helper()
	ctx := context.Background()
	cl := c.Backend.Client()
	from := crypto.PubkeyToAddress(c.Key.PublicKey)
	nonce, err := cl.PendingNonceAt(ctx, from)
	if err != nil {
		c.t.Fatal(err)
	}
	// A fixed gas limit, so a reverting call is mined (status 0) rather
	// than refused by gas estimation.
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(ChainID), Nonce: nonce, To: to, Gas: 3_000_000,
		GasFeeCap: big.NewInt(100e9), GasTipCap: big.NewInt(1e9), Data: data})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(ChainID)), c.Key)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cl.SendTransaction(ctx, signed); err != nil {
		c.t.Fatal(err)
	}
	c.Backend.Commit()
	rcpt, err := cl.TransactionReceipt(ctx, signed.Hash())
	if err != nil {
		c.t.Fatal(err)
	}
	return rcpt
}

// Try calls a contract method in a mined transaction and returns its
// receipt, reverted or not.
func (c *Chain) Try(method string, args ...any) *types.Receipt {
	c.t.Helper()
	data, err := c.ABI.Pack(method, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.Send(&c.Contract, data)
}

// Call is Try failing the test if the transaction reverted.
func (c *Chain) Call(method string, args ...any) *types.Receipt {
	c.t.Helper()
	r := c.Try(method, args...)
	if r.Status != types.ReceiptStatusSuccessful {
		c.t.Fatalf("%s: transaction %s reverted", method, r.TxHash)
	}
	return r
}

// Commit mines n empty blocks.
func (c *Chain) Commit(n int) {
	for range n {
		c.Backend.Commit()
	}
}

// Head is the latest block number.
func (c *Chain) Head() uint64 {
	n, err := c.Backend.Client().BlockNumber(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}
