// Command evmfinalized is the EVM chain-grant driver with the chain's own
// finality: it reads the grant contract (../evm/contract/Grants.sol) up to
// the block the endpoints call "finalized" (package grants), for chains
// with a finality gadget (Ethereum's proof of stake, most rollups).
package main

import (
	"github.com/idos-network/idos-node/sdk-wasm/driver"
	"github.com/idos-network/idos-node/wasmdrivers/evm/grants"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o evmfinalized.wasm .

func init() {
	driver.Register(driver.Metadata{
		Name:     "evm-grants-finalized",
		Family:   "evm",
		Finality: driver.FinalityTag,
		Config:   []string{"chain", "contract"},
	}, func(req driver.Request) (driver.Response, error) { return grants.Poll(req, true) })
}

func main() {}
