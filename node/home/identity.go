package home

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/crypto"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
)

// Identity is a home's public identity: what peers and genesis files need.
type Identity struct {
	// NodeID is the P2P identity, used in persistent_peers (id@host:port).
	NodeID p2p.ID
	// ValidatorAddress is the address of the validator key.
	ValidatorAddress crypto.Address
	// ValidatorPubKey is the consensus public key.
	ValidatorPubKey crypto.PubKey
}

// ReadIdentity reads the node and validator keys of home.
func ReadIdentity(home string) (Identity, error) {
	nk, err := p2p.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
	if err != nil {
		return Identity{}, fmt.Errorf("read node key of %s: %w", home, err)
	}
	key, err := readPrivValidatorKey(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil {
		return Identity{}, err
	}
	return Identity{
		NodeID:           nk.ID(),
		ValidatorAddress: key.PubKey.Address(),
		ValidatorPubKey:  key.PubKey,
	}, nil
}

// readPrivValidatorKey parses the validator key file. privval's own loaders
// call os.Exit on a bad file, so files are checked here first.
func readPrivValidatorKey(path string) (privval.FilePVKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return privval.FilePVKey{}, fmt.Errorf("read validator key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(data, &key); err != nil {
		return privval.FilePVKey{}, fmt.Errorf("%s: %w", path, err)
	}
	if key.PubKey == nil || key.PrivKey == nil {
		return privval.FilePVKey{}, fmt.Errorf("%s: missing key", path)
	}
	return key, nil
}

func checkPrivValidatorState(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read validator state: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
