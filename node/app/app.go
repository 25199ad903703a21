// Package app is the idOS ABCI 2.0 application: it executes signed
// transactions against the deterministic SQLite state (node/sqlstate) and
// reports an app hash that chains every block's changeset.
//
// Concurrency: CometBFT calls the consensus, mempool and query connections
// concurrently (proxy.NewConnSyncLocalClientCreator serialises each
// connection on its own). Block execution owns the SQLite writer; CheckTx
// and Query read committed state through read-only connections; the few
// fields they share sit behind mu and checkMu.
package app

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/changeset"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/retain"
	"github.com/idos-network/idos-node/node/sqlstate"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wire"
)

// AppVersion is the application protocol version reported to CometBFT.
const AppVersion uint64 = 1

// Config configures an App.
type Config struct {
	// DBPath is the SQLite state file.
	DBPath string
	// Logger receives the application's logs; nil discards them.
	Logger *slog.Logger
	// Modules add state and actions, in this order; required. The app
	// imports none itself (node/composition.Modules() are a standard
	// node's).
	Modules []module.Module
	// Schemes verifies signatures; nil means auth.DefaultRegistry(). The
	// app registers and unregisters signature plugins in it as chain state
	// says (plugins.go).
	Schemes *auth.Registry
	// KeepVersions is how many recent heights stay provable (state trie
	// versions kept in memory); 0 means DefaultKeepVersions.
	KeepVersions int
	// Retain decides the RetainHeight returned from Commit (CometBFT then
	// prunes older blocks); the zero value keeps every block. It is not
	// part of the app hash: nodes of one network may keep different
	// windows.
	Retain retain.Policy
	// Wasm compiles and runs signature plugins, in one runtime per set of
	// Wasm limits, which come from chain state; nil: the app makes its
	// own, caching compiled code in WasmCacheDir (empty: in memory only).
	Wasm         *wasmhost.Runtimes
	WasmCacheDir string

	// State-sync snapshots (docs/spec/snapshots.md; local settings, not
	// consensus). SnapshotDir holds them (empty: none taken or served);
	// one is taken every SnapshotInterval heights (0: never), the newest
	// SnapshotKeep are kept (0: DefaultSnapshotKeep), chunks hold about
	// SnapshotChunkBytes of rows (0: snapshot.DefaultChunkBytes). While
	// snapshots are kept, Retain keeps the blocks from the oldest on.
	SnapshotDir        string
	SnapshotInterval   int64
	SnapshotKeep       int
	SnapshotChunkBytes int
	// ChainID and GenesisAppState are the node's genesis (genesis.json).
	// A node restores a snapshot only of this chain and genesis; without
	// them it refuses every snapshot. InitChain does not need them.
	ChainID         string
	GenesisAppState []byte
}

// App is the ABCI application.
type App struct {
	abci.BaseApplication // only for the vote extension methods, unused

	log     *slog.Logger
	cfg     Config
	dbPath  string
	db      *sqlstate.DB
	schemes *auth.Registry
	modules []module.Module
	actions map[string]module.Action
	queries map[string]module.Query
	private map[string]module.PrivateQuery
	scopes  map[string]module.Scope
	codes   module.Codes // result codes of the modules' errors

	// Consensus connection only.
	block blockState
	trie  *commitment.Trie // the committed state trie

	versions versions // recent committed trie versions, for reads
	retain   retain.Policy

	mu        sync.RWMutex // guards the committed fields below
	chainID   string
	params    GenesisState
	height    int64
	appHash   [32]byte
	hasHeight bool // height and appHash are set (InitChain has committed)
	// tables are the state tables by name, as of the last commit;
	// privateTables are those the public proof endpoints refuse.
	tables        map[string]*changeset.Table
	privateTables map[string]bool

	check    checkState
	sigCache verifiedCache
	plugins  pluginHost // consensus connection only

	snaps     *snapshots // nil: no snapshots taken or served
	restoring *restore   // snapshot connection only: the restore in progress
}

// blockState is the block being executed, between FinalizeBlock (or
// InitChain) and Commit.
type blockState struct {
	open    bool // the SQLite block transaction holds a finalized block or the genesis
	height  int64
	appHash [32]byte
	genesis bool             // the open transaction holds InitChain's writes, not yet a block
	trie    *commitment.Trie // the state trie after the open block
	// afterGenesis: the finalized block shares its transaction with
	// InitChain's writes (block 1).
	afterGenesis bool
}

var _ abci.Application = (*App)(nil)

// internal tables, committed with the state but not part of the changeset.
var internalSchema = []string{
	`CREATE TABLE IF NOT EXISTS _idos_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT, WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS _idos_blocks (
		height INTEGER PRIMARY KEY,
		changeset_hash BLOB NOT NULL,
		changes INTEGER NOT NULL,
		app_hash BLOB NOT NULL,
		state_root BLOB NOT NULL
	) STRICT, WITHOUT ROWID`,
	// The leaves of the state trie (docs/spec/commitment.md).
	`CREATE TABLE IF NOT EXISTS _idos_leaves (key BLOB PRIMARY KEY, value_hash BLOB NOT NULL) STRICT, WITHOUT ROWID`,
}

// accountsSchema holds every sender's next nonce; it is state.
const accountsSchema = `CREATE TABLE accounts (
	id TEXT PRIMARY KEY,
	next_nonce INTEGER NOT NULL
) STRICT, WITHOUT ROWID`

// New opens the state at cfg.DBPath and returns the application.
func New(cfg Config) (*App, error) {
	a := &App{
		log:     cfg.Logger,
		schemes: cfg.Schemes,
		modules: cfg.Modules,
		actions: map[string]module.Action{},
		queries: map[string]module.Query{},
		private: map[string]module.PrivateQuery{},
		scopes:  map[string]module.Scope{},
		trie:    commitment.Empty(),
		cfg:     cfg,
		dbPath:  cfg.DBPath,

		privateTables: map[string]bool{},
	}
	a.retain = cfg.Retain
	a.versions.keep = int64(cfg.KeepVersions)
	if a.versions.keep <= 0 {
		a.versions.keep = DefaultKeepVersions
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.schemes == nil {
		a.schemes = auth.DefaultRegistry()
	}
	if len(a.modules) == 0 {
		// A node without its modules would compute another app hash than
		// its peers; say so rather than run.
		return nil, errors.New("app: no modules (a standard node runs node/composition.Modules())")
	}
	if err := a.codes.Register(module.CommonCodes...); err != nil {
		return nil, err
	}
	for i := range a.modules {
		m := &a.modules[i]
		if err := m.Validate(); err != nil {
			return nil, err
		}
		if err := a.codes.Register(m.Errors...); err != nil {
			return nil, fmt.Errorf("app: module %s: %w", m.Name, err)
		}
		for name, act := range m.Actions {
			if _, dup := a.actions[name]; dup {
				return nil, fmt.Errorf("app: action %q registered twice", name)
			}
			a.actions[name] = act
		}
		for name, q := range m.Queries {
			if _, dup := a.queries[name]; dup {
				return nil, fmt.Errorf("app: query %q registered twice", name)
			}
			a.queries[name] = q
		}
		for name, q := range m.PrivateQueries {
			if _, dup := a.private[name]; dup {
				return nil, fmt.Errorf("app: private query %q registered twice", name)
			}
			a.private[name] = q
		}
		for name, sc := range m.Scopes {
			a.scopes[name] = sc
		}
		for _, t := range m.PrivateTables {
			a.privateTables[t] = true
		}
	}
	a.check.reset()
	if err := a.openSnapshots(cfg); err != nil {
		return nil, err
	}

	ctx := context.Background()
	// A restore that did not finish left only its own file (statesync.go).
	removeDB(cfg.DBPath + restoreSuffix)
	db, err := sqlstate.Open(ctx, cfg.DBPath)
	if err != nil {
		return nil, err
	}
	a.db = db
	if err := a.loadCommitted(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := a.startPlugins(ctx, cfg); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the state database. Uncommitted block writes are discarded;
// CometBFT replays that block on the next start.
func (a *App) Close() error {
	a.closeSnapshots()
	a.discardRestore()
	return errors.Join(a.closePlugins(), a.db.Close())
}

func (a *App) loadCommitted(ctx context.Context) error {
	if err := a.db.BeginBlock(ctx); err != nil {
		return err
	}
	if err := a.db.Migrate(ctx, internalSchema...); err != nil {
		a.db.Rollback(ctx)
		return err
	}
	if err := a.db.Commit(ctx); err != nil {
		return err
	}
	meta, err := readMeta(ctx, a.db.Reader())
	if err != nil {
		return err
	}
	if !meta.hasHeight {
		return nil
	}
	params, err := ParseGenesis(a.modules, meta.genesis)
	if err != nil {
		return err
	}
	t, err := rebuildTrie(ctx, a.db.Reader(), meta.stateRoot)
	if err != nil {
		return err
	}
	a.trie = t
	a.versions.add(meta.height, t)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.chainID, a.height, a.appHash, a.hasHeight, a.params = meta.chainID, meta.height, meta.appHash, true, params
	a.setTables()
	return nil
}

// setTables snapshots the state tables for readers. Callers hold mu.
func (a *App) setTables() {
	a.tables = map[string]*changeset.Table{}
	for _, tb := range a.db.Tables() {
		a.tables[tb.Name] = tb
	}
}

type metaRow struct {
	chainID   string
	genesis   []byte
	height    int64
	appHash   [32]byte
	stateRoot []byte
	hasHeight bool
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func readMeta(ctx context.Context, q querier) (metaRow, error) {
	var m metaRow
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM _idos_meta ORDER BY key`)
	if err != nil {
		return m, fmt.Errorf("app: read meta: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return m, err
		}
		switch k {
		case "chain_id":
			m.chainID = string(v)
		case "genesis":
			m.genesis = v
		case "height":
			if len(v) != 8 {
				return m, fmt.Errorf("app: corrupt meta height")
			}
			m.height = int64(binary.BigEndian.Uint64(v))
			m.hasHeight = true
		case "app_hash":
			if len(v) != 32 {
				return m, fmt.Errorf("app: corrupt meta app_hash")
			}
			copy(m.appHash[:], v)
		case "state_root":
			m.stateRoot = v
		}
	}
	return m, rows.Err()
}

func (a *App) writeMeta(ctx context.Context, kv ...any) error {
	for i := 0; i < len(kv); i += 2 {
		if _, err := a.db.ExecContext(ctx,
			`INSERT INTO _idos_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			kv[i], kv[i+1]); err != nil {
			return fmt.Errorf("app: write meta: %w", err)
		}
	}
	return nil
}

// pruneRecordsPerBlock bounds how many old block records one block
// deletes, so that the first block of a node upgraded with a long history
// does not delete it all inside one block.
const pruneRecordsPerBlock = 100

// recordBlock writes the inputs and result of app_hash(height), which read
// proofs quote (docs/spec/read-proofs.md), and deletes the records no kept
// trie version needs: a proof at version v quotes the records of v and
// v-1, and only versions from height-keep+1 on are kept. The records are
// the node's own bookkeeping, not state (a restored node starts with two);
// kept, they grew the file ~120 bytes a block forever.
func (a *App) recordBlock(ctx context.Context, height int64, csHash [32]byte, changes int, hash, root [32]byte) error {
	_, err := a.db.ExecContext(ctx,
		`INSERT INTO _idos_blocks (height, changeset_hash, changes, app_hash, state_root) VALUES (?, ?, ?, ?, ?)`,
		height, csHash[:], changes, hash[:], root[:])
	if err != nil {
		return fmt.Errorf("app: record block %d: %w", height, err)
	}
	if _, err := a.db.ExecContext(ctx,
		`DELETE FROM _idos_blocks WHERE height IN (SELECT height FROM _idos_blocks WHERE height < ? ORDER BY height LIMIT ?)`,
		height-a.versions.keep, pruneRecordsPerBlock); err != nil {
		return fmt.Errorf("app: prune block records below %d: %w", height-a.versions.keep, err)
	}
	return nil
}

func u64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// Info reports the last committed height and app hash, so CometBFT's
// handshake replays exactly the blocks the state is missing.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	res := &abci.ResponseInfo{Data: "idos", Version: "v1", AppVersion: AppVersion}
	if a.hasHeight && a.height > 0 {
		res.LastBlockHeight = a.height
		res.LastBlockAppHash = append([]byte(nil), a.appHash[:]...)
	}
	return res, nil
}

// InitChain creates the schema and applies the genesis state. Its writes stay
// in the open SQLite transaction and commit with block 1, so a crash before
// block 1 leaves an empty database and CometBFT calls InitChain again.
//
// Like FinalizeBlock it has one way out on failure: initChain returns the
// error and abortBlock rolls back the open transaction.
func (a *App) InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.RLock()
	committed := a.hasHeight
	a.mu.RUnlock()
	if committed {
		return nil, errors.New("app: InitChain on a database that already holds a chain")
	}
	res, err := a.initChain(ctx, req)
	if err != nil {
		return nil, a.abortBlock(ctx, err)
	}
	return res, nil
}

func (a *App) initChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	if a.block.open {
		if err := a.db.Rollback(ctx); err != nil {
			return nil, err
		}
		a.block = blockState{}
	}
	params, err := ParseGenesis(a.modules, req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if err := a.db.BeginBlock(ctx); err != nil {
		return nil, err
	}
	ddl := []string{accountsSchema}
	for _, m := range a.modules {
		ddl = append(ddl, m.Schema...)
	}
	if err := a.db.Migrate(ctx, ddl...); err != nil {
		return nil, err
	}
	canonical, err := params.Canonical()
	if err != nil {
		return nil, err
	}
	genesis := module.Genesis{AppState: canonical}
	for _, v := range req.Validators {
		pk := v.PubKey.GetEd25519()
		if pk == nil {
			return nil, fmt.Errorf("app: genesis validator with a non-ed25519 key")
		}
		genesis.Validators = append(genesis.Validators, module.ValidatorUpdate{PubKey: pk, Power: v.Power})
	}
	env := &module.Env{Ctx: ctx, DB: a.db, Height: 0, Time: req.Time.Unix(), Schemes: a.schemes}
	for _, m := range a.modules {
		if m.InitGenesis == nil {
			continue
		}
		if err := a.db.Savepoint(ctx, func() error { return m.InitGenesis(env, genesis) }); err != nil {
			return nil, fmt.Errorf("app: genesis of module %s: %w", m.Name, err)
		}
	}
	if err := a.preparePlugins(ctx, a.db, 1); err != nil {
		return nil, err
	}
	schema, err := a.schemaDigest(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := a.db.Changeset()
	if err != nil {
		return nil, err
	}
	trie, err := a.applyCommitment(ctx, commitment.Empty(), cs)
	if err != nil {
		return nil, err
	}
	// Hash the parsed state re-encoded, not the file's bytes: CometBFT
	// re-indents app_state when it writes genesis.json, and two files with
	// the same content must give the same chain.
	csHash, root := cs.Hash(), trie.Root()
	hash := apphash.Block(0, apphash.GenesisDigest(canonical, schema), csHash, root)
	if err := a.writeMeta(ctx, "chain_id", []byte(req.ChainId), "genesis", canonical); err != nil {
		return nil, err
	}
	if err := a.recordBlock(ctx, 0, csHash, cs.Len(), hash, root); err != nil {
		return nil, err
	}
	if err := a.applyPlugins(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.chainID, a.params, a.appHash = req.ChainId, params, hash
	a.mu.Unlock()
	a.block = blockState{open: true, height: 0, appHash: hash, genesis: true, trie: trie}
	a.log.Info("genesis applied", "chain_id", req.ChainId, "app_hash", fmt.Sprintf("%X", hash[:]))
	return &abci.ResponseInitChain{AppHash: hash[:]}, nil
}

// schemaDigest hashes the schema of every table and index, in name order.
func (a *App) schemaDigest(ctx context.Context) ([32]byte, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		return [32]byte{}, fmt.Errorf("app: schema digest: %w", err)
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var typ, name, stmt string
		if err := rows.Scan(&typ, &name, &stmt); err != nil {
			return [32]byte{}, err
		}
		for _, s := range []string{typ, name, stmt} {
			h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
			h.Write([]byte(s))
		}
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d, rows.Err()
}

// CheckpointEvery is how often (in blocks) a pruning node truncates its
// SQLite WAL, bounding how long a deleted row's old pages stay there.
const CheckpointEvery = 10

// Commit makes the finalized block durable and opens the mempool's view of
// the new state.
//
// A failure here halts the node (CometBFT stops on an error from Commit).
// Once SQLite has committed, the committed fields follow it before anything
// else can fail, so the app never reports a height other than the one in
// its database.
func (a *App) Commit(ctx context.Context, _ *abci.RequestCommit) (*abci.ResponseCommit, error) {
	if !a.block.open || a.block.genesis {
		return nil, errors.New("app: Commit without a finalized block")
	}
	// Readers may see the new height as soon as SQLite commits, so its
	// trie version must be there first.
	a.versions.add(a.block.height, a.block.trie)
	if err := a.db.Commit(ctx); err != nil {
		a.versions.drop(a.block.height)
		return nil, a.abortBlock(ctx, err)
	}
	a.trie = a.block.trie
	a.mu.Lock()
	a.height, a.appHash, a.hasHeight = a.block.height, a.block.appHash, true
	a.setTables()
	a.mu.Unlock()
	a.block = blockState{}
	// CometBFT rechecks the mempool after Commit; the pending nonces are
	// rebuilt from committed state by those rechecks.
	a.check.reset()
	if err := a.applyPlugins(); err != nil {
		return nil, fmt.Errorf("app: after commit of block %d: %w", a.height, err)
	}
	a.maybeSnapshot(ctx)
	rh := a.retain.RetainHeight(a.height)
	if rh > 0 && a.height%CheckpointEvery == 0 {
		// Pruning promises that removed bytes leave the WAL too.
		// Not a consensus step: a failure leaves the WAL longer until the
		// next try, and is not a reason to halt.
		switch busy, err := a.db.Checkpoint(ctx); {
		case err != nil:
			a.log.Warn("WAL checkpoint failed; retrying later", "height", a.height, "err", err)
		case busy:
			a.log.Debug("WAL checkpoint blocked by a reader; retrying later", "height", a.height)
		}
	}
	return &abci.ResponseCommit{RetainHeight: rh}, nil
}

// Query answers "/<module>.<query>" reads (JSON data in, JSON value out)
// and "/account" (data: "scheme:identifier"), from one snapshot of committed
// state. The response height is the height of that snapshot.
func (a *App) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	snap, err := a.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer snap.Rollback()
	meta, err := readMeta(ctx, snap)
	if err != nil {
		return nil, err
	}
	respond := func(code uint32, v any, err error) (*abci.ResponseQuery, error) {
		res := &abci.ResponseQuery{Code: code, Height: meta.height}
		if code != CodeOK {
			res.Codespace, res.Log = Codespace, err.Error()
			return res, nil
		}
		res.Value, err = json.Marshal(v)
		return res, err
	}
	if !meta.hasHeight {
		// Genesis tables commit with block 1; until then there is no
		// state to read.
		return respond(CodeNotReady, nil, errors.New("no block committed yet"))
	}
	if len(req.Path) < 2 || req.Path[0] != '/' {
		return respond(CodeUnknownAction, nil, fmt.Errorf("query path %q must be /<name>", req.Path))
	}
	name := req.Path[1:]
	switch name {
	case "account":
		next, err := nextNonce(ctx, snap, string(req.Data))
		return respond(CodeOK, AccountInfo{ID: string(req.Data), NextNonce: next}, err)
	case "snapshots":
		// Local and unproven, like every answer of one node: a joining
		// node's init uses it only to pick the height it asks its servers
		// to agree on (cmd/idosnode, init --state-sync).
		hs, err := a.snapshotHeights()
		if err != nil {
			return nil, err
		}
		return respond(CodeOK, SnapshotHeights{Heights: hs}, nil)
	case "proof":
		var pr ProofRequest
		if err := module.Decode(req.Data, &pr); err != nil {
			return respond(CodeActionFailed, nil, err)
		}
		sc, err := a.scopeOfKey(pr)
		var b *readproof.Bundle
		switch {
		case err == nil && pr.Page && !sc.Range:
			err = fmt.Errorf("%w: pages are of a prefix", module.ErrInvalidPayload)
		case err == nil && pr.Page:
			b, err = a.pageBundle(ctx, snap, meta.height, sc, pr.After, pr.Height, pr.Limit)
		case err == nil && (pr.After != nil || pr.Height != 0 || pr.Limit != 0):
			err = fmt.Errorf("%w: after, height and limit are for pages", module.ErrInvalidPayload)
		case err == nil:
			b, err = a.bundle(ctx, snap, meta.height, sc)
		}
		if code, ok := readCode(err); ok {
			return respond(code, b, err)
		}
		return nil, err
	}
	q, ok := a.queries[name]
	if !ok {
		return respond(CodeUnknownAction, nil, fmt.Errorf("unknown query %q", name))
	}
	v, err := q(ctx, snap, req.Data)
	if err != nil {
		if code, ok := readCode(err); ok {
			return respond(code, nil, err)
		}
		return nil, err
	}
	if !req.Prove {
		return respond(CodeOK, v, nil)
	}
	b, err := a.proveQuery(ctx, snap, meta.height, name, nil, req.Data)
	if err != nil {
		if code, ok := readCode(err); ok {
			return respond(code, nil, err)
		}
		return nil, err
	}
	res, err := respond(CodeOK, v, nil)
	if err != nil {
		return nil, err
	}
	bj, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	res.ProofOps = &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: ProofOpType, Key: b.Key, Data: bj}}}
	return res, nil
}

// readCode maps the errors a read may report to its caller to a result
// code; ok is false for failures of the node itself.
func readCode(err error) (code uint32, ok bool) {
	switch {
	case err == nil:
		return CodeOK, true
	case errors.Is(err, module.ErrForbidden):
		return CodeForbidden, true
	case errors.Is(err, module.ErrNotFound), errors.Is(err, module.ErrInvalidPayload), errors.Is(err, errNoProof):
		return CodeActionFailed, true
	}
	return 0, false
}

// proveQuery builds the proof of a query's answer from the query's scope.
func (a *App) proveQuery(ctx context.Context, snap *sql.Tx, height int64, name string, caller *module.Sender, data []byte) (*readproof.Bundle, error) {
	scope, ok := a.scopes[name]
	if !ok {
		return nil, fmt.Errorf("%w: query %s has no proof", errNoProof, name)
	}
	sc, err := scope(ctx, snap, caller, data)
	if err != nil {
		return nil, err
	}
	return a.bundle(ctx, snap, height, sc)
}

// ReadResult is the answer of a read: the JSON value, or a code and message
// when the read was refused, and the committed height it reflects.
type ReadResult struct {
	Height int64
	Code   uint32 // CodeOK, CodeNotReady, CodeUnknownAction, CodeActionFailed, CodeForbidden
	Log    string
	Value  json.RawMessage
	// Proof proves Value's rows when the read asked for it.
	Proof *readproof.Bundle
}

// PrivateQuery runs a private query for an authenticated caller against one
// snapshot of committed state. The caller's identity must have been
// verified (the gateway's signed challenge). Errors are failures of the node,
// not of the request.
//
// With prove, the answer comes with the proof of its rows (the query's
// scope), from the same snapshot.
func (a *App) PrivateQuery(ctx context.Context, name string, caller module.Sender, data []byte, prove bool) (ReadResult, error) {
	q, ok := a.private[name]
	if !ok {
		return ReadResult{Code: CodeUnknownAction, Log: fmt.Sprintf("unknown private query %q", name)}, nil
	}
	return a.privateRead(ctx, func(snap *sql.Tx, height int64, res *ReadResult) error {
		v, err := q(ctx, snap, caller, data)
		if err == nil && prove {
			res.Proof, err = a.proveQuery(ctx, snap, height, name, &caller, data)
		}
		if err == nil {
			res.Value, err = json.Marshal(v)
		}
		return err
	})
}

// PrivateQueryPage answers a page of the range a private read covers
// (docs/spec/read-proofs.md, "Pages"): Proof is a KindPage bundle (or, for
// a first page of an empty range, its KindRange proof) and Value is null.
// The read's scope is its access check: it is computed for the caller, as
// with prove, and must be a range.
func (a *App) PrivateQueryPage(ctx context.Context, name string, caller module.Sender, data []byte, page ProofRequest) (ReadResult, error) {
	scope, ok := a.scopes[name]
	if _, known := a.private[name]; !known || !ok {
		return ReadResult{Code: CodeUnknownAction, Log: fmt.Sprintf("no private query %q with a proven range", name)}, nil
	}
	return a.privateRead(ctx, func(snap *sql.Tx, height int64, res *ReadResult) error {
		sc, err := scope(ctx, snap, &caller, data)
		if err == nil && !sc.Range {
			err = fmt.Errorf("%w: %s reads one row; pages are of ranges", module.ErrInvalidPayload, name)
		}
		if err == nil {
			res.Value = json.RawMessage("null") // the rows are the page's
			res.Proof, err = a.pageBundle(ctx, snap, height, sc, page.After, page.Height, page.Limit)
		}
		return err
	})
}

// privateRead runs read in one read-only snapshot of committed state at its
// height; an error of the request (readCode) becomes the result's code and
// log, anything else is the node's failure.
func (a *App) privateRead(ctx context.Context, read func(snap *sql.Tx, height int64, res *ReadResult) error) (ReadResult, error) {
	snap, err := a.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return ReadResult{}, err
	}
	defer snap.Rollback()
	meta, err := readMeta(ctx, snap)
	if err != nil {
		return ReadResult{}, err
	}
	res := ReadResult{Height: meta.height}
	if !meta.hasHeight {
		res.Code, res.Log = CodeNotReady, "no block committed yet"
		return res, nil
	}
	if err := read(snap, meta.height, &res); err != nil {
		code, ok := readCode(err)
		if !ok {
			return ReadResult{}, err
		}
		return ReadResult{Height: meta.height, Code: code, Log: err.Error()}, nil
	}
	return res, nil
}

// PrivateQueries lists the names of the private queries, sorted.
func (a *App) PrivateQueries() []string {
	names := make([]string, 0, len(a.private))
	for n := range a.private {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// AccountInfo is the answer of the "/account" query (its wire form is
// node/wire's).
type AccountInfo = wire.AccountInfo

func nextNonce(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, account string) (uint64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT next_nonce FROM accounts WHERE id = ?`, account).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return uint64(n), err
}
