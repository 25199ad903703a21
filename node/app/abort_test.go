package app

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/kv"
)

// A block whose record cannot be written (here: a row for its height is
// already in _idos_blocks) fails FinalizeBlock, rolls the block back, and
// leaves the committed state as it was; the same block runs once the
// obstacle is gone. Regression: a shadowed err used to drop the error of
// recordBlock, so FinalizeBlock answered an app hash for a block whose
// record was never written.
func TestBlockRecordErrorFailsTheBlock(t *testing.T) {
	dir := t.TempDir()
	a := newApp(t, dir)
	defer a.Close()
	initChain(t, a)
	first := runBlock(t, a, 1)

	db, err := sql.Open("sqlite", filepath.Join(dir, "state.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 32)
	if _, err := db.Exec(`INSERT INTO _idos_blocks (height, changeset_hash, changes, app_hash, state_root) VALUES (2, ?, 0, ?, ?)`, zero, zero, zero); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	raw := build(t, edAccount(41), "kv.put", kv.PutPayload{Key: "k", Value: "v"})
	req := &abci.RequestFinalizeBlock{Height: 2, Txs: [][]byte{raw}, Time: genesisTime}
	res, err := a.FinalizeBlock(ctx, req)
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		t.Fatalf("FinalizeBlock over an existing block record: %v (response %v), want a constraint error", err, res)
	}
	if a.db.InBlock() || a.block.open {
		t.Fatal("the failed block is still open")
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err == nil {
		t.Fatal("Commit after a failed FinalizeBlock succeeded")
	}
	info, err := a.Info(ctx, &abci.RequestInfo{})
	if err != nil || info.LastBlockHeight != 1 || string(info.LastBlockAppHash) != string(first.AppHash) {
		t.Fatalf("Info after the failed block: %v, height %d", err, info.LastBlockHeight)
	}

	// Without the stray row, the same block executes and commits.
	if _, err := db.Exec(`DELETE FROM _idos_blocks WHERE height = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if got := runBlock(t, a, 2, raw); got.TxResults[0].Code != CodeOK {
		t.Fatalf("block 2 after the fix: code %d %s", got.TxResults[0].Code, got.TxResults[0].Log)
	}
}

// A FinalizeBlock refused before its block opens leaves nothing open
// either: the right height runs next.
func TestFinalizeBlockAbortLeavesNothingOpen(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	runBlock(t, a, 1)
	ctx := context.Background()
	// A height that does not follow the committed one: refused before the
	// block opens.
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 5, Time: genesisTime}); err == nil {
		t.Fatal("FinalizeBlock at height 5 after 1 succeeded")
	}
	if a.db.InBlock() {
		t.Fatal("a refused height opened a block")
	}
	runBlock(t, a, 2)
}

// An InitChain that fails after its transaction opened (here a module's
// genesis) rolls it back, and a second InitChain starts from an empty
// database: CometBFT retries InitChain after a restart.
func TestInitChainAbortRollsBack(t *testing.T) {
	fail := true
	flaky := module.Module{Name: "flaky",
		Schema: []string{`CREATE TABLE flaky (id INTEGER PRIMARY KEY) STRICT, WITHOUT ROWID`},
		InitGenesis: func(env *module.Env, _ module.Genesis) error {
			if _, err := env.DB.ExecContext(env.Ctx, `INSERT INTO flaky (id) VALUES (1)`); err != nil {
				return err
			}
			if fail {
				return errors.New("genesis refused")
			}
			return nil
		}}
	a, err := New(Config{DBPath: filepath.Join(t.TempDir(), "s.sqlite"), Modules: []module.Module{kv.Module(), flaky}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	req := &abci.RequestInitChain{ChainId: testChain, AppStateBytes: []byte(`{}`), Time: genesisTime, InitialHeight: 1}
	if _, err := a.InitChain(ctx, req); err == nil {
		t.Fatal("InitChain with a failing module genesis succeeded")
	}
	if a.db.InBlock() || a.block.open {
		t.Fatal("the failed InitChain left its transaction open")
	}
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Time: genesisTime}); err == nil {
		t.Fatal("FinalizeBlock ran without the genesis state")
	}
	fail = false
	if _, err := a.InitChain(ctx, req); err != nil {
		t.Fatalf("InitChain again: %v", err)
	}
	runBlock(t, a, 1)
}
