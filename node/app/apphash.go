package app

import (
	"crypto/sha256"
	"encoding/binary"
)

// The app hash composition (docs/spec/apphash.md). It chains every block's
// changeset hash onto the previous app hash, so the app hash at height H
// commits to the genesis and to every state change up to H:
//
//	app_hash(0) = SHA-256("idOS app hash v1" | u64be(0) | genesis_digest | changeset_hash(genesis))
//	app_hash(H) = SHA-256("idOS app hash v1" | u64be(H) | app_hash(H-1)   | changeset_hash(H))
//	genesis_digest = SHA-256("idOS genesis v1" | u32be(len(app_state)) | app_state | schema_digest)
//	schema_digest  = SHA-256 over the rows of sqlite_schema, see SchemaDigest
//
// The state commitment of a later issue (a Merkle root over all rows) joins
// this composition as one more field.
const (
	appHashTag = "idOS app hash v1"
	genesisTag = "idOS genesis v1"
)

// AppHash computes app_hash(height) from the previous one (or the genesis
// digest at height 0) and the block's changeset hash.
func AppHash(height uint64, prev, changesetHash [32]byte) [32]byte {
	b := make([]byte, 0, len(appHashTag)+8+64)
	b = append(b, appHashTag...)
	b = binary.BigEndian.AppendUint64(b, height)
	b = append(b, prev[:]...)
	b = append(b, changesetHash[:]...)
	return sha256.Sum256(b)
}

// GenesisDigest binds the genesis app_state bytes and the schema created from
// them.
func GenesisDigest(appState []byte, schemaDigest [32]byte) [32]byte {
	b := make([]byte, 0, len(genesisTag)+4+len(appState)+32)
	b = append(b, genesisTag...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(appState)))
	b = append(b, appState...)
	b = append(b, schemaDigest[:]...)
	return sha256.Sum256(b)
}
