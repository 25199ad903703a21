// Package apphash is the app hash composition (docs/spec/apphash.md): pure
// functions shared by the node, which computes the hash, and the light
// client, which recomputes it from a read proof to compare it with a
// verified header.
package apphash

import (
	"crypto/sha256"
	"encoding/binary"
)

// Tags of the composition. The version changes whenever the composition
// does; v2 added the state root.
const (
	BlockTag   = "idOS app hash v2"
	GenesisTag = "idOS genesis v1"
)

// Hash is a SHA-256 digest.
type Hash = [32]byte

// Block computes app_hash(height) from the previous app hash (the genesis
// digest at height 0), the block's changeset hash and the state root after
// the block (docs/spec/commitment.md):
//
//	app_hash(H) = SHA-256("idOS app hash v2" | u64be(H) | prev | changeset_hash | state_root)
func Block(height uint64, prev, changesetHash, stateRoot Hash) Hash {
	b := make([]byte, 0, len(BlockTag)+8+3*32)
	b = append(b, BlockTag...)
	b = binary.BigEndian.AppendUint64(b, height)
	b = append(b, prev[:]...)
	b = append(b, changesetHash[:]...)
	b = append(b, stateRoot[:]...)
	return sha256.Sum256(b)
}

// GenesisDigest binds the genesis app_state bytes and the schema created from
// them:
//
//	genesis_digest = SHA-256("idOS genesis v1" | u32be(len(app_state)) | app_state | schema_digest)
func GenesisDigest(appState []byte, schemaDigest Hash) Hash {
	b := make([]byte, 0, len(GenesisTag)+4+len(appState)+32)
	b = append(b, GenesisTag...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(appState)))
	b = append(b, appState...)
	b = append(b, schemaDigest[:]...)
	return sha256.Sum256(b)
}
