package valclient

import (
	"crypto/ed25519"
	"fmt"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/idos-network/idos-node/node/home"
)

// HomeKey loads the validator key of a node home
// (config/priv_validator_key.json): validators sign their validator-set
// transactions with the key they sign blocks with, so the id in a request
// is the key CometBFT will add or remove.
func HomeKey(h *home.Home) (ed25519.PrivateKey, error) {
	pv, err := h.PrivValidator()
	if err != nil {
		return nil, err
	}
	k, ok := pv.Key.PrivKey.(cmted25519.PrivKey)
	if !ok {
		return nil, fmt.Errorf("%s: validator key is %s, want ed25519", h.CometBFT.PrivValidatorKeyFile(), pv.Key.PrivKey.Type())
	}
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%s: ed25519 key has %d bytes, want %d", h.CometBFT.PrivValidatorKeyFile(), len(k), ed25519.PrivateKeySize)
	}
	return ed25519.PrivateKey(append([]byte(nil), k...)), nil
}
