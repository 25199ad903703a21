package listener

import (
	"context"
	"crypto/ed25519"

	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/valclient"
)

// ValSubmitter submits attestations with the validator's key through the
// node's RPC (its mempool). With Client.Wait the call returns after the
// transaction committed, so a saved cursor never passes an observation
// that was dropped from the mempool.
type ValSubmitter struct {
	Client *valclient.Client
	Key    ed25519.PrivateKey
}

// Attest sends one drivers.attest transaction.
func (v ValSubmitter) Attest(ctx context.Context, encodings [][]byte) error {
	_, err := v.Client.Submit(ctx, v.Key, "drivers.attest", drivers.AttestPayload{Observations: encodings})
	return err
}
