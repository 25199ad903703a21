// Package snapshot is the state-sync snapshot format (docs/spec/snapshots.md):
// the metadata that binds a snapshot to a trusted app hash, the chunks that
// carry every row of the state in commitment key order, and the pure checks
// a syncing node runs on each as it arrives. It does no I/O: the node takes
// and restores snapshots in node/app, and keeps them on disk with Store.
package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
)

// Format is the version of the snapshot format, CometBFT's Snapshot.Format.
// A node refuses snapshots of any other format (REJECT_FORMAT).
const Format uint32 = 1

// Size bounds. CometBFT carries a snapshot's metadata in a 4 MB message and
// a chunk in a 16 MB one; the bounds below leave room for the envelopes.
const (
	MaxMetadataBytes = 3_000_000
	MaxChunkBytes    = 15_000_000
	// DefaultChunkBytes bounds the bytes of rows a node puts in one chunk
	// (a chunk may exceed it by one row, at most a transaction's size).
	DefaultChunkBytes = 4 << 20
)

// Error classes; every error of this package wraps one. A syncing node maps
// them to CometBFT's answers (node/app, statesync.go).
var (
	// ErrMalformed: the bytes are not an encoding of this format (the
	// encoding is strict: one value, one encoding).
	ErrMalformed = errors.New("snapshot: malformed encoding")
	// ErrAppHash: the metadata's block fields do not compose to the
	// trusted app hash of its height.
	ErrAppHash = errors.New("snapshot: metadata does not compose to the trusted app hash")
	// ErrChunkHash: a chunk's bytes are not the chunk the metadata lists
	// at that index (a corrupted chunk or one of another snapshot): the
	// sender's fault, the snapshot may still be good.
	ErrChunkHash = errors.New("snapshot: chunk does not match its hash in the metadata")
	// ErrChunkProof: a chunk the metadata lists is not a proven, contiguous
	// part of the state under the state root: the snapshot itself is bad.
	ErrChunkProof = errors.New("snapshot: chunk rows not proven against the state root")
)

// SchemaObject is one row of sqlite_schema of a state table or index.
type SchemaObject struct {
	Type, Name, SQL string
}

// ChunkInfo is the metadata's entry for one chunk.
type ChunkInfo struct {
	Hash        [32]byte // SHA-256 of the chunk's encoding
	First, Last []byte   // the commitment keys of its first and last row
}

// Metadata describes a snapshot of the state after block Height. Its
// SHA-256 is CometBFT's Snapshot.Hash.
type Metadata struct {
	Height int64
	// PrevAppHash, ChangesetHash and StateRoot compose to app_hash(Height)
	// (docs/spec/apphash.md); Verify checks that against the trusted hash.
	PrevAppHash, ChangesetHash, StateRoot [32]byte
	// Changes is the number of changeset records of block Height (the
	// node's block record; not verifiable, not used by consensus).
	Changes uint32
	// ChainID and Genesis (the canonical genesis app_state) must equal the
	// syncing node's own.
	ChainID string
	Genesis []byte
	// Schema is sqlite_schema of the state, ordered by (type, name). The
	// syncing node builds its schema from its own modules and requires it
	// to equal this; it never runs DDL it was sent.
	Schema []SchemaObject
	Rows   uint64 // rows in all chunks (each row once)
	Chunks []ChunkInfo
}

// AppHash is the app hash the metadata's block fields compose to.
func (m *Metadata) AppHash() [32]byte {
	return apphash.Block(uint64(m.Height), m.PrevAppHash, m.ChangesetHash, m.StateRoot)
}

const (
	metaMagic  = "idOS snapshot"
	chunkMagic = "idOS chunk"
)

// Encode returns the metadata's canonical encoding:
//
//	"idOS snapshot" | format:u32 | height:u64 | prev_app_hash:32 | changeset_hash:32 |
//	state_root:32 | changes:u32 | chain_id:str | genesis:bytes |
//	nschema:u32 | (type:str name:str sql:str)* | rows:u64 |
//	nchunks:u32 | (hash:32 first:bytes last:bytes)*
//
// where str and bytes are len:u32 | bytes, integers big-endian.
func (m *Metadata) Encode() []byte {
	b := append([]byte(metaMagic), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(metaMagic):], Format)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Height))
	b = append(b, m.PrevAppHash[:]...)
	b = append(b, m.ChangesetHash[:]...)
	b = append(b, m.StateRoot[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Changes)
	b = appendBytes(b, []byte(m.ChainID))
	b = appendBytes(b, m.Genesis)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Schema)))
	for _, o := range m.Schema {
		b = appendBytes(appendBytes(appendBytes(b, []byte(o.Type)), []byte(o.Name)), []byte(o.SQL))
	}
	b = binary.BigEndian.AppendUint64(b, m.Rows)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Chunks)))
	for _, c := range m.Chunks {
		b = append(b, c.Hash[:]...)
		b = appendBytes(appendBytes(b, c.First), c.Last)
	}
	return b
}

// Hash is SHA-256 of Encode, the snapshot's identity in CometBFT.
func (m *Metadata) Hash() [32]byte { return sha256.Sum256(m.Encode()) }

// DecodeMetadata is the strict inverse of Encode (ErrMalformed): wrong magic
// or format, short input, a height below 1, no chunks, or trailing bytes.
func DecodeMetadata(b []byte) (*Metadata, error) {
	if len(b) > MaxMetadataBytes {
		return nil, fmt.Errorf("%w: metadata of %d bytes", ErrMalformed, len(b))
	}
	r := reader{b: b}
	if string(r.next(len(metaMagic))) != metaMagic {
		return nil, fmt.Errorf("%w: not snapshot metadata", ErrMalformed)
	}
	if f := r.u32(); r.err == nil && f != Format {
		return nil, fmt.Errorf("%w: format %d", ErrMalformed, f)
	}
	m := &Metadata{Height: int64(r.u64())}
	r.hash(&m.PrevAppHash)
	r.hash(&m.ChangesetHash)
	r.hash(&m.StateRoot)
	m.Changes = r.u32()
	m.ChainID = string(r.bytes())
	m.Genesis = r.bytes()
	n := r.count(12)
	for i := 0; i < n && r.err == nil; i++ {
		m.Schema = append(m.Schema, SchemaObject{Type: string(r.bytes()), Name: string(r.bytes()), SQL: string(r.bytes())})
	}
	m.Rows = r.u64()
	n = r.count(40)
	for i := 0; i < n && r.err == nil; i++ {
		var c ChunkInfo
		r.hash(&c.Hash)
		c.First, c.Last = r.bytes(), r.bytes()
		m.Chunks = append(m.Chunks, c)
	}
	switch {
	case r.err != nil:
		return nil, r.err
	case len(r.b) != 0:
		return nil, fmt.Errorf("%w: %d trailing metadata bytes", ErrMalformed, len(r.b))
	case m.Height < 1:
		return nil, fmt.Errorf("%w: height %d", ErrMalformed, m.Height)
	case len(m.Chunks) == 0:
		return nil, fmt.Errorf("%w: no chunks", ErrMalformed)
	}
	return m, nil
}

// VerifyMetadata checks an offered snapshot against the app hash CometBFT's
// light client verified for its height:
//
//	a) the metadata decodes (DecodeMetadata)                       (ErrMalformed)
//	b) its height is the offered height                            (ErrMalformed)
//	c) app_hash(height, prev_app_hash, changeset_hash, state_root)
//	   is the trusted app hash                                     (ErrAppHash)
//
// After c) the state root is trusted: every chunk is proven against it.
func VerifyMetadata(height int64, trustedAppHash, metadata []byte) (*Metadata, error) {
	m, err := DecodeMetadata(metadata)
	if err != nil {
		return nil, err
	}
	if m.Height != height {
		return nil, fmt.Errorf("%w: metadata of height %d offered as height %d", ErrMalformed, m.Height, height)
	}
	if h := m.AppHash(); !bytes.Equal(h[:], trustedAppHash) {
		return nil, fmt.Errorf("%w: height %d composes to %x, trusted %x", ErrAppHash, height, h, trustedAppHash)
	}
	return m, nil
}

// Row is one state row: its commitment key and its row encoding
// (commitment.EncodeRow).
type Row struct {
	Key, Row []byte
}

// Chunk is a run of consecutive rows in key order with the page proof
// (commitment.ProvePage over the empty prefix, the whole state) that they
// are every row between the first and the last. Each chunk after the first
// starts with the previous chunk's last row, which chains the pages into
// the whole state (docs/spec/commitment.md, "Pages of a range").
type Chunk struct {
	Index uint32
	Rows  []Row
	Proof commitment.PageProof
}

// Encode returns the chunk's canonical encoding:
//
//	"idOS chunk" | format:u32 | index:u32 | nrows:u32 | (key:bytes row:bytes)* | proof:bytes
func (c *Chunk) Encode() []byte {
	n := len(chunkMagic) + 16
	for _, r := range c.Rows {
		n += 8 + len(r.Key) + len(r.Row)
	}
	p := c.Proof.Encode()
	b := append(make([]byte, 0, n+4+len(p)), chunkMagic...)
	b = binary.BigEndian.AppendUint32(b, Format)
	b = binary.BigEndian.AppendUint32(b, c.Index)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Rows)))
	for _, r := range c.Rows {
		b = appendBytes(appendBytes(b, r.Key), r.Row)
	}
	return appendBytes(b, p)
}

// MakeChunk proves rows, consecutive leaves of t in key order, as chunk
// index: it returns the chunk's encoding, its metadata entry and whether
// leaves follow. A chunk after the first must start with the previous
// chunk's last row. It fails if the rows are not t's leaves from the first
// on (the node checks its rows against its trie as it writes them).
func MakeChunk(t *commitment.Trie, index uint32, rows []Row) ([]byte, ChunkInfo, bool, error) {
	if len(rows) == 0 {
		return nil, ChunkInfo{}, false, errors.New("snapshot: a chunk without rows")
	}
	entries, proof, more, err := t.ProvePage(nil, rows[0].Key, len(rows))
	if err != nil {
		return nil, ChunkInfo{}, false, err
	}
	if len(entries) != len(rows) {
		return nil, ChunkInfo{}, false, fmt.Errorf("snapshot: chunk %d has %d rows, the trie %d from %x", index, len(rows), len(entries), rows[0].Key)
	}
	for i, e := range entries {
		if !bytes.Equal(e.Key, rows[i].Key) || e.ValueHash != sha256.Sum256(rows[i].Row) {
			return nil, ChunkInfo{}, false, fmt.Errorf("snapshot: row %x does not match the trie's leaf", rows[i].Key)
		}
	}
	c := Chunk{Index: index, Rows: rows, Proof: proof}
	enc := c.Encode()
	if len(enc) > MaxChunkBytes {
		return nil, ChunkInfo{}, false, fmt.Errorf("snapshot: chunk %d of %d bytes, at most %d", index, len(enc), MaxChunkBytes)
	}
	return enc, ChunkInfo{Hash: sha256.Sum256(enc), First: rows[0].Key, Last: rows[len(rows)-1].Key}, more, nil
}

// DecodeChunk is the strict inverse of Encode (ErrMalformed).
func DecodeChunk(b []byte) (*Chunk, error) {
	if len(b) > MaxChunkBytes {
		return nil, fmt.Errorf("%w: chunk of %d bytes", ErrMalformed, len(b))
	}
	r := reader{b: b}
	if string(r.next(len(chunkMagic))) != chunkMagic {
		return nil, fmt.Errorf("%w: not a snapshot chunk", ErrMalformed)
	}
	if f := r.u32(); r.err == nil && f != Format {
		return nil, fmt.Errorf("%w: chunk format %d", ErrMalformed, f)
	}
	c := &Chunk{Index: r.u32()}
	n := r.count(8)
	c.Rows = make([]Row, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		c.Rows = append(c.Rows, Row{Key: r.bytes(), Row: r.bytes()})
	}
	p := r.bytes()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing chunk bytes", ErrMalformed, len(r.b))
	}
	pp, err := commitment.DecodePageProof(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	c.Proof = pp
	return c, nil
}

// VerifyChunk checks chunk index of the snapshot m, as it arrives, given
// the last key of the chunk before it (nil for the first), and returns its
// rows that are new (all but the first of a chunk after the first, which
// repeats the previous chunk's last row):
//
//	a) index < len(m.Chunks) and SHA-256(data) is the hash listed for
//	   it                                                          (ErrChunkHash)
//	b) data decodes, its index is index, it has a row (after the
//	   first chunk: a row besides the repeated one), every row
//	   decodes (commitment.DecodeRow)                              (ErrChunkProof)
//	c) the rows, as entries (key, SHA-256(row)), are a page of the
//	   whole state under m.StateRoot (commitment.VerifyPage)       (ErrChunkProof)
//	d) the chunks chain: the first has nothing before it; a later
//	   one starts with prevLast; the last has nothing after it, any
//	   other has something after it                                (ErrChunkProof)
//	e) the first and last keys are those the metadata lists        (ErrChunkProof)
//
// a) fails for a corrupted chunk or one of another snapshot: blame the
// sender and fetch it again. b)–e) fail when the metadata lists a chunk
// that does not prove out: the snapshot is bad. After the last chunk
// passes, the chunks hold every leaf of the trie of m.StateRoot, each
// once: the pages chain from the state's first key to its last.
func VerifyChunk(m *Metadata, index uint32, prevLast, data []byte) ([]Row, error) {
	if int64(index) >= int64(len(m.Chunks)) {
		return nil, fmt.Errorf("%w: chunk %d of %d", ErrChunkHash, index, len(m.Chunks))
	}
	info := &m.Chunks[index]
	if sha256.Sum256(data) != info.Hash {
		return nil, fmt.Errorf("%w: chunk %d", ErrChunkHash, index)
	}
	c, err := DecodeChunk(data)
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %d: %w", ErrChunkProof, index, err)
	}
	if c.Index != index {
		return nil, fmt.Errorf("%w: chunk %d says it is chunk %d", ErrChunkProof, index, c.Index)
	}
	if len(c.Rows) == 0 || (index > 0 && len(c.Rows) < 2) {
		return nil, fmt.Errorf("%w: chunk %d has no new rows", ErrChunkProof, index)
	}
	entries := make([]commitment.Entry, len(c.Rows))
	for i, r := range c.Rows {
		if _, err := commitment.DecodeRow(r.Row); err != nil {
			return nil, fmt.Errorf("%w: chunk %d row %d: %w", ErrChunkProof, index, i, err)
		}
		entries[i] = commitment.Entry{Key: r.Key, ValueHash: sha256.Sum256(r.Row)}
	}
	before, after, err := commitment.VerifyPage(m.StateRoot, nil, entries, c.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %d: %w", ErrChunkProof, index, err)
	}
	last := index == uint32(len(m.Chunks)-1)
	first, final := c.Rows[0].Key, c.Rows[len(c.Rows)-1].Key
	switch {
	case index == 0 && before:
		return nil, fmt.Errorf("%w: chunk 0 does not start at the state's first key", ErrChunkProof)
	case index > 0 && !bytes.Equal(first, prevLast):
		return nil, fmt.Errorf("%w: chunk %d does not start with chunk %d's last key", ErrChunkProof, index, index-1)
	case last && after:
		return nil, fmt.Errorf("%w: the last chunk does not end at the state's last key", ErrChunkProof)
	case !last && !after:
		return nil, fmt.Errorf("%w: chunk %d ends the state, but %d chunks follow", ErrChunkProof, index, len(m.Chunks)-1-int(index))
	case !bytes.Equal(first, info.First) || !bytes.Equal(final, info.Last):
		return nil, fmt.Errorf("%w: chunk %d's key range is not the listed one", ErrChunkProof, index)
	}
	if index > 0 {
		return c.Rows[1:], nil
	}
	return c.Rows, nil
}

func appendBytes(b, v []byte) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(v))), v...)
}

// reader decodes; the first error sticks and later reads return zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: short input", ErrMalformed)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	if v := r.next(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.next(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *reader) hash(h *[32]byte) { copy(h[:], r.next(32)) }

func (r *reader) bytes() []byte {
	n := r.u32()
	return bytes.Clone(r.next(int(n)))
}

// count reads a u32 count of items of at least min bytes each, refusing
// one the remaining input cannot hold (so a forged count allocates nothing).
func (r *reader) count(min int) int {
	n := r.u32()
	if r.err == nil && uint64(n)*uint64(min) > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: %d items in %d bytes", ErrMalformed, n, len(r.b))
		return 0
	}
	return int(n)
}
