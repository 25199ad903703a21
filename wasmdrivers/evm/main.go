// Command evm is the EVM chain-grant driver with confirmations finality:
// it reads the grant contract (contract/Grants.sol) on any EVM chain at
// head minus the configured confirmations (package grants). A new EVM
// chain with the same contract needs no new code: only its chain id,
// contract address, confirmations and endpoints (docs/drivers.md).
package main

import (
	"github.com/idos-network/idos-node/sdk-wasm/driver"
	"github.com/idos-network/idos-node/wasmdrivers/evm/grants"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o evm.wasm .

func init() {
	driver.Register(driver.Metadata{
		Name:     "evm-grants",
		Family:   "evm",
		Finality: driver.FinalityConfirmations,
		Config:   []string{"chain", "contract", "confirmations"},
	}, func(req driver.Request) (driver.Response, error) { return grants.Poll(req, false) })
}

func main() {}
