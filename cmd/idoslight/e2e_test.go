package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testnet.Cleanup()
	if lightDir != "" {
		os.RemoveAll(lightDir)
	}
	os.Exit(code)
}

var (
	lightOnce sync.Once
	lightDir  string
	lightBin  string
	lightErr  error
)

// lightBinary builds cmd/idoslight once per test process, as
// testnet.Binary does for idosnode.
func lightBinary(t testing.TB) string {
	t.Helper()
	lightOnce.Do(func() {
		if lightDir, lightErr = os.MkdirTemp("", "idoslight-bin-"); lightErr != nil {
			return
		}
		lightBin = filepath.Join(lightDir, "idoslight")
		out, err := exec.Command("go", "build", "-o", lightBin, "github.com/idos-network/idos-node/cmd/idoslight").CombinedOutput()
		if err != nil {
			lightErr = fmt.Errorf("go build idoslight: %w\n%s", err, out)
		}
	})
	if lightErr != nil {
		t.Fatal(lightErr)
	}
	return lightBin
}

// lightCLI runs idoslight with a keystore and passphrase file in the
// environment.
type lightCLI struct {
	t   *testing.T
	bin string
	env []string
}

func newCLI(t *testing.T, keystore, passFile string) *lightCLI {
	// A HOME of its own: no light client configured there, whatever the
	// machine's ~/.idoslight holds, so reads and writes are unverified.
	return &lightCLI{t: t, bin: lightBinary(t), env: append(os.Environ(),
		"IDOSLIGHT_KEYSTORE="+keystore, "IDOSLIGHT_PASSWORD_FILE="+passFile, "HOME="+t.TempDir())}
}

// run returns stdout, stderr and the exit code.
func (c *lightCLI) run(args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	}
	c.t.Fatalf("idoslight %v: %v", args, err)
	return "", "", -1
}

// ok runs a command that must succeed and returns its stdout.
func (c *lightCLI) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("idoslight %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs a command that must exit with code and whose stderr must
// match pattern.
func (c *lightCLI) fails(code int, pattern string, args ...string) {
	c.t.Helper()
	out, errOut, got := c.run(args...)
	if got != code || !regexp.MustCompile(pattern).MatchString(errOut) {
		c.t.Fatalf("idoslight %s: exit %d, want %d matching %q\n%s%s", strings.Join(args, " "), got, code, pattern, out, errOut)
	}
}

// okJSON runs a command with --json and decodes its output.
func (c *lightCLI) okJSON(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("idoslight %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitStatus polls a gateway until cond holds for its status.
func waitStatus(ctx context.Context, t *testing.T, url string, cond func(*wire.StatusResponse) bool) {
	t.Helper()
	for {
		st, err := userclient.Status(ctx, url)
		if err == nil && cond(st) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gateway %s: condition not reached: %v (last error %v)", url, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestUserStoryCLI runs the data model's user story through the idoslight
// binary against a real 4-validator devnet: keys, an inserter creating a
// user, a second wallet, an encrypted credential read back by both wallets,
// a locked share a consumer decrypts and a stranger cannot read, revocation
// refused while locked and accepted after, and removal seen on every node.
func TestUserStoryCLI(t *testing.T) {
	start := time.Now()
	bin := testnet.Binary(t)
	tmp := t.TempDir()
	pass := writeFile(t, filepath.Join(tmp, "pass"), "correct horse\n")
	c := newCLI(t, filepath.Join(tmp, "keys"), pass)

	// Keys first: the inserter must be in the genesis.
	keys := map[string]keyInfo{}
	for _, k := range []struct{ name, typ string }{
		{"issuer", "eip191"}, {"user-eth", "eip191"}, {"user-ed", "ed25519"}, {"consumer", "ed25519"}, {"stranger", "ed25519"},
	} {
		var info keyInfo
		c.okJSON(&info, "key", "new", "--type", k.typ, "--name", k.name, "--light-kdf")
		keys[k.name] = info
	}
	c.fails(exitFailure, "already exists", "key", "new", "--type", "ed25519", "--name", "issuer", "--light-kdf")
	c.fails(exitUsage, "--type", "key", "new", "--name", "x")

	dir := filepath.Join(tmp, "devnet")
	if _, err := devnet.Create(devnet.Config{Dir: dir, Validators: 4, BasePort: testnet.DevnetPorts(t, 4), ChainID: "idos-light-e2e",
		AppState: appStateWithInserter(t, keys["issuer"].AccountID)}); err != nil {
		t.Fatal(err)
	}
	d := testnet.StartDevnet(t, bin, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := d.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw := m.Nodes[0].GatewayURL()
	for _, n := range m.Nodes {
		waitStatus(ctx, t, n.GatewayURL(), func(st *wire.StatusResponse) bool { return st.LatestBlockHeight >= 2 })
	}
	t.Logf("devnet up after %s", time.Since(start).Round(time.Millisecond))
	g := func(args ...string) []string { return append(args, "--gateway", gw) }

	// The user proves its wallet; the issuer creates the user with it.
	proofFile := filepath.Join(tmp, "proof.json")
	c.ok("wallet", "proof", "--key", "user-eth", "--out", proofFile)
	var proof userclient.Proof
	if err := json.Unmarshal([]byte(c.ok("wallet", "proof", "--key", "user-eth")), &proof); err != nil {
		t.Fatal(err)
	}
	c.fails(exitFailure, "not an inserter", g("user", "add", "--key", "stranger", "--proof", proofFile)...)
	c.ok(g("user", "add", "--key", "issuer", "--proof", proofFile)...)
	var user idosschema.User
	c.okJSON(&user, g("me", "--key", "user-eth")...)
	if user.EncryptionPublicKey != keys["user-eth"].EncryptionPublicKey || user.Inserter != keys["issuer"].AccountID {
		t.Fatalf("user %+v", user)
	}

	// The second wallet, proved by itself, linked by the user; it gets the
	// user's encryption key to decrypt.
	edProof := filepath.Join(tmp, "proof-ed.json")
	c.ok("wallet", "proof", "--key", "user-ed", "--user-id", user.ID, "--out", edProof)
	c.ok(g("wallet", "add", "--key", "user-eth", "--proof", edProof)...)
	c.ok("key", "set-encryption", "--key", "user-ed", "--from-key", "user-eth", "--light-kdf")

	// The issuer stores a credential encrypted to the user's key.
	secret := `{"name":"Alice","document":"X1234567"}`
	plain := writeFile(t, filepath.Join(tmp, "cred.json"), secret)
	// What the next step needs: the credential's id, its transaction and
	// height.
	added := c.ok(g("credential", "add", "--key", "issuer", "--user-id", user.ID, "--file", plain,
		"--to-key", user.EncryptionPublicKey, "--notes", `{"type":"kyc"}`)...)
	am := regexp.MustCompile(`^added credential (\S+) for user ` + regexp.QuoteMeta(user.ID) + ` \(tx [0-9A-Fa-f]{64}, height [1-9]\d*, `).FindStringSubmatch(added)
	if am == nil {
		t.Fatalf("credential add printed %q, want its id, tx hash and height", added)
	}
	credID := am[1]
	for _, w := range []string{"user-eth", "user-ed"} {
		var r readJSON
		c.okJSON(&r, g("credentials", "--key", w, "--decrypt")...)
		cs := r.unverified(t).Credentials
		if len(cs) != 1 || cs[0].ID != credID || cs[0].Plaintext == nil || *cs[0].Plaintext != secret {
			t.Fatalf("%s credentials: %+v", w, cs)
		}
		if cs[0].Content == "" || strings.Contains(cs[0].Content, "Alice") {
			t.Fatalf("stored content is not ciphertext: %q", cs[0].Content)
		}
	}
	var wr readJSON
	c.okJSON(&wr, g("wallets", "--key", "user-ed")...)
	if ws := wr.unverified(t).Wallets; len(ws) != 2 {
		t.Fatalf("wallets: %+v", ws)
	}

	// Share with the consumer, locked a few seconds ahead.
	lock := time.Now().Add(10 * time.Second).Unix() // room for the refused attempts below on a slow machine
	var shared userclient.Shared
	c.okJSON(&shared, g("credential", "share", "--key", "user-ed", "--id", credID, "--grantee", keys["consumer"].AccountID,
		"--grantee-key", keys["consumer"].EncryptionPublicKey, "--locked-until", strconv.FormatInt(lock, 10))...)
	var ownR readJSON
	c.okJSON(&ownR, g("credentials", "--key", "user-eth", "--decrypt")...)
	own := ownR.unverified(t).Credentials
	if len(own) != 2 || own[0].Plaintext == nil == (own[1].Plaintext == nil) {
		t.Fatalf("owner's list after sharing: the original decrypted, the copy not: %+v", own)
	}
	var cp readJSON
	c.okJSON(&cp, g("credential", "get", "--key", "consumer", "--id", shared.CopyID, "--decrypt")...)
	if cr := cp.unverified(t).Credential; cr.OriginalID != credID || cr.Plaintext == nil || *cr.Plaintext != secret {
		t.Fatalf("consumer copy: %+v", cr)
	}
	var rr readJSON
	c.okJSON(&rr, g("grants", "received", "--key", "consumer")...)
	received := rr.unverified(t).Grants
	if len(received) != 1 || received[0].ID != shared.GrantID || received[0].LockedUntil != lock {
		t.Fatalf("grants received: %+v", received)
	}
	c.fails(exitFailure, "forbidden", g("credential", "get", "--key", "stranger", "--id", shared.CopyID)...)
	c.fails(exitFailure, "not a wallet of any user", g("credentials", "--key", "stranger")...)
	// The refusal says until when, as a date (RFC 3339), not Unix seconds.
	c.fails(exitFailure, "locked until "+regexp.QuoteMeta(time.Unix(lock, 0).UTC().Format(time.RFC3339)),
		g("grant", "revoke", "--key", "user-eth", "--id", shared.GrantID)...)
	c.fails(exitFailure, "locked", g("credential", "remove", "--key", "user-eth", "--id", credID)...)

	// Once block time passes the lock, revoking works and the copy goes.
	waitStatus(ctx, t, gw, func(st *wire.StatusResponse) bool { return st.LatestBlockTime.Unix() >= lock })
	c.ok(g("grant", "revoke", "--key", "user-eth", "--id", shared.GrantID)...)
	c.fails(exitFailure, "query_failed", g("credential", "get", "--key", "consumer", "--id", shared.CopyID)...)

	// Removal: gone on every node once each has the block.
	var removed struct {
		Tx userclient.Receipt `json:"tx"`
	}
	c.okJSON(&removed, g("credential", "remove", "--key", "user-ed", "--id", credID)...)
	for _, n := range m.Nodes {
		waitStatus(ctx, t, n.GatewayURL(), func(st *wire.StatusResponse) bool { return st.LatestBlockHeight >= removed.Tx.Height })
		var r readJSON
		c.okJSON(&r, "credentials", "--key", "user-eth", "--gateway", n.GatewayURL())
		if cs := r.unverified(t).Credentials; len(cs) != 0 {
			t.Fatalf("%s still has credentials: %+v", n.Name, cs)
		}
	}
	t.Logf("user story done after %s", time.Since(start).Round(time.Millisecond))
}

// readJSON is a read command's --json: its verification status and its
// answer.
type readJSON struct {
	Verified    bool                `json:"verified"`
	Reason      string              `json:"not_verified_because"`
	Height      int64               `json:"height"`
	Complete    bool                `json:"complete"`
	UserID      string              `json:"user_id"`
	Credentials []credentialOut     `json:"credentials"`
	Credential  credentialOut       `json:"credential"`
	Wallets     []idosschema.Wallet `json:"wallets"`
	Grants      []idosschema.Grant  `json:"grants"`
}

// unverified checks that the read says it was not verified, and why.
func (r *readJSON) unverified(t *testing.T) *readJSON {
	t.Helper()
	if r.Verified || r.Reason == "" {
		t.Fatalf("read without a light client: verified %v, reason %q", r.Verified, r.Reason)
	}
	return r
}

// proven checks that the read says it was verified.
func (r *readJSON) proven(t *testing.T) *readJSON {
	t.Helper()
	if !r.Verified || r.Reason != "" || r.Height < 1 {
		t.Fatalf("verified read: verified %v, reason %q, height %d", r.Verified, r.Reason, r.Height)
	}
	return r
}

func appStateWithInserter(t *testing.T, account string) json.RawMessage {
	g := composition.DefaultGenesis()
	g.IDOS.Inserters = []string{account}
	b, err := g.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDevnetSeedDemo: `idosnode devnet --seed-demo` stores the demo story,
// and what it prints is enough to read it with idoslight: both of alice's
// wallets decrypt her credentials, the consumer decrypts its copy. Seeding
// again finds the network seeded and changes nothing.
func TestDevnetSeedDemo(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(testnet.TempDir(t), "devnet")
	d := testnet.StartDevnet(t, bin, dir, "--validators", "1", "--base-port", strconv.Itoa(testnet.DevnetPorts(t, 1)), "--seed-demo")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for !strings.Contains(d.Output(), "Demo data") {
		select {
		case <-ctx.Done():
			t.Fatalf("no demo summary: %v", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	m, err := d.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kd := filepath.Join(dir, devnet.DemoKeysDir)
	if !strings.Contains(d.Output(), "IDOSLIGHT_KEYSTORE="+kd) || !strings.Contains(d.Output(), "INSECURE") {
		t.Fatalf("summary does not name the keys or their status:\n%s", d.Output())
	}
	c := newCLI(t, kd, filepath.Join(kd, devnet.DemoPassphraseFile))
	gw := []string{"--gateway", m.Nodes[0].GatewayURL()}
	for _, k := range []string{devnet.DemoAliceEth, devnet.DemoAliceEd} {
		var r readJSON
		c.okJSON(&r, append([]string{"credentials", "--key", k, "--decrypt"}, gw...)...)
		cs := r.unverified(t).Credentials
		// Two originals, decrypted, and the shared copy (the user's too),
		// which is sealed to the consumer and left encrypted.
		var plain int
		for _, cr := range cs {
			if cr.Plaintext != nil {
				plain++
			}
		}
		if len(cs) != 3 || plain != 2 {
			t.Fatalf("%s: %d credentials, %d decrypted", k, len(cs), plain)
		}
	}
	var gr readJSON
	c.okJSON(&gr, append([]string{"grants", "received", "--key", devnet.DemoConsumer}, gw...)...)
	grants := gr.unverified(t).Grants
	if len(grants) != 1 || !strings.Contains(d.Output(), grants[0].DataID) {
		t.Fatalf("consumer grants %+v not in the summary", grants)
	}
	out := c.ok(append([]string{"credential", "get", "--key", devnet.DemoConsumer, "--id", grants[0].DataID, "--decrypt"}, gw...)...)
	if !strings.Contains(out, "Alice Example") {
		t.Fatalf("consumer copy:\n%s", out)
	}
	var buf bytes.Buffer
	if err := devnet.SeedDemo(ctx, dir, m, &buf, nil); err != nil || !strings.Contains(buf.String(), "Demo data") {
		t.Fatalf("second seed: %v\n%s", err, buf.String())
	}
	var again readJSON
	c.okJSON(&again, append([]string{"credentials", "--key", devnet.DemoAliceEth}, gw...)...)
	if cs := again.unverified(t).Credentials; len(cs) != 3 {
		t.Fatalf("after a second seed: %d credentials", len(cs))
	}
}
