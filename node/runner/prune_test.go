package runner_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/retain"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/userclient"
)

// TestRemovedCredentialLeavesNoTrace runs a real single-validator node
// (CometBFT, LevelDB stores, SQLite) that keeps 20 blocks. A credential
// whose ciphertext carries a unique marker is written; with the node
// stopped, the marker is found in the block store, the tx index and the
// SQLite state. The credential is removed and the chain advanced past the
// retain window; with the node stopped again, no file under the home holds
// the marker (docs/spec/data-model.md, "Deletion").
func TestRemovedCredentialLeavesNoTrace(t *testing.T) {
	const retainBlocks = 20
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 2)
	if err := home.Init(dir, home.Options{
		ChainID:           "idos-prune-test",
		P2PListenAddr:     "127.0.0.1:" + strconv.Itoa(base),
		RPCListenAddr:     "127.0.0.1:" + strconv.Itoa(base+1),
		GatewayListenAddr: "127.0.0.1:0",
		TimeoutCommit:     100 * time.Millisecond,
		RetainBlocks:      retainBlocks,
	}); err != nil {
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
	g := app.DefaultGenesis()
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
	start := func() (*runner.Running, string) {
		h, err := home.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		// 1 s at 100 ms blocks: 10 blocks, inside the window.
		h.App.LightTrustingPeriod = "1s"
		r, err := runner.StartWithOptions(context.Background(), h, testnet.Logger(t),
			runner.Options{PruneInterval: 100 * time.Millisecond, CompactEvery: 5})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Stop() })
		waitHeight(t, r, 2)
		return r, r.GatewayURL()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	r, url := start()
	inserter, err := userclient.Dial(ctx, url, ins, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := userclient.WalletProof(usr, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inserter.AddUser(ctx, p); err != nil {
		t.Fatal(err)
	}
	// Standard base64 (the module checks it) made of a fixed prefix and
	// 32 random hex digits: appears nowhere by chance.
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	marker := []byte("IdosPruneMarker0" + hex.EncodeToString(rnd[:]))
	credID := userclient.NewID()
	added, err := inserter.Send(ctx, "idos.add_credential", idos.AddCredentialPayload{
		CredentialID: credID, UserID: p.UserID, IssuerAuthPublicKey: ins.AccountID(),
		EncryptorPublicKey: ins.Encryption.PublicBase64(), Content: string(marker) + strings.Repeat("A", 64),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
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

	r, url = start()
	user, err := userclient.Dial(ctx, url, usr, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := user.RemoveCredential(ctx, credID)
	if err != nil {
		t.Fatal(err)
	}
	// Past the window for the removal block, with room for the pruner's
	// compaction (every 5 pruned heights) and the WAL checkpoint (every
	// app.CheckpointEvery blocks).
	target := removed.Height + retainBlocks + 5 + app.CheckpointEvery + 2
	waitHeight(t, r, target)
	if b := r.Node().BlockStore().Base(); b <= added.Height {
		t.Fatalf("block store base %d: block %d with the credential not pruned", b, added.Height)
	}
	time.Sleep(500 * time.Millisecond) // a few pruner passes
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if after := filesWith(t, dir, marker); len(after) > 0 {
		t.Errorf("added at %d, removed at %d, stopped after %d with %d blocks kept: marker still in %v",
			added.Height, removed.Height, target, retainBlocks, after)
	}
}

func waitHeight(t *testing.T, r *runner.Running, h int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if st, err := r.Client().Status(context.Background()); err == nil && st.SyncInfo.LatestBlockHeight >= h {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("height %d not reached", h)
}

// filesWith lists the files under dir (relative) that contain needle.
func filesWith(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
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

// TestStartRefusesShortWindow: a window shorter than the genesis evidence
// age stops the node before anything starts, naming the rule.
func TestStartRefusesShortWindow(t *testing.T) {
	dir := filepath.Join(testnet.TempDir(t), "node")
	if err := home.Init(dir, home.Options{GatewayListenAddr: "127.0.0.1:0", RetainBlocks: 10}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.Start(context.Background(), h, nil)
	var we *retain.WindowError
	if !errors.As(err, &we) || we.Rule != retain.RuleEvidence {
		if r != nil {
			_ = r.Stop()
		}
		t.Fatalf("Start = %v, want a WindowError for %s", err, retain.RuleEvidence)
	}
}
