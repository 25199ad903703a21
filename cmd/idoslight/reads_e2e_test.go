package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
)

// verifyFixture is a real node with an issuer, a user with two
// credentials, and, if asked, the first shared with a consumer (who has no
// user) and a light client home initialised from the node's real header 1.
type verifyFixture struct {
	n                     *lightNode
	gw, home, ksDir, pass string
	issuer, user          *userclient.Client
	userKey, consumerKey  *userclient.Key
	userID                string
	secrets, credIDs      []string
	shared                *userclient.Shared
}

func newVerifyFixture(t *testing.T, shareAndInit bool) *verifyFixture {
	t.Helper()
	tmp := t.TempDir()
	f := &verifyFixture{pass: writeFile(t, filepath.Join(tmp, "pass"), "correct horse\n"), ksDir: filepath.Join(tmp, "keys"),
		home: filepath.Join(tmp, "light")}
	ks := &userclient.Keystore{Dir: f.ksDir, ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	newKey := func(name string) *userclient.Key {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		key, err := ks.ImportECDSA(name, k, "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	issuerKey := newKey("issuer")
	f.userKey, f.consumerKey = newKey("user-eth"), newKey("consumer")
	f.n = startLightNode(t, issuerKey.AccountID())
	f.n.waitHeight(t, 2)
	f.gw = f.n.r.GatewayURL()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if f.issuer, err = userclient.Dial(ctx, f.gw, issuerKey, "", nil); err != nil {
		t.Fatal(err)
	}
	if f.user, err = userclient.Dial(ctx, f.gw, f.userKey, "", nil); err != nil {
		t.Fatal(err)
	}
	proof, err := userclient.WalletProof(f.userKey, "")
	if err != nil {
		t.Fatal(err)
	}
	f.userID = proof.UserID
	if _, err := f.issuer.AddUser(ctx, proof); err != nil {
		t.Fatal(err)
	}
	f.secrets = []string{`{"name":"Alice"}`, `{"document":"X1234567"}`}
	for _, s := range f.secrets {
		id, _, err := f.issuer.AddCredential(ctx, userclient.NewCredential{UserID: proof.UserID, To: f.userKey.Encryption.Public, Plaintext: []byte(s)})
		if err != nil {
			t.Fatal(err)
		}
		f.credIDs = append(f.credIDs, id)
	}
	if !shareAndInit {
		return f
	}
	if f.shared, err = f.user.ShareCredential(ctx, userclient.Share{CredentialID: f.credIDs[0], Grantee: f.consumerKey.AccountID(),
		GranteeKey: f.consumerKey.Encryption.Public}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	commit, err := f.n.r.Client().Commit(ctx, &one)
	if err != nil {
		t.Fatal(err)
	}
	lightRun{t}.ok("init", "--home", f.home, "--chain-id", f.n.chainID, "--primary", f.n.rpc, "--witness", f.n.rpc,
		"--trust-height", "1", "--trust-hash", hex.EncodeToString(commit.SignedHeader.Hash()), "--gateway", f.gw)
	return f
}

// as returns the arguments that act as key name with the light home.
func (f *verifyFixture) as(name string, args ...string) []string {
	return append(args, "--key", name, "--keystore", f.ksDir, "--password-file", f.pass, "--home", f.home)
}

// forgeCopy makes the lying gateway answer idos.get_credential with content
// it sealed itself to to, in the JSON answer and in the proof's row.
func forgeCopy(t *testing.T, data []byte, to [32]byte) []byte {
	attacker, err := client.NewEncryptionKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := attacker.Seal([]byte(`{"name":"Mallory"}`), to)
	if err != nil {
		t.Fatal(err)
	}
	var q wire.QueryResponse
	if err := json.Unmarshal(data, &q); err != nil {
		t.Fatal(err)
	}
	var cr idosschema.Credential
	if err := json.Unmarshal(q.Value, &cr); err != nil {
		t.Fatal(err)
	}
	cr.Content, cr.EncryptorPublicKey = forged, attacker.PublicBase64()
	if q.Value, err = json.Marshal(cr); err != nil {
		t.Fatal(err)
	}
	if q.Proof != nil && len(q.Proof.Rows) == 1 {
		vals, err := commitment.DecodeRow(q.Proof.Rows[0].Row)
		if err != nil {
			t.Fatal(err)
		}
		vals[idosschema.Credentials.Index("content")] = forged
		vals[idosschema.Credentials.Index("encryptor_public_key")] = attacker.PublicBase64()
		if q.Proof.Rows[0].Row, err = commitment.EncodeRow(vals); err != nil {
			t.Fatal(err)
		}
	}
	out, err := json.Marshal(&q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dropFirstRow removes the first row of a list answer and of its proof.
func dropFirstRow(t *testing.T, data []byte) []byte {
	var q wire.QueryResponse
	if err := json.Unmarshal(data, &q); err != nil {
		t.Fatal(err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(q.Value, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) > 0 {
		q.Value, _ = json.Marshal(list[1:])
	}
	if q.Proof != nil && len(q.Proof.Rows) > 0 {
		q.Proof.Rows = q.Proof.Rows[1:]
	}
	out, err := json.Marshal(&q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVerifiedReads: every read command verifies by default once init has
// run (me, wallets, grants owned and received, credential get by its owner
// and by a grantee), says loudly when it did not, refuses a --home that is
// not configured, and refuses a gateway's lies: a grant dropped from the
// grants received, a wallet dropped, and a shared copy the gateway sealed
// itself to the grantee's key.
func TestVerifiedReads(t *testing.T) {
	f := newVerifyFixture(t, true)
	c := lightRun{t}

	var me readJSON
	var user struct {
		idosschema.User
		Verified bool `json:"verified"`
	}
	c.okJSON(&user, f.as("user-eth", "me", "--json")...)
	if !user.Verified || user.ID != f.userID || user.EncryptionPublicKey != f.userKey.Encryption.PublicBase64() {
		t.Fatalf("me: %+v", user)
	}
	c.okJSON(&me, f.as("user-eth", "wallets", "--json")...)
	if ws := me.proven(t).Wallets; len(ws) != 1 || ws[0].Address != f.userKey.Identifier {
		t.Fatalf("wallets: %+v", ws)
	}
	var owned readJSON
	c.okJSON(&owned, f.as("user-eth", "grants", "owned", "--json")...)
	if gs := owned.proven(t).Grants; len(gs) != 1 || gs[0].ID != f.shared.GrantID {
		t.Fatalf("grants owned: %+v", gs)
	}
	var received readJSON
	c.okJSON(&received, f.as("consumer", "grants", "received", "--json")...)
	if gs := received.proven(t).Grants; len(gs) != 1 || gs[0].ID != f.shared.GrantID || gs[0].DataID != f.shared.CopyID {
		t.Fatalf("grants received: %+v", gs)
	}
	var mine readJSON
	c.okJSON(&mine, f.as("user-eth", "credential", "get", "--id", f.credIDs[1], "--decrypt", "--json")...)
	if cr := mine.proven(t).Credential; cr.Plaintext == nil || *cr.Plaintext != f.secrets[1] {
		t.Fatalf("owner's credential get: %+v", cr)
	}
	var copyRead readJSON
	c.okJSON(&copyRead, f.as("consumer", "credential", "get", "--id", f.shared.CopyID, "--decrypt", "--json")...)
	if cr := copyRead.proven(t).Credential; cr.Plaintext == nil || *cr.Plaintext != f.secrets[0] || cr.OriginalID != f.credIDs[0] {
		t.Fatalf("grantee's credential get: %+v", cr)
	}
	out := c.ok(f.as("consumer", "credential", "get", "--id", f.shared.CopyID)...)
	if !strings.Contains(out, "verified at height") || !strings.Contains(out, "shared with you by grant "+f.shared.GrantID) {
		t.Fatalf("grantee's credential get:\n%s", out)
	}
	c.fails(exitFailure, `403 forbidden`, f.as("consumer", "credential", "get", "--id", f.credIDs[1])...)

	// Unverified: said on stderr and in --json; a --home without light.json
	// is an error, not a quiet fallback.
	stdout, stderr, code := c.run(f.as("user-eth", "me", "--no-verify", "--json")...)
	if code != 0 || !strings.Contains(stderr, "NOT VERIFIED") || !strings.Contains(stdout, `"verified": false`) {
		t.Fatalf("me --no-verify: exit %d\n%s%s", code, stdout, stderr)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	for _, cmd := range [][]string{{"me"}, {"wallets"}, {"grants", "received"}, {"credentials"}, {"credential", "get", "--id", f.shared.CopyID}} {
		args := append(cmd, "--key", "consumer", "--keystore", f.ksDir, "--password-file", f.pass, "--home", missing, "--gateway", f.gw)
		c.fails(exitFailure, "no light client configuration.*"+regexpQuote(missing), args...)
	}

	// A home initialised without --gateway: sync needs none; reads take
	// IDOSLIGHT_GATEWAY.
	one := int64(1)
	commit, err := f.n.r.Client().Commit(context.Background(), &one)
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "bare")
	c.ok("init", "--home", bare, "--chain-id", f.n.chainID, "--primary", f.n.rpc, "--witness", f.n.rpc,
		"--trust-height", "1", "--trust-hash", hex.EncodeToString(commit.SignedHeader.Hash()))
	c.ok("sync", "--home", bare)
	t.Setenv("IDOSLIGHT_GATEWAY", f.gw)
	var granted readJSON
	c.okJSON(&granted, "grants", "received", "--key", "consumer", "--keystore", f.ksDir, "--password-file", f.pass, "--home", bare, "--json")
	if len(granted.proven(t).Grants) != 1 {
		t.Fatalf("grants received through IDOSLIGHT_GATEWAY: %+v", granted)
	}

	// Lies.
	liar := newLyingGateway(t, f.gw)
	liar.forgeTo = f.consumerKey.Encryption.Public
	lying := func(args ...string) []string { return append(args, "--gateway", liar.srv.URL) }
	liar.set("forge-copy")
	c.fails(exitFailure, `verification failed \(bad proof\)`, lying(f.as("consumer", "credential", "get", "--id", f.shared.CopyID, "--decrypt")...)...)
	// Unverified, the forgery is what the CLI prints (the bug),
	// with the warning.
	stdout, stderr, code = c.run(lying(f.as("consumer", "credential", "get", "--id", f.shared.CopyID, "--decrypt", "--no-verify")...)...)
	if code != 0 || !strings.Contains(stdout, "Mallory") || !strings.Contains(stderr, "NOT VERIFIED") {
		t.Fatalf("unverified forged read: exit %d\n%s%s", code, stdout, stderr)
	}
	// The proxy with --key serves the consumer's reads, proven; the forged
	// copy is refused there too.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	proxyArgs := []string{"--home", f.home, "--key", "consumer", "--keystore", f.ksDir, "--password-file", f.pass}
	runProxy(ctx, t, func(base string) {
		st, v := call(ctx, t, http.MethodPost, base+"/v1/private/idos.get_grants_received", "{}")
		grants, _ := v["answer"].(map[string]any)["grants"].([]any)
		if st != http.StatusOK || v["verified"] != true || len(grants) != 1 {
			t.Fatalf("proxy grants received: %d %v", st, v)
		}
		st, v = call(ctx, t, http.MethodPost, base+"/v1/private/idos.get_credential", fmt.Sprintf(`{"credential_id":%q}`, f.shared.CopyID))
		if cr, _ := v["answer"].(map[string]any)["credential"].(map[string]any); st != http.StatusOK || cr["original_id"] != f.credIDs[0] {
			t.Fatalf("proxy credential: %d %v", st, v)
		}
	}, append(proxyArgs, "--gateway", f.gw)...)
	runProxy(ctx, t, func(base string) {
		st, v := call(ctx, t, http.MethodPost, base+"/v1/private/idos.get_credential", fmt.Sprintf(`{"credential_id":%q}`, f.shared.CopyID))
		if st != http.StatusBadGateway || errCode(v) != "bad_proof" {
			t.Fatalf("proxy of a forged copy: %d %v", st, v)
		}
	}, append(proxyArgs, "--gateway", liar.srv.URL)...)

	liar.set("drop-first-row:/v1/private/idos.get_grants_received")
	c.fails(exitFailure, `verification failed \(bad rows\).*no rows`, lying(f.as("consumer", "grants", "received")...)...)
	// The copy is not among the (lied) grants received: it is not proven
	// shared, and the consumer has no user.
	c.fails(exitFailure, `verification failed`, lying(f.as("consumer", "credential", "get", "--id", f.shared.CopyID)...)...)
	liar.set("drop-first-row:/v1/private/idos.get_grants_owned")
	c.fails(exitFailure, `verification failed \(bad rows\).*no rows`, lying(f.as("user-eth", "grants", "owned")...)...)
	liar.set("drop-first-row:/v1/private/idos.get_wallets")
	c.fails(exitFailure, `verification failed \(wrong answer\)`, lying(f.as("user-eth", "me")...)...)
	c.fails(exitFailure, `verification failed \(wrong answer\)`, lying(f.as("user-eth", "wallets")...)...)
	liar.set("")
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

// TestVerifiedWrites: a write reports success only once its transaction is
// proven in a block this client verified, with a successful result proven
// by the next header; a gateway that drops the transaction, or reports a
// failed one as a success, is refused, naming why.
func TestVerifiedWrites(t *testing.T) {
	f := newVerifyFixture(t, true)
	c := lightRun{t}
	liar := newLyingGateway(t, f.gw)
	lying := func(args ...string) []string { return append(args, "--gateway", liar.srv.URL) }

	// Dropped: the gateway says committed, no verified block has it.
	liar.set("drop-tx")
	c.fails(exitFailure, `verification failed \(transaction not in a verified block\).*in no block within 2s`,
		lying(f.as("user-eth", "credential", "remove", "--id", f.credIDs[1], "--wait", "2s")...)...)
	// The credential is still there, proven.
	var still readJSON
	c.okJSON(&still, f.as("user-eth", "credentials", "--json")...)
	if len(still.Credentials) != 3 {
		t.Fatalf("after a dropped removal: %d credentials", len(still.Credentials))
	}

	// A share re-seals the original it read: a gateway's forged original is
	// refused, not shared.
	liar.forgeTo = f.userKey.Encryption.Public
	liar.set("forge-copy")
	c.fails(exitFailure, `verification failed \(bad proof\)`,
		lying(f.as("user-eth", "credential", "share", "--id", f.credIDs[0], "--grantee", f.consumerKey.AccountID(),
			"--grantee-key", f.consumerKey.Encryption.PublicBase64())...)...)

	// A failed transaction (no such credential) reported as a success.
	liar.set("fake-success")
	c.fails(exitFailure, fmt.Sprintf(`verification failed \(transaction result not the gateway's\).*has code %d, the gateway said 0`, module.CodeNotFound),
		lying(f.as("user-eth", "credential", "remove", "--id", "00000000-0000-4000-8000-000000000000")...)...)
	// A success passed off as a failure.
	liar.set("fake-failure")
	c.fails(exitFailure, `verification failed \(transaction result not the gateway's\).*has code 0, the gateway said 7`,
		lying(f.as("user-eth", "credential", "remove", "--id", f.credIDs[1])...)...)
	liar.set("")

	// Honest: verified, at the proven height.
	plain := writeFile(t, filepath.Join(t.TempDir(), "cred"), "hello")
	var added struct {
		Tx userclient.Receipt `json:"tx"`
	}
	c.okJSON(&added, f.as("issuer", "credential", "add", "--user-id", f.userID, "--file", plain,
		"--to-key", f.userKey.Encryption.PublicBase64(), "--json")...)
	if !added.Tx.Verified || added.Tx.Height < 2 {
		t.Fatalf("receipt: %+v", added.Tx)
	}
	out := c.ok(f.as("user-eth", "grant", "revoke", "--id", f.shared.GrantID)...)
	if !regexp.MustCompile(`revoked grant \S+ \(tx [0-9A-Fa-f]{64}, height \d+, verified\)`).MatchString(out) {
		t.Fatalf("revoke:\n%s", out)
	}
	// Without a light client the receipt says it is the gateway's word.
	stdout, stderr, code := c.run(f.as("issuer", "credential", "add", "--user-id", f.userID, "--file", plain,
		"--to-key", f.userKey.Encryption.PublicBase64(), "--no-verify", "--json")...)
	added.Tx = userclient.Receipt{}
	if code != 0 || json.Unmarshal([]byte(stdout), &added) != nil || added.Tx.Verified || !strings.Contains(stderr, "NOT VERIFIED") {
		t.Fatalf("unverified write: exit %d\n%s%s", code, stdout, stderr)
	}
}
