package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/userclient"
)

// TestRemovedCredentialLeavesNoTrace runs `idosnode start` (CometBFT,
// LevelDB stores, SQLite) keeping 20 blocks. A credential whose ciphertext
// carries a unique marker is written; with the node stopped (SIGTERM), the
// marker is found in the block store, the tx index and the SQLite state.
// The node restarts, the credential is removed and the chain runs past the
// retain window; with the node stopped again, no file under the home holds
// the marker (docs/spec/data-model.md, "Deletion").
func TestRemovedCredentialLeavesNoTrace(t *testing.T) {
	const retainBlocks = 20
	bin := testnet.Binary(t)
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 3)
	gw := "127.0.0.1:" + strconv.Itoa(base+2)
	if err := home.Init(dir, home.Options{
		ChainID:           "idos-prune-test",
		P2PListenAddr:     "127.0.0.1:" + strconv.Itoa(base),
		RPCListenAddr:     "127.0.0.1:" + strconv.Itoa(base+1),
		GatewayListenAddr: gw,
		TimeoutCommit:     100 * time.Millisecond,
		RetainBlocks:      retainBlocks,
	}); err != nil {
		t.Fatal(err)
	}
	// 1 s of light-client trust at 100 ms blocks is 10 blocks, inside the
	// window; compact after every 5 pruned heights.
	cfgPath := filepath.Join(dir, "config", home.AppConfigFile)
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h.App.LightTrustingPeriod, h.App.CompactEveryBlocks = "1s", 5
	cfg, _ := json.Marshal(h.App)
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	ks := &userclient.Keystore{Dir: t.TempDir(), ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	ins, err := ks.Generate("inserter", auth.SchemeEd25519, "", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usr, err := ks.Generate("user", auth.SchemeEIP191, "", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g := composition.DefaultGenesis()
	g.IDOS.Inserters = []string{ins.AccountID()}
	state, err := g.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := home.NewGenesis([]string{dir}, home.GenesisOptions{ChainID: "idos-prune-test", AppState: state})
	if err != nil {
		t.Fatal(err)
	}
	// A short evidence age, so a 20-block window passes the evidence rule.
	doc.ConsensusParams.Evidence.MaxAgeNumBlocks = 5
	if err := home.WriteGenesis(dir, doc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rpc, err := rpchttp.New("http://127.0.0.1:"+strconv.Itoa(base+1), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	waitHeight := func(p *nodeProc, min int64) {
		t.Helper()
		for height(ctx, rpc) < min {
			if !p.alive() || ctx.Err() != nil {
				t.Fatalf("height %d not reached; log %s", min, p.log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stop := func(p *nodeProc) {
		t.Helper()
		p.kill(syscall.SIGTERM)
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("node exited with %d; log %s", code, p.log)
		}
	}

	p := startNode(t, bin, dir)
	waitHeight(p, 2)
	url := "http://" + gw
	inserter, err := userclient.Dial(ctx, url, ins, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := userclient.WalletProof(usr, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inserter.AddUser(ctx, proof); err != nil {
		t.Fatal(err)
	}
	// Standard base64 (the module checks it) made of a fixed prefix and
	// 32 random hex digits: appears nowhere by chance.
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	marker := []byte("IdosPruneMarker0" + hex.EncodeToString(rnd[:]))
	credID := userclient.NewID()
	added, err := inserter.Send(ctx, "idos.add_credential", idos.AddCredentialPayload{
		CredentialID: credID, UserID: proof.UserID, IssuerAuthPublicKey: ins.AccountID(),
		EncryptorPublicKey: ins.Encryption.PublicBase64(), Content: string(marker) + strings.Repeat("A", 64),
	})
	if err != nil {
		t.Fatal(err)
	}
	// CometBFT indexes a block's transactions after it commits the block,
	// in its own goroutine: wait until the index has this one, or a stop
	// right after the commit can leave the index without it.
	txHash, err := hex.DecodeString(added.Hash)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := rpc.Tx(ctx, txHash, false); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("transaction %s never indexed", added.Hash)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop(p)
	before := filesWith(t, dir, marker)
	for _, want := range []string{"data/blockstore.db", "data/tx_index.db", "data/idos.sqlite"} {
		found := false
		for _, f := range before {
			found = found || strings.HasPrefix(f, want)
		}
		if !found {
			t.Errorf("marker not found under %s before removal (found in %v): the test would prove nothing", want, before)
		}
	}

	p = startNode(t, bin, dir)
	waitHeight(p, added.Height+1)
	user, err := userclient.Dial(ctx, url, usr, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := user.RemoveCredential(ctx, credID)
	if err != nil {
		t.Fatal(err)
	}
	// Past the window for the removal block, with room for a compaction
	// (every 5 pruned heights) and the WAL checkpoint (every
	// app.CheckpointEvery blocks); then two pruner passes.
	target := removed.Height + retainBlocks + 5 + app.CheckpointEvery + 2
	waitHeight(p, target)
	time.Sleep(2*runner.DefaultPruneInterval + time.Second)
	stop(p)
	if after := filesWith(t, dir, marker); len(after) > 0 {
		t.Errorf("added at %d, removed at %d, stopped after %d with %d blocks kept: marker still in %v",
			added.Height, removed.Height, target, retainBlocks, after)
	}
}

// filesWith lists the files under dir (relative) that contain needle.
func filesWith(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// LevelDB compresses its tables (snappy) and splits its
			// journal into 32 KiB blocks, so a byte search of its files can
			// miss what it holds: read its live data through LevelDB too.
			if _, err := os.Stat(filepath.Join(path, "CURRENT")); err == nil && leveldbHolds(t, path, needle) {
				rel, _ := filepath.Rel(dir, path)
				out = append(out, rel+" (live data)")
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, needle) {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// leveldbHolds reports whether a key or value of the LevelDB database at
// path (opened read-only; the node is stopped) contains needle.
func leveldbHolds(t *testing.T, path string, needle []byte) bool {
	t.Helper()
	db, err := leveldb.OpenFile(path, &opt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	it := db.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		if bytes.Contains(it.Key(), needle) || bytes.Contains(it.Value(), needle) {
			return true
		}
	}
	if err := it.Error(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return false
}
