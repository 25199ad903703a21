package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/apphash"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/readproof"
)

// proofQuery asks the app for the bundle of a raw key or prefix.
func proofQuery(t *testing.T, a *App, req ProofRequest) (*readproof.Bundle, *abci.ResponseQuery) {
	t.Helper()
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Query(context.Background(), &abci.RequestQuery{Path: "/proof", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != CodeOK {
		return nil, res
	}
	var b readproof.Bundle
	if err := json.Unmarshal(res.Value, &b); err != nil {
		t.Fatal(err)
	}
	return &b, res
}

// checkBundle verifies a bundle as a light client would, against the app
// hash the block reported (the one header H+1 carries), with the pure
// verifiers only, and returns the rows' decoded values.
func checkBundle(t *testing.T, b *readproof.Bundle, appHash []byte) [][]any {
	t.Helper()
	proof, err := commitment.DecodeProof(b.Proof)
	if err != nil {
		t.Fatal(err)
	}
	var prev, cs, root [32]byte
	copy(prev[:], b.PrevAppHash)
	copy(cs[:], b.ChangesetHash)
	copy(root[:], b.StateRoot)
	if got := apphash.Block(uint64(b.Height), prev, cs, root); !bytes.Equal(got[:], appHash) {
		t.Fatalf("bundle of height %d recomputes app hash %x, the block's is %x", b.Height, got, appHash)
	}
	var entries []commitment.Entry
	var rows [][]any
	for _, r := range b.Rows {
		entries = append(entries, commitment.Entry{Key: r.Key, ValueHash: sha256.Sum256(r.Row)})
		vals, err := commitment.DecodeRow(r.Row)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, vals)
	}
	switch b.Kind {
	case readproof.KindRow:
		if len(entries) != 1 || !bytes.Equal(entries[0].Key, b.Key) {
			t.Fatalf("row bundle with rows %v", b.Rows)
		}
		err = commitment.VerifyMembership(root, b.Key, entries[0].ValueHash, proof)
	case readproof.KindAbsent:
		err = commitment.VerifyNonMembership(root, b.Key, proof)
	case readproof.KindRange:
		err = commitment.VerifyRange(root, b.Key, entries, proof)
	default:
		t.Fatalf("bundle kind %q", b.Kind)
	}
	if err != nil {
		t.Fatalf("%s bundle for %x does not verify: %v", b.Kind, b.Key, err)
	}
	return rows
}

// Every read can be proven against the app hash: a range of a table, one
// row, the absence of a deleted row; after a restart too, from the trie
// rebuilt out of the leaf table.
func TestReadProofs(t *testing.T) {
	dir := t.TempDir()
	a := newApp(t, dir)
	initChain(t, a)
	var appHash []byte
	for i, txs := range workload(t) {
		appHash = runBlock(t, a, int64(i+1), txs...).AppHash
		// At every height the whole kv table is provable and complete.
		prefix, _ := commitment.TablePrefix("kv")
		b, res := proofQuery(t, a, ProofRequest{Prefix: prefix})
		if b == nil {
			t.Fatalf("height %d: proof query: %d %s", i+1, res.Code, res.Log)
		}
		if b.Height != int64(i+1) {
			t.Fatalf("bundle height %d, want %d", b.Height, i+1)
		}
		checkBundle(t, b, appHash)
	}
	// The two senders' account ids, from the proven accounts table: ed is
	// the one that owns the "age" entry.
	prefix, _ := commitment.TablePrefix("accounts")
	b, _ := proofQuery(t, a, ProofRequest{Prefix: prefix})
	accts := checkBundle(t, b, appHash)
	if len(accts) != 2 {
		t.Fatalf("accounts %v", accts)
	}
	ed, eth := accts[0][0].(string), accts[1][0].(string)
	if key, _ := commitment.Key("kv", []any{ed, "age"}); func() bool { b, _ := proofQuery(t, a, ProofRequest{Key: key}); return b.Kind != readproof.KindRow }() {
		ed, eth = eth, ed
	}

	check := func(a *App) {
		t.Helper()
		// ed's entries: complete range under its owner prefix.
		prefix, _ := commitment.Key("kv", []any{ed})
		b, res := proofQuery(t, a, ProofRequest{Prefix: prefix})
		if b == nil {
			t.Fatalf("range: %d %s", res.Code, res.Log)
		}
		rows := checkBundle(t, b, appHash)
		if len(rows) != 2 || rows[0][1] != "age" || rows[0][2] != "40" || rows[1][1] != "name" || rows[1][2] != "alice2" {
			t.Fatalf("ed's kv rows %v", rows)
		}
		// eth's deleted entry is provably absent.
		key, _ := commitment.Key("kv", []any{eth, "name"})
		b, res = proofQuery(t, a, ProofRequest{Key: key})
		if b == nil || b.Kind != readproof.KindAbsent {
			t.Fatalf("deleted key: %+v %d %s", b, res.Code, res.Log)
		}
		checkBundle(t, b, appHash)
		// kv.get with prove carries the row's proof beside the answer.
		data, _ := json.Marshal(kv.GetRequest{Owner: ed, Key: "name"})
		qres, err := a.Query(context.Background(), &abci.RequestQuery{Path: "/kv.get", Data: data, Prove: true})
		if err != nil || qres.Code != CodeOK {
			t.Fatalf("kv.get prove: %v %d %s", err, qres.Code, qres.Log)
		}
		if qres.ProofOps == nil || len(qres.ProofOps.Ops) != 1 || qres.ProofOps.Ops[0].Type != ProofOpType {
			t.Fatalf("kv.get proof ops %+v", qres.ProofOps)
		}
		var pb readproof.Bundle
		if err := json.Unmarshal(qres.ProofOps.Ops[0].Data, &pb); err != nil {
			t.Fatal(err)
		}
		if rows := checkBundle(t, &pb, appHash); pb.Kind != readproof.KindRow || rows[0][2] != "alice2" {
			t.Fatalf("kv.get bundle %s %v", pb.Kind, rows)
		}
	}
	check(a)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = newApp(t, dir)
	check(a)
	a.Close()
}

func TestProofRequestsRefused(t *testing.T) {
	a := newApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a)
	runBlock(t, a, 1)
	priv, _ := commitment.Key("idos_credentials", []any{"u1"})
	for name, tc := range map[string]struct {
		req  ProofRequest
		code uint32
		want string
	}{
		"private table": {ProofRequest{Prefix: priv}, CodeForbidden, "private"},
		"no table":      {ProofRequest{Key: []byte("nope\x00\x02a\x00\x00")}, CodeActionFailed, "no table"},
		"bad key":       {ProofRequest{Key: []byte("kv\x00\x02a")}, CodeActionFailed, "terminator"},
		"both":          {ProofRequest{Key: []byte("kv\x00"), Prefix: []byte("kv\x00")}, CodeActionFailed, "exactly one"},
		"short key":     {ProofRequest{Key: []byte("kv\x00\x02a\x00\x00")}, CodeActionFailed, "primary key"},
	} {
		_, res := proofQuery(t, a, tc.req)
		if res.Code != tc.code || !strings.Contains(res.Log, tc.want) {
			t.Errorf("%s: code %d %q, want %d with %q", name, res.Code, res.Log, tc.code, tc.want)
		}
	}
}

// A leaf table that does not hash to the committed root stops the node at
// start, rather than serving proofs that cannot verify.
func TestCorruptLeavesRefused(t *testing.T) {
	dir := t.TempDir()
	a := newApp(t, dir)
	initChain(t, a)
	for i, txs := range workload(t) {
		runBlock(t, a, int64(i+1), txs...)
	}
	a.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, "state.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM _idos_leaves WHERE key = (SELECT max(key) FROM _idos_leaves)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = New(Config{Modules: composition.Modules(), DBPath: filepath.Join(dir, "state.sqlite")})
	if !errors.Is(err, ErrCorruptState) {
		t.Fatalf("New over a corrupt leaf table: %v", err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
}

// Only the last KeepVersions heights keep a trie version; reads of the
// latest height always find theirs.
func TestKeepVersions(t *testing.T) {
	a, err := New(Config{Modules: composition.Modules(), DBPath: filepath.Join(t.TempDir(), "state.sqlite"), KeepVersions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	initChain(t, a)
	for h := int64(1); h <= 5; h++ {
		runBlock(t, a, h)
	}
	for h, want := range map[int64]bool{3: false, 4: true, 5: true} {
		if got := a.versions.get(h) != nil; got != want {
			t.Errorf("version of height %d kept: %v, want %v", h, got, want)
		}
	}
	prefix, _ := commitment.TablePrefix("validators")
	if b, res := proofQuery(t, a, ProofRequest{Prefix: prefix}); b == nil || b.Height != 5 {
		t.Fatalf("proof at the latest height: %+v %d %s", b, res.Code, res.Log)
	}
	// The block records the kept versions quote (4 and 3 for version 4),
	// and no older ones.
	if b, res := proofQuery(t, a, ProofRequest{Prefix: prefix, Page: true, Height: 4, Limit: 10}); b == nil || b.Height != 4 {
		t.Fatalf("page at the oldest kept version: %+v %d %s", b, res.Code, res.Log)
	}
	var lo, n int64
	if err := a.db.Reader().QueryRowContext(context.Background(), `SELECT min(height), count(*) FROM _idos_blocks`).Scan(&lo, &n); err != nil {
		t.Fatal(err)
	}
	if lo != 3 || n != 3 {
		t.Errorf("block records from %d, %d of them; want 3, 4, 5", lo, n)
	}
}
