package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/composition"
)

// DefaultValidatorPower is the voting power every validator gets in
// genesis files written by this package.
const DefaultValidatorPower = 10

// MaxBlockBytes is the consensus block size limit: 4 MiB, a little below
// CometBFT's default, which is plenty for identity records and keeps
// worst-case block propagation bounded.
const MaxBlockBytes = 4 << 20

// GenesisOptions describes a genesis file.
type GenesisOptions struct {
	// ChainID is required.
	ChainID string
	// GenesisTime is recorded in the genesis; zero means now. Tests pass a
	// fixed time so genesis files are reproducible.
	GenesisTime time.Time
	// Power is each validator's voting power; zero means
	// DefaultValidatorPower.
	Power int64
	// AppState replaces the application's default genesis state
	// (composition.DefaultGenesisState), for example to shorten the validators
	// module's join expiry in tests. The application validates it at
	// InitChain; empty means the default.
	AppState json.RawMessage
}

// ConsensusParams returns the consensus parameters of new chains: CometBFT's
// defaults (including evidence) with MaxBlockBytes.
func ConsensusParams() *types.ConsensusParams {
	p := types.DefaultConsensusParams()
	p.Block.MaxBytes = MaxBlockBytes
	return p
}

// NewGenesis builds and validates a genesis document for the given homes'
// validators, in the order given. Each validator is named after its home
// directory's base name.
func NewGenesis(homes []string, opts GenesisOptions) (*types.GenesisDoc, error) {
	if len(homes) == 0 {
		return nil, errors.New("genesis needs at least one validator home")
	}
	power := opts.Power
	if power == 0 {
		power = DefaultValidatorPower
	}
	if power < 0 {
		return nil, fmt.Errorf("validator power %d: must be positive", power)
	}
	gt := opts.GenesisTime
	if gt.IsZero() {
		gt = time.Now()
	}
	doc := &types.GenesisDoc{
		GenesisTime:     gt.UTC(),
		ChainID:         opts.ChainID,
		InitialHeight:   1,
		ConsensusParams: ConsensusParams(),
		// Passed through untouched: the application validates its own
		// genesis state and may reject fields it does not know.
		AppState: composition.DefaultGenesisState(),
	}
	if len(opts.AppState) > 0 {
		if !json.Valid(opts.AppState) {
			return nil, errors.New("genesis app_state is not valid JSON")
		}
		doc.AppState = opts.AppState
	}
	for _, h := range homes {
		id, err := ReadIdentity(h)
		if err != nil {
			return nil, err
		}
		doc.Validators = append(doc.Validators, types.GenesisValidator{
			Address: id.ValidatorPubKey.Address(),
			PubKey:  id.ValidatorPubKey,
			Power:   power,
			Name:    filepath.Base(h),
		})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("invalid genesis: %w", err)
	}
	return doc, nil
}

// WriteSharedGenesis writes one genesis naming the validators of all homes
// into every home, replacing each home's own genesis. All homes get
// byte-identical files, which CometBFT requires for them to form one chain.
func WriteSharedGenesis(homes []string, opts GenesisOptions) (*types.GenesisDoc, error) {
	doc, err := NewGenesis(homes, opts)
	if err != nil {
		return nil, err
	}
	data, err := encodeGenesis(doc)
	if err != nil {
		return nil, err
	}
	for _, h := range homes {
		if err := writeFileAtomic(genesisPath(h), data, 0o644); err != nil {
			return nil, fmt.Errorf("write genesis of %s: %w", h, err)
		}
	}
	return doc, nil
}

// WriteGenesis writes doc as home's genesis, encoded exactly as
// WriteSharedGenesis encodes it: a node joining a network created by this
// package gets a file byte-identical to the validators' files.
func WriteGenesis(home string, doc *types.GenesisDoc) error {
	data, err := encodeGenesis(doc)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(genesisPath(home), data, 0o644); err != nil {
		return fmt.Errorf("write genesis of %s: %w", home, err)
	}
	return nil
}

func encodeGenesis(doc *types.GenesisDoc) ([]byte, error) {
	data, err := cmtjson.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode genesis: %w", err)
	}
	return append(data, '\n'), nil
}

func genesisPath(home string) string {
	return filepath.Join(home, "config", "genesis.json")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
