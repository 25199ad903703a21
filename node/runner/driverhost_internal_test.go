package runner

import (
	"context"
	"errors"
	"testing"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idos-network/idos-node/node/driverhost"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/valclient"
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

// TestFindModuleStateDown: a node that cannot read its state for the
// module gets errStateRead, which the listener retries, and not
// ErrNoModule, which waits for a new config.
func TestFindModuleStateDown(t *testing.T) {
	rpc, err := rpchttp.New("http://127.0.0.1:1", "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	d := &hostDrivers{state: valclient.New(rpc, "x")}
	_, _, err = d.findModule(context.Background(), "00")
	if !errors.Is(err, errStateRead) || errors.Is(err, ErrNoModule) {
		t.Fatalf("%v, want errStateRead", err)
	}
}
