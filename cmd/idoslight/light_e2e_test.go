package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/sqlstate"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
)

// lightNode is a real single-validator node running in this process.
type lightNode struct {
	r       *runner.Running
	h       *home.Home
	rpc     string
	chainID string
	stop    func() error
}

// startLightNode starts a node whose genesis makes inserter an inserter,
// with a short block interval so that header H+1 of a read follows soon.
func startLightNode(t *testing.T, inserter string) *lightNode {
	t.Helper()
	dir := filepath.Join(testnet.TempDir(t), "node")
	base := testnet.Ports(t, 2)
	const chainID = "idos-light-verify"
	if err := home.Init(dir, home.Options{
		ChainID:           chainID,
		P2PListenAddr:     "127.0.0.1:" + strconv.Itoa(base),
		RPCListenAddr:     "127.0.0.1:" + strconv.Itoa(base+1),
		GatewayListenAddr: "127.0.0.1:0",
		TimeoutCommit:     100 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := h.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	doc.AppState = appStateWithInserter(t, inserter)
	if err := doc.SaveAs(h.CometBFT.GenesisFile()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The node at warn level: its per-block lines would swamp the test's.
	r, err := runner.Start(ctx, h, slog.New(slog.NewTextHandler(tLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	n := &lightNode{r: r, h: h, rpc: "http://127.0.0.1:" + strconv.Itoa(base+1), chainID: chainID}
	n.stop = func() (err error) {
		once.Do(func() { err = r.Stop() })
		return err
	}
	t.Cleanup(func() {
		if err := n.stop(); err != nil {
			t.Errorf("stop node: %v", err)
		}
	})
	return n
}

type tLog struct{ t *testing.T }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitHeight polls until the node has committed height h.
func (n *lightNode) waitHeight(t *testing.T, h int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		st, err := n.r.Client().Status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= h {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("height %d not reached: %v (last error %v)", h, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// inProcess runs idoslight in this process, as main does: stdout, stderr
// (with main's "Error:" line) and the exit status.
func inProcess(ctx context.Context, stdout, stderr io.Writer, args ...string) int {
	app := newApp()
	app.Writer, app.ErrWriter = stdout, stderr
	if err := app.RunContext(ctx, append([]string{"idoslight"}, args...)); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return exitCode(err)
	}
	return 0
}

type lightRun struct{ t *testing.T }

func (l lightRun) run(args ...string) (string, string, int) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut syncBuffer
	code := inProcess(ctx, &out, &errOut, args...)
	return out.String(), errOut.String(), code
}

func (l lightRun) ok(args ...string) string {
	l.t.Helper()
	out, errOut, code := l.run(args...)
	if code != 0 {
		l.t.Fatalf("idoslight %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (l lightRun) okJSON(v any, args ...string) {
	l.t.Helper()
	out := l.ok(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		l.t.Fatalf("idoslight %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must exit with code, its stderr matching
// pattern.
func (l lightRun) fails(code int, pattern string, args ...string) {
	l.t.Helper()
	out, errOut, got := l.run(args...)
	if got != code || !regexp.MustCompile(pattern).MatchString(errOut) {
		l.t.Fatalf("idoslight %s: exit %d, want %d matching %q\n%s%s", strings.Join(args, " "), got, code, pattern, out, errOut)
	}
	l.t.Logf("refused as expected: %s", strings.TrimSpace(errOut))
}

// lyingGateway forwards to a real gateway and, while a lie is set, edits
// what it passes on.
type lyingGateway struct {
	t        *testing.T
	upstream string
	srv      *httptest.Server
	mu       sync.Mutex
	lie      string // "", "alter-row", "drop-credential", "record", "replay", "forge-copy", "drop-first-row:PATH", "drop-tx", "fake-success", "fake-failure"
	recorded map[string][]byte
	forgeTo  [32]byte // forge-copy seals its own content to this key
}

func newLyingGateway(t *testing.T, upstream string) *lyingGateway {
	g := &lyingGateway{t: t, upstream: upstream, recorded: map[string][]byte{}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *lyingGateway) set(lie string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lie = lie
}

func (g *lyingGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	lie := g.lie
	g.mu.Unlock()
	if lie == "drop-tx" && r.Method == http.MethodPost && r.URL.Path == "/v1/tx" {
		// Drop the transaction and answer as if it were committed.
		var req wire.SubmitRequest
		raw, err := base64.StdEncoding.DecodeString(func() string { _ = json.Unmarshal(body, &req); return req.Tx }())
		if err != nil {
			g.t.Errorf("lying gateway: %v", err)
		}
		sum := sha256.Sum256(raw)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(wire.SubmitResponse{Hash: strings.ToUpper(hex.EncodeToString(sum[:])), Height: 3})
		return
	}
	status, data, err := testnet.Forward(r, g.upstream, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if status == http.StatusOK {
		data = g.edit(r, data)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

func (g *lyingGateway) edit(r *http.Request, data []byte) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	must := func(err error) {
		if err != nil {
			g.t.Errorf("lying gateway: %v", err)
		}
	}
	switch {
	case g.lie == "alter-row" && r.URL.Path == "/v1/proof":
		var b readproof.Bundle
		must(json.Unmarshal(data, &b))
		vals, err := commitment.DecodeRow(b.Rows[0].Row)
		must(err)
		vals[len(vals)-1] = "forged"
		b.Rows[0].Row, err = commitment.EncodeRow(vals)
		must(err)
		data, err = json.Marshal(&b)
		must(err)
	case g.lie == "drop-credential" && r.URL.Path == "/v1/private/idos.get_credentials":
		var q wire.QueryResponse
		must(json.Unmarshal(data, &q))
		q.Proof.Rows = q.Proof.Rows[1:]
		var err error
		data, err = json.Marshal(&q)
		must(err)
	case g.lie == "forge-copy" && r.URL.Path == "/v1/private/idos.get_credential":
		data = forgeCopy(g.t, data, g.forgeTo)
	case g.lie == "drop-first-row:"+r.URL.Path:
		data = dropFirstRow(g.t, data)
	case (g.lie == "fake-success" || g.lie == "fake-failure") && r.URL.Path == "/v1/tx":
		var res wire.SubmitResponse
		if json.Unmarshal(data, &res) == nil {
			if g.lie == "fake-success" {
				res.Code, res.Log = 0, ""
			} else {
				res.Code, res.Log = 7, "refused, says the gateway"
			}
			data, _ = json.Marshal(res)
		}
	case g.lie == "record" && r.URL.Path == "/v1/proof":
		g.recorded[r.URL.RawQuery] = data
	case g.lie == "replay" && r.URL.Path == "/v1/proof":
		if old, ok := g.recorded[r.URL.RawQuery]; ok {
			data = old
		}
	}
	return data
}

// TestVerifyWhatNodesSay runs the verifying commands against a real node:
// init from its real header 1, sync, verified kv reads, a user's
// credentials proven complete and decrypted, a removal proven at a later
// height, and the local proxy; then the same commands through a gateway
// that lies (an altered row, a credential dropped from the range, an old
// bundle replayed), which must exit 1 naming the failure.
func TestVerifyWhatNodesSay(t *testing.T) {
	start := time.Now()
	f := newVerifyFixture(t, false)
	tmp, pass, ksDir, n, gw := t.TempDir(), f.pass, f.ksDir, f.n, f.gw
	userKey, user, secrets, credIDs := f.userKey, f.user, f.secrets, f.credIDs
	proof := struct{ UserID string }{f.userID}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	owner := userKey.AccountID()
	for _, e := range [][2]string{{"color", "blue"}, {"size", "L"}} {
		if _, err := user.Send(ctx, "kv.put", wire.KVPutPayload{Key: e[0], Value: e[1]}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("node and data ready after %s", time.Since(start).Round(time.Millisecond))

	c := lightRun{t}
	lightHome := filepath.Join(tmp, "light")
	hm := []string{"--home", lightHome}
	keyArgs := []string{"--key", "user-eth", "--keystore", ksDir, "--password-file", pass, "--home", lightHome}
	with := func(base []string, args ...string) []string { return append(append([]string(nil), args...), base...) }
	colorKey := fmt.Sprintf(`[%q,"color"]`, owner)

	// init: the real header 1 of the node, fetched here as a user would
	// with curl RPC/commit?height=1.
	one := int64(1)
	commit, err := n.r.Client().Commit(ctx, &one)
	if err != nil {
		t.Fatal(err)
	}
	trustHash := hex.EncodeToString(commit.SignedHeader.Hash())
	initArgs := []string{"init", "--chain-id", n.chainID, "--primary", n.rpc, "--witness", n.rpc, "--trust-height", "1", "--gateway", gw}
	c.fails(exitUsage, "--trust-hash is required", with(hm, initArgs...)...)
	c.fails(exitUsage, "32 bytes of hex", with(hm, append(initArgs, "--trust-hash", "abcd")...)...)
	c.fails(exitFailure, `trusted hash mismatch`, with(hm, append(initArgs, "--trust-hash", strings.Repeat("ab", 32))...)...)
	c.fails(exitFailure, "no light client configuration", with(hm, "sync")...)
	c.ok(with(hm, append(initArgs, "--trust-hash", trustHash)...)...)
	c.fails(exitFailure, "already exists: give --force", with(hm, append(initArgs, "--trust-hash", trustHash)...)...)
	c.ok(with(hm, append(initArgs, "--trust-hash", trustHash, "--force")...)...)

	// sync: progress on stderr, the verified height and app hash on stdout.
	out, errOut, code := c.run(with(hm, "sync")...)
	if code != 0 || !strings.Contains(errOut, "headers [") || !strings.Contains(out, "app hash:") {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	var synced syncResult
	c.okJSON(&synced, with(hm, "sync", "--json")...)
	if synced.Height < 2 || len(synced.AppHash) != 64 {
		t.Fatalf("sync: %+v", synced)
	}

	// get: a row, an absent key and a range, verified and named.
	var row verifiedAnswerJSON
	c.okJSON(&row, with(hm, "get", "--table", "kv", "--key", colorKey)...)
	if row.Kind != readproof.KindRow || len(row.Rows) != 1 || row.Rows[0]["value"] != "blue" || row.Rows[0]["owner"] != owner {
		t.Fatalf("get row: %+v", row)
	}
	var absent verifiedAnswerJSON
	c.okJSON(&absent, with(hm, "get", "--table", "kv", "--key", fmt.Sprintf(`[%q,"shape"]`, owner))...)
	if absent.Kind != readproof.KindAbsent || len(absent.Rows) != 0 {
		t.Fatalf("get absent: %+v", absent)
	}
	var rng verifiedAnswerJSON
	c.okJSON(&rng, with(hm, "get", "--table", "kv", "--prefix", fmt.Sprintf(`[%q]`, owner))...)
	if rng.Kind != readproof.KindRange || len(rng.Rows) != 2 || rng.Rows[1]["key"] != "size" {
		t.Fatalf("get range: %+v", rng)
	}
	var vals verifiedAnswerJSON
	c.okJSON(&vals, with(hm, "get", "--table", "validators", "--prefix", "[]")...)
	if len(vals.Rows) != 1 || vals.Rows[0]["power"] == nil {
		t.Fatalf("validators: %+v", vals)
	}
	c.fails(exitUsage, "unknown table", with(hm, "get", "--table", "nope", "--prefix", "[]")...)
	c.fails(exitUsage, "primary key of 2 columns", with(hm, "get", "--table", "kv", "--key", `["a"]`)...)
	c.fails(exitUsage, "not a 64-bit integer", with(hm, "get", "--table", "kv", "--key", `["a",1.5]`)...)
	c.fails(exitUsage, "neither a string nor an integer", with(hm, "get", "--table", "kv", "--key", `["a",true]`)...)
	// A private table is refused by the gateway: reported as forbidden, not
	// as a failed verification (nothing was sent to verify).
	c.fails(exitFailure, `^Error: forbidden: the gateway refuses this read: table idos_credentials is private`,
		with(hm, "get", "--table", "idos_credentials", "--prefix", "[]")...)

	// credentials: verified by default now that light.json exists.
	var proven struct {
		UserID      string          `json:"user_id"`
		Height      int64           `json:"height"`
		Complete    bool            `json:"complete"`
		Credentials []credentialOut `json:"credentials"`
	}
	c.okJSON(&proven, with(keyArgs, "credentials", "--decrypt", "--json")...)
	if !proven.Complete || proven.UserID != proof.UserID || len(proven.Credentials) != 2 {
		t.Fatalf("credentials: %+v", proven)
	}
	for _, cr := range proven.Credentials {
		if cr.Plaintext == nil || !slices.Contains(secrets, *cr.Plaintext) || !slices.Contains(credIDs, cr.ID) {
			t.Fatalf("credential %+v", cr)
		}
	}
	out = c.ok(with(keyArgs, "credentials")...)
	if !regexp.MustCompile(`2 credentials, complete at height \d+`).MatchString(out) {
		t.Fatalf("credentials:\n%s", out)
	}
	var plain readJSON
	c.okJSON(&plain, with(keyArgs, "credentials", "--no-verify", "--json")...)
	if cs := plain.unverified(t).Credentials; len(cs) != 2 {
		t.Fatalf("credentials --no-verify: %+v", cs)
	}
	c.fails(exitFailure, "is present at height", with(keyArgs, "verify-deleted", "--id", credIDs[0])...)

	// Lies, at the CLI level.
	liar := newLyingGateway(t, gw)
	lying := func(args ...string) []string { return append(args, "--gateway", liar.srv.URL) }
	liar.set("alter-row")
	c.fails(exitFailure, `verification failed \(bad proof\)`, lying(with(hm, "get", "--table", "kv", "--key", colorKey)...)...)
	c.fails(exitFailure, `verification failed \(bad proof\)`, lying(with(hm, "get", "--table", "kv", "--prefix", fmt.Sprintf(`[%q]`, owner))...)...)
	liar.set("drop-credential")
	c.fails(exitFailure, `verification failed \(bad proof\).*incomplete`, lying(with(keyArgs, "credentials", "--decrypt")...)...)
	c.fails(exitFailure, `verification failed \(bad proof\)`, lying(with(keyArgs, "verify-deleted", "--id", "00000000-0000-4000-8000-000000000000")...)...)
	liar.set("record")
	c.ok(lying(with(hm, "get", "--table", "kv", "--key", colorKey)...)...)
	if _, err := user.Send(ctx, "kv.put", wire.KVPutPayload{Key: "color", Value: "red"}); err != nil {
		t.Fatal(err)
	}
	liar.set("replay")
	var replayed readproof.Bundle
	if err := json.Unmarshal(liar.recorded["key="+hex.EncodeToString(mustKey(t, "kv", owner, "color"))], &replayed); err != nil {
		t.Fatal(err)
	}
	n.waitHeight(t, replayed.Height+4)
	c.fails(exitFailure, `verification failed \(stale height\)`, lying(with(hm, "get", "--table", "kv", "--key", colorKey, "--max-lag", "2")...)...)
	liar.set("")

	// Removal, then proof of absence at a later height.
	var removed struct {
		Tx userclient.Receipt `json:"tx"`
	}
	c.okJSON(&removed, "credential", "remove", "--key", "user-eth", "--keystore", ksDir, "--password-file", pass,
		"--gateway", gw, "--id", credIDs[0], "--json")
	out = c.ok(with(keyArgs, "verify-deleted", "--id", credIDs[0])...)
	m := regexp.MustCompile(`credential (\S+) is absent at height (\d+) \(complete set of 1\)`).FindStringSubmatch(out)
	if m == nil || m[1] != credIDs[0] {
		t.Fatalf("verify-deleted:\n%s", out)
	}
	if h, _ := strconv.ParseInt(m[2], 10, 64); h < removed.Tx.Height || h <= proven.Height {
		t.Fatalf("absent at height %d, removed at %d, listed at %d", h, removed.Tx.Height, proven.Height)
	}

	// The proxy: verified answers from the honest gateway, 502 from the
	// lying one.
	runProxy := func(gateway string, check func(base string)) {
		t.Helper()
		runProxy(ctx, t, check, "--home", lightHome, "--gateway", gateway)
	}
	call := func(method, url, body string) (int, map[string]any) {
		t.Helper()
		return call(ctx, t, method, url, body)
	}
	colorHex := hex.EncodeToString(mustKey(t, "kv", owner, "color"))
	kvBody := func(key string) string { return fmt.Sprintf(`{"owner":%q,"key":%q}`, owner, key) }
	firstValue := func(v map[string]any) any {
		rows, _ := v["rows"].([]any)
		if len(rows) != 1 {
			return nil
		}
		return rows[0].(map[string]any)["value"]
	}
	runProxy(gw, func(base string) {
		if st, v := call(http.MethodGet, base+"/v1/proof?key="+colorHex, ""); st != http.StatusOK || firstValue(v) != "red" {
			t.Fatalf("proxy proof: %d %v", st, v)
		}
		if st, v := call(http.MethodPost, base+"/v1/query/kv.get", kvBody("color")); st != http.StatusOK || firstValue(v) != "red" || v["kind"] != "row" {
			t.Fatalf("proxy kv.get: %d %v", st, v)
		}
		if st, v := call(http.MethodPost, base+"/v1/query/kv.get", kvBody("shape")); st != http.StatusOK || v["kind"] != "absent" {
			t.Fatalf("proxy kv.get of a missing key: %d %v", st, v)
		}
		if st, v := call(http.MethodGet, base+"/v1/proof?prefix="+hex.EncodeToString(mustKey(t, "kv", owner)), ""); st != http.StatusOK || len(v["rows"].([]any)) != 2 {
			t.Fatalf("proxy range: %d %v", st, v)
		}
		if st, v := call(http.MethodPost, base+"/v1/query/validators.list", "{}"); st != http.StatusOK || v["kind"] != "range" || len(v["rows"].([]any)) != 1 {
			t.Fatalf("proxy validators.list: %d %v", st, v)
		}
		if st, v := call(http.MethodPost, base+"/v1/query/account", fmt.Sprintf(`{"id":%q}`, owner)); st != http.StatusOK || v["kind"] != "row" {
			t.Fatalf("proxy account: %d %v", st, v)
		}
		if st, v := call(http.MethodPost, base+"/v1/tx", "{}"); st != http.StatusBadGateway || errCode(v) != "not_verifiable" {
			t.Fatalf("proxy unverifiable request: %d %v", st, v)
		}
		if st, v := call(http.MethodPost, base+"/v1/private/idos.get_user", "{}"); st != http.StatusBadGateway || errCode(v) != "not_verifiable" {
			t.Fatalf("proxy private read without --key: %d %v", st, v)
		}
		if st, _ := call(http.MethodGet, base+"/v1/proof?key=zz", ""); st != http.StatusBadRequest {
			t.Fatalf("proxy bad key: %d", st)
		}
		// The gateway's refusal of a private table is passed on as such.
		if st, v := call(http.MethodGet, base+"/v1/proof?prefix="+hex.EncodeToString(append([]byte("idos_credentials"), 0)), ""); st != http.StatusForbidden || errCode(v) != "forbidden" {
			t.Fatalf("proxy proof of a private table: %d %v, want 403 forbidden", st, v)
		}
		// The proxy holds the trusted store: another command on the same
		// home says so.
		c.fails(exitFailure, "trusted store in use: .*a running `idoslight proxy` holds it", with(hm, "sync")...)
		c.fails(exitFailure, "trusted store in use", with(keyArgs, "credentials")...)
	})
	liar.set("alter-row")
	runProxy(liar.srv.URL, func(base string) {
		if st, v := call(http.MethodGet, base+"/v1/proof?key="+colorHex, ""); st != http.StatusBadGateway || errCode(v) != "bad_proof" {
			t.Fatalf("proxy of a lying gateway: %d %v", st, v)
		}
	})
	// A witness that serves headers with another app hash (unsigned by
	// the validators) from height 3 on: a second light home trusting
	// header 1 refuses to sync and names the failure.
	witness := testnet.NewLyingRPC(t, n.rpc)
	witness.SetAlterAppHash(3)
	home2 := []string{"--home", filepath.Join(tmp, "light-witness")}
	c.ok(with(home2, "init", "--chain-id", n.chainID, "--primary", n.rpc, "--witness", witness.URL, "--trust-height", "1",
		"--trust-hash", trustHash, "--gateway", gw)...)
	c.fails(exitFailure, `verification failed \(no witness confirmed the header\).*witness 0 \(.*\) sent an invalid light block`, with(home2, "sync")...)
	t.Logf("done after %s", time.Since(start).Round(time.Millisecond))

	// The client's static schema is the node's: read the real node's
	// database as the node does (sqlstate, pragma_table_info), after it
	// stopped.
	if err := n.stop(); err != nil {
		t.Fatal(err)
	}
	checkStateTables(t, n.h.DBPath)
}

// TestLyingProviders runs the verifying commands against header providers
// in front of a real node that fail (a dead witness at init; a primary
// answering HTTP 500, bad JSON, an endless body, a dripping body or
// nothing), or freeze at an old height while a gateway replays a bundle
// from just before it. Each refusal exits 1 naming the provider and the
// class; a stalling primary is replaced by a witness.
func TestLyingProviders(t *testing.T) {
	tmp := t.TempDir()
	ks := &userclient.Keystore{Dir: filepath.Join(tmp, "keys"), ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ks.ImportECDSA("writer", k, "pw")
	if err != nil {
		t.Fatal(err)
	}
	n := startLightNode(t, key.AccountID())
	n.waitHeight(t, 2)
	gw := n.r.GatewayURL()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	writer, err := userclient.Dial(ctx, gw, key, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(v string) {
		t.Helper()
		if _, err := writer.Send(ctx, "kv.put", wire.KVPutPayload{Key: "color", Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	put("blue")
	one := int64(1)
	commit, err := n.r.Client().Commit(ctx, &one)
	if err != nil {
		t.Fatal(err)
	}
	trustHash := hex.EncodeToString(commit.SignedHeader.Hash())
	c := lightRun{t}
	initArgs := func(home, gateway, primary string, witnesses ...string) []string {
		args := []string{"init", "--home", filepath.Join(tmp, home), "--chain-id", n.chainID, "--primary", primary,
			"--trust-height", "1", "--trust-hash", trustHash, "--gateway", gateway}
		for _, w := range witnesses {
			args = append(args, "--witness", w)
		}
		return args
	}
	home := func(name string, args ...string) []string {
		return append(args, "--home", filepath.Join(tmp, name), "--rpc-timeout", "1s")
	}
	q := regexp.QuoteMeta

	// A dead witness: init refuses and says how to go on; later reads name it.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	c.fails(exitFailure, `verification failed \(witness down\): .*witness 0 \(`+q(gone.URL)+`\) failed to answer.*--allow-unreachable-witness`,
		initArgs("dead", gw, n.rpc, gone.URL)...)
	c.ok(append(initArgs("dead", gw, n.rpc, gone.URL), "--allow-unreachable-witness")...)
	c.fails(exitFailure, `verification failed \(provider failed\): .*witness 0 \(`+q(gone.URL)+`\) failed to answer.*idoslight init --force`, home("dead", "sync")...)

	// A primary that fails, with an honest witness: named, within the timeout.
	liar := testnet.NewLyingRPC(t, n.rpc)
	c.ok(initArgs("failing", gw, liar.URL, n.rpc)...)
	for _, lie := range []testnet.Lie{testnet.HTTP500, testnet.BadJSON, testnet.Huge, testnet.Drip, testnet.Stall} {
		liar.Set(lie)
		start := time.Now()
		c.fails(exitFailure, `verification failed \(provider failed\): .*primary \(`+q(liar.URL)+`\) failed to answer`, home("failing", "sync")...)
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: refused after %s, want about the 1 s --rpc-timeout", lie, took)
		}
		// Socket buffers let the liar write a few MB more than the 16 MiB
		// read; unbounded, a 2 GB body was read whole.
		if lie == testnet.Huge && liar.Served() > 64<<20 {
			t.Errorf("an endless body: %d bytes read, want at most about 16 MiB", liar.Served())
		}
	}

	// A stalling primary with two witnesses: they take over.
	liar.Set(testnet.Honest)
	c.ok(initArgs("failover", gw, liar.URL, n.rpc, n.rpc)...)
	liar.Set(testnet.Stall)
	start := time.Now()
	var synced syncResult
	c.okJSON(&synced, home("failover", "sync", "--json")...)
	if took := time.Since(start); took > 10*time.Second || synced.Height < 2 {
		t.Errorf("synced to %d after %s, want a sync within about the 1 s --rpc-timeout", synced.Height, took)
	}

	// The freeze: the gateway replays a bundle of height B, the primary
	// stops at B+1, the header that bundle is checked against, and the
	// value changes after it. Without a clock this read was accepted.
	liar.Set(testnet.Honest)
	replay := newLyingGateway(t, gw)
	replay.set("record")
	c.ok(initArgs("frozen", replay.srv.URL, liar.URL, n.rpc)...)
	colorKey := fmt.Sprintf(`[%q,"color"]`, key.AccountID())
	var first verifiedAnswerJSON
	c.okJSON(&first, home("frozen", "get", "--table", "kv", "--key", colorKey)...)
	if len(first.Rows) != 1 || first.Rows[0]["value"] != "blue" {
		t.Fatalf("get: %+v", first)
	}
	frozenAt := first.Height + 1
	liar.SetFreeze(frozenAt)
	replay.set("replay")
	put("red")
	// The get may have verified headers above frozenAt, up to the chain's
	// height now: wait until even that one is older than the limit.
	st, err := n.r.Client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const maxAge = 2 * time.Second
	time.Sleep(time.Until(st.SyncInfo.LatestBlockTime.Add(maxAge + 100*time.Millisecond)))
	c.fails(exitFailure, `verification failed \(stale header\): .*primary \(`+q(liar.URL)+fmt.Sprintf(`\) at height %d`, frozenAt),
		home("frozen", "get", "--table", "kv", "--key", colorKey, "--max-header-age", maxAge.String())...)
	// With a second witness the client syncs past the frozen primary.
	c.ok(initArgs("frozen2", gw, liar.URL, n.rpc, n.rpc)...)
	c.okJSON(&synced, home("frozen2", "sync", "--json", "--max-header-age", maxAge.String())...)
	if synced.Height <= frozenAt {
		t.Fatalf("synced to %d, not past the frozen primary at %d", synced.Height, frozenAt)
	}
}

// checkStateTables compares stateTables with the state tables of the
// database at path, as sqlstate reads them for the row encoding.
func checkStateTables(t *testing.T, path string) {
	t.Helper()
	db, err := sqlstate.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seen := map[string]bool{}
	for _, tb := range db.Tables() {
		seen[tb.Name] = true
		want, ok := stateTables[tb.Name]
		if !ok {
			t.Errorf("table %s of the node is missing from stateTables", tb.Name)
			continue
		}
		var pk []string
		for _, i := range tb.PK {
			pk = append(pk, tb.Columns[i])
		}
		if !slices.Equal(want.Columns, tb.Columns) || !slices.Equal(want.PK, pk) {
			t.Errorf("table %s: client has columns %v key %v, node has %v key %v", tb.Name, want.Columns, want.PK, tb.Columns, pk)
		}
	}
	for name := range stateTables {
		if !seen[name] {
			t.Errorf("stateTables has %s, which the node does not", name)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("only %d tables read from %s", len(seen), path)
	}
}

// runProxy runs `idoslight proxy` in this process with args (and a free
// local port), calls check with its base URL, and stops it.
func runProxy(ctx context.Context, t *testing.T, check func(base string), args ...string) {
	t.Helper()
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	var pout, perr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- inProcess(pctx, &pout, &perr, append([]string{"proxy", "--listen", "127.0.0.1:0"}, args...)...)
	}()
	addr := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for base == "" {
		if m := addr.FindStringSubmatch(perr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("proxy exited %d:\n%s", code, perr.String())
		case <-ctx.Done():
			t.Fatalf("proxy did not start:\n%s", perr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	check(base)
	stop()
	if code := <-done; code != 0 || !strings.Contains(perr.String(), "verifying proxy stopped") {
		t.Fatalf("proxy exit %d:\n%s", code, perr.String())
	}
}

// call makes an HTTP request and decodes the JSON object answered.
func call(ctx context.Context, t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&v); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, v
}

// verifiedAnswerJSON is verifiedAnswer as a program reads it.
type verifiedAnswerJSON struct {
	Height int64            `json:"height"`
	Kind   readproof.Kind   `json:"kind"`
	Table  string           `json:"table"`
	Rows   []map[string]any `json:"rows"`
}

func errCode(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func mustKey(t *testing.T, table string, pk ...any) []byte {
	t.Helper()
	k, err := commitment.Key(table, pk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
