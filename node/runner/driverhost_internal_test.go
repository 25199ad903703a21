package runner

import (
	"errors"
	"testing"

	"github.com/idos-network/idos-node/node/driverhost"
	"github.com/idos-network/idos-node/node/module/drivers"
)

// TestFitChain: the metadata of the shipped drivers against chain configs
// that fit them and that do not.
func TestFitChain(t *testing.T) {
	evm := driverhost.Metadata{Family: "evm", Finality: driverhost.FinalityConfirmations, Config: []string{"chain", "contract", "confirmations"}}
	evmFinal := driverhost.Metadata{Family: "evm", Finality: driverhost.FinalityTag, Config: []string{"chain", "contract"}}
	near := driverhost.Metadata{Family: "near", Finality: driverhost.FinalityTag, Config: []string{"chain", "contract"}}
	other := driverhost.Metadata{Family: "cosmos", Finality: driverhost.FinalityTag, Config: []string{"chain", "contract", "confirmations"}}
	for i, c := range []struct {
		m             driverhost.Metadata
		scheme        string
		confirmations int64
		fits          bool
	}{
		{evm, "eip191", 12, true},
		{evm, "eip191", 0, false},  // counts confirmations, none set
		{evm, "nep413", 12, false}, // family and scheme
		{evmFinal, "eip191", 0, true},
		{evmFinal, "eip191", 3, false}, // a depth nobody applies
		{near, "nep413", 0, true},
		{near, "eip191", 0, false},
		{other, "cosmos_adr036", 5, true}, // unknown family; takes confirmations
	} {
		err := fitChain(c.m, drivers.Chain{AccountScheme: c.scheme, Confirmations: c.confirmations})
		if (err == nil) != c.fits || err != nil && !errors.Is(err, ErrDriverMismatch) {
			t.Errorf("%d: %v, want fits %v", i, err, c.fits)
		}
	}
}
