package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// slowScheme stands for a plugin stopped by the Wasm host's wall-clock
// safety net.
type slowScheme struct{}

func (slowScheme) Name() string { return "slow" }
func (slowScheme) Verify(_, _, _ []byte) (string, error) {
	return "", fmt.Errorf("plugin slow: %w", wasmhost.ErrTimeout)
}

// A wall-clock timeout is never a transaction's result: the block fails
// (CometBFT halts the node) instead of recording an outcome another node,
// on a faster machine, would not share.
func TestTimeoutHaltsTheBlock(t *testing.T) {
	reg := auth.DefaultRegistry()
	if err := reg.Register(slowScheme{}); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Modules: composition.Modules(), DBPath: filepath.Join(t.TempDir(), "state.sqlite"), Schemes: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	initChain(t, a)
	runBlock(t, a, 1)
	seed := make([]byte, ed25519.SeedSize)
	acct := client.NewAccount(auth.NewEd25519SignerAs("slow", ed25519.NewKeyFromSeed(seed)), testChain)
	raw := build(t, acct, "kv.put", kv.PutPayload{Key: "k", Value: "v"})
	_, err = a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 2, Txs: [][]byte{raw}, Time: genesisTime})
	if !errors.Is(err, wasmhost.ErrTimeout) {
		t.Fatalf("FinalizeBlock with a timed-out verification: %v, want an error wrapping ErrTimeout", err)
	}
}
