package plugins

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wasmhost/meter"
)

// UploadPayload is the payload of plugins.upload: chunk Index (from 0) of
// the DEFLATE-compressed module whose decompressed bytes have SHA-256
// SHA256 (hex). Data is base64 in JSON.
type UploadPayload struct {
	SHA256 string `json:"sha256"`
	Index  int64  `json:"index"`
	Data   []byte `json:"data"`
}

// ProposePayload is the payload of plugins.propose. The module is the
// sender's finished upload with the same SHA256; Scheme, KeyType and
// AddressFormat must equal the module's own metadata. ActivationDelay is the
// number of blocks between the decision and activation; 0 means the genesis
// activation_delay_blocks, which is also the minimum.
type ProposePayload struct {
	Scheme          string `json:"scheme"`
	KeyType         string `json:"key_type"`
	AddressFormat   string `json:"address_format"`
	SHA256          string `json:"sha256"`
	ActivationDelay int64  `json:"activation_delay,omitempty"`
}

// SchemePayload is the payload of plugins.approve and plugins.remove.
type SchemePayload struct {
	Scheme string `json:"scheme"`
}

func parseHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size || s != hex.EncodeToString(b) {
		return nil, fmt.Errorf("%w: sha256 must be 64 lowercase hex characters", module.ErrInvalidPayload)
	}
	return b, nil
}

// upload appends one chunk to the sender's upload. Index 0 starts a new
// upload and drops any earlier unfinished one; every other index must be
// the next one of the upload of the same module.
func upload(env *module.Env, payload []byte) error {
	var u UploadPayload
	if err := module.Decode(payload, &u); err != nil {
		return err
	}
	hash, err := parseHash(u.SHA256)
	if err != nil {
		return err
	}
	if len(u.Data) == 0 {
		return fmt.Errorf("%w: empty chunk", module.ErrInvalidPayload)
	}
	who, err := validatorSender(env)
	if err != nil {
		return err
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	if u.Index == 0 {
		if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM plugin_uploads WHERE uploader = ?`, who); err != nil {
			return err
		}
	}
	var n, size int64
	var mismatched int64
	if err := env.DB.QueryRowContext(env.Ctx,
		`SELECT count(*), coalesce(sum(length(data)), 0), coalesce(sum(module_hash != ?), 0) FROM plugin_uploads WHERE uploader = ?`,
		hash, who).Scan(&n, &size, &mismatched); err != nil {
		return err
	}
	switch {
	case mismatched > 0:
		return fmt.Errorf("%w: an upload of another module is in progress; start again at index 0", ErrUpload)
	case u.Index != n:
		return fmt.Errorf("%w: chunk index %d, expected %d", ErrUpload, u.Index, n)
	case size+int64(len(u.Data)) > p.MaxModuleBytes:
		return fmt.Errorf("%w: the compressed module exceeds max_module_bytes %d", ErrUpload, p.MaxModuleBytes)
	}
	_, err = env.DB.ExecContext(env.Ctx,
		`INSERT INTO plugin_uploads (uploader, seq, module_hash, data, height) VALUES (?, ?, ?, ?, ?)`,
		who, u.Index, hash, u.Data, env.Height)
	return err
}

// Decompress inflates a raw DEFLATE stream (RFC 1951) of at most max
// decompressed bytes, refusing trailing data after the stream, and checks
// the SHA-256 of the result.
func Decompress(compressed []byte, max int64, want []byte) ([]byte, error) {
	src := bytes.NewReader(compressed)
	r := flate.NewReader(src)
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: DEFLATE: %v", ErrBadModule, err)
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("%w: decompressed module exceeds max_module_bytes %d", ErrBadModule, max)
	}
	if src.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the end of the DEFLATE stream", ErrBadModule, src.Len())
	}
	if got := sha256.Sum256(out); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("%w: decompressed module has SHA-256 %x, the proposal says %x", ErrBadModule, got, want)
	}
	return out, nil
}

// Compress is the client side of Decompress (best compression).
func Compress(wasm []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression) // the level is valid
	_, _ = w.Write(wasm)
	_ = w.Close()
	return b.Bytes()
}

// propose turns the sender's finished upload into a proposal to add the
// scheme. In this block it does only linear work: the upload, the hash,
// the static limits of meter.Check and the metering rewrite. Every node then registers the module in
// the background (the same checks as activation) and the verdict is taken
// at check_height (checks.go): the proposal opens, counting as the
// proposer's approval, or is refused. A proposer has one proposal being
// checked at a time, which bounds the background work a validator can ask
// of every node.
func (c *checker) propose(env *module.Env, payload []byte) error {
	var pp ProposePayload
	if err := module.Decode(payload, &pp); err != nil {
		return err
	}
	hash, err := parseHash(pp.SHA256)
	if err != nil {
		return err
	}
	who, err := validatorSender(env)
	if err != nil {
		return err
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	delay := pp.ActivationDelay
	if delay == 0 {
		delay = p.ActivationDelayBlocks
	}
	if delay < p.ActivationDelayBlocks || delay > maxActivationDelay {
		return fmt.Errorf("%w: %d blocks; the minimum is %d, the maximum %d", ErrBadActivation, delay, p.ActivationDelayBlocks, maxActivationDelay)
	}
	if err := nameFree(env, pp.Scheme); err != nil {
		return err
	}
	if err := proposerFree(env, who); err != nil {
		return err
	}
	compressed, err := assembleUpload(env, who, hash)
	if err != nil {
		return err
	}
	wasm, err := Decompress(compressed, p.MaxModuleBytes, hash)
	if err != nil {
		return err
	}
	// Linear in the module's size: the static limits, then the metering
	// rewrite, whose hash goes into state now, so that nodes that would
	// meter differently disagree at the proposal.
	metered, err := meter.Instrument(wasm)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadModule, err)
	}
	code := sha256.Sum256(metered.Wasm)
	if _, err := env.DB.ExecContext(env.Ctx, `DELETE FROM plugin_uploads WHERE uploader = ?`, who); err != nil {
		return err
	}
	// The key type and address format are the proposal's; the check
	// compares them with the module's metadata.
	meta := wasmhost.Metadata{Scheme: pp.Scheme, KeyType: pp.KeyType, AddressFormat: pp.AddressFormat}
	if err := putPlugin(env, pp.Scheme, hash, code[:], wasm, meta, StatusChecking, who, delay, 0, env.Height+p.CheckDelayBlocks); err != nil {
		return err
	}
	return c.startChecks(env, wasm)
}

// proposerFree refuses a second proposal from a validator whose previous
// one is still being checked.
func proposerFree(env *module.Env, who string) error {
	var scheme string
	var at int64
	err := env.DB.QueryRowContext(env.Ctx,
		`SELECT scheme, check_height FROM plugins WHERE status = ? AND proposer = ? ORDER BY scheme LIMIT 1`,
		StatusChecking, who).Scan(&scheme, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: your proposal of %q is being checked until height %d; propose again after it", ErrChecking, scheme, at)
}

func matchMetadata(m wasmhost.Metadata, pp ProposePayload) error {
	switch {
	case m.Scheme != pp.Scheme:
		return fmt.Errorf("%w: the module implements scheme %q, the proposal says %q", ErrBadModule, m.Scheme, pp.Scheme)
	case m.KeyType != pp.KeyType:
		return fmt.Errorf("%w: the module's key_type is %q, the proposal says %q", ErrBadModule, m.KeyType, pp.KeyType)
	case m.AddressFormat != pp.AddressFormat:
		return fmt.Errorf("%w: the module's address_format is %q, the proposal says %q", ErrBadModule, m.AddressFormat, pp.AddressFormat)
	}
	return nil
}

// approve adds the sender's approval to a pending proposal to add a scheme.
func (c *checker) approve(env *module.Env, payload []byte) error {
	var sp SchemePayload
	if err := module.Decode(payload, &sp); err != nil {
		return err
	}
	who, err := validatorSender(env)
	if err != nil {
		return err
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	if pl, err := loadPlugin(env, sp.Scheme); err != nil {
		return err
	} else if pl.status == StatusChecking {
		return fmt.Errorf("%w: %q opens for approvals at height %d, once every node has checked its module", ErrChecking, sp.Scheme, pl.checkHeight)
	}
	return engine.Vote(env, KindAdd, sp.Scheme, who, p.ApprovalThreshold, c.apply(p))
}

// remove proposes removing an active plugin, or approves the open removal
// proposal.
func (c *checker) remove(env *module.Env, payload []byte) error {
	var sp SchemePayload
	if err := module.Decode(payload, &sp); err != nil {
		return err
	}
	who, err := validatorSender(env)
	if err != nil {
		return err
	}
	pl, err := loadPlugin(env, sp.Scheme)
	if err != nil {
		return err
	}
	if !pl.exists || pl.status != StatusActive {
		return fmt.Errorf("%w: %q", ErrNotActive, sp.Scheme)
	}
	p, err := loadParams(env)
	if err != nil {
		return err
	}
	// None open (none, decided or expired): this vote opens a new proposal.
	return engine.VoteOrPropose(env, KindRemove, sp.Scheme, who, p.ProposalExpiryBlocks, p.ApprovalThreshold, c.apply(p))
}

// endBlock takes the module checks due at this height (checks.go),
// expires proposals whose window closed and uploads left unfinished as
// long, and decides open proposals that now reach the threshold (the
// validator set may have shrunk). It returns no validator updates.
func (c *checker) endBlock(env *module.Env) ([]module.ValidatorUpdate, error) {
	p, err := loadParams(env)
	if err != nil {
		return nil, err
	}
	if err := c.decideChecks(env, p); err != nil {
		return nil, err
	}
	if _, err := env.DB.ExecContext(env.Ctx,
		`DELETE FROM plugin_uploads WHERE uploader IN (
		   SELECT uploader FROM plugin_uploads GROUP BY uploader HAVING ? + 1 >= max(height) + ?)`,
		env.Height, p.ProposalExpiryBlocks); err != nil {
		return nil, err
	}
	return nil, engine.EndBlock(env, p.ApprovalThreshold, c.apply(p), expired)
}

func (c *checker) initGenesis(env *module.Env, g module.Genesis) error {
	p, err := paramsFromAppState(g.AppState)
	if err != nil {
		return err
	}
	if _, err := env.DB.ExecContext(env.Ctx,
		`INSERT INTO plugin_params (id, proposal_expiry_blocks, threshold_num, threshold_den, activation_delay_blocks, max_module_bytes,
		   check_delay_blocks)
		 VALUES (1, ?, ?, ?, ?, ?, ?)`,
		p.ProposalExpiryBlocks, p.ApprovalThreshold.Numerator, p.ApprovalThreshold.Denominator,
		p.ActivationDelayBlocks, p.MaxModuleBytes, p.CheckDelayBlocks); err != nil {
		return err
	}
	if err := putLimits(env, 0, p.Wasm); err != nil {
		return err
	}
	for i, gp := range p.Genesis {
		wasm := gp.Module
		name := "module"
		if gp.Bundled != "" {
			b, ok := bundledModule(gp.Bundled)
			if !ok {
				return fmt.Errorf("plugins: genesis[%d]: no bundled plugin %q in this node", i, gp.Bundled)
			}
			wasm, name = b, "bundled "+gp.Bundled
		}
		if int64(len(wasm)) > p.MaxModuleBytes {
			return fmt.Errorf("plugins: genesis[%d] (%s): %d bytes exceed max_module_bytes", i, name, len(wasm))
		}
		sum := sha256.Sum256(wasm)
		if hex.EncodeToString(sum[:]) != gp.SHA256 {
			return fmt.Errorf("plugins: genesis[%d] (%s): SHA-256 %x, genesis says %s", i, name, sum, gp.SHA256)
		}
		meta, code, err := c.check(env.Ctx, wasm, p.Wasm)
		if err != nil {
			return fmt.Errorf("plugins: genesis[%d] (%s): %w", i, name, err)
		}
		if builtin(meta.Scheme) {
			return fmt.Errorf("plugins: genesis[%d] (%s): scheme %q is built in", i, name, meta.Scheme)
		}
		if pl, err := loadPlugin(env, meta.Scheme); err != nil {
			return err
		} else if pl.exists {
			return fmt.Errorf("plugins: genesis[%d] (%s): scheme %q listed twice", i, name, meta.Scheme)
		}
		// Active from block 1: height 0 is the genesis itself.
		if err := putPlugin(env, meta.Scheme, sum[:], code, wasm, meta, StatusActive, "genesis", 0, 1, 0); err != nil {
			return err
		}
	}
	return nil
}

// DefaultChunkSize keeps an upload transaction (base64 data in JSON, plus
// the envelope) under the default 64 KiB transaction limit.
const DefaultChunkSize = 40 << 10

// UploadChunks compresses wasm and cuts it into upload payloads of at most
// chunkSize compressed bytes; it also returns the proposal's sha256.
func UploadChunks(wasm []byte, chunkSize int) (string, []UploadPayload) {
	sum := sha256.Sum256(wasm)
	h := hex.EncodeToString(sum[:])
	c := Compress(wasm)
	var out []UploadPayload
	for i := 0; i*chunkSize < len(c); i++ {
		out = append(out, UploadPayload{SHA256: h, Index: int64(i), Data: c[i*chunkSize : min((i+1)*chunkSize, len(c))]})
	}
	return h, out
}
