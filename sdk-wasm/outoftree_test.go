//go:build !wasip1

package sdk_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/sdk-wasm/vectors"
)

// block returns the lines of the first fenced block of kind (go, sh) after
// the line after.
func block(t *testing.T, doc, after, kind string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, after)
	if !ok {
		t.Fatalf("README: no %q", after)
	}
	_, rest, ok = strings.Cut(rest, "```"+kind+"\n")
	if !ok {
		t.Fatalf("README: no ```%s block after %q", kind, after)
	}
	body, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatalf("README: unterminated ```%s block after %q", kind, after)
	}
	return body
}

// TestOutOfTreePlugin follows sdk-wasm/README.md as an author outside this
// repository: the plugin of "1. Write" in a module of its own that requires
// this one (replaced by this checkout), built to wasip1 by idos-wasm-build,
// then `idosnode plugin test` on vectors made here with crypto/ed25519. The
// README's shell block runs as written, but for the path of the checkout.
func TestOutOfTreePlugin(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	code := block(t, doc, "## 1. Write", "go")
	script := block(t, doc, "### Outside this repository", "sh")
	if !strings.Contains(script, "=../idos-node") {
		t.Fatalf("the README's block no longer replaces the module by ../idos-node:\n%s", script)
	}
	script = strings.ReplaceAll(script, "=../idos-node", "="+root)

	tmp := t.TempDir()
	dir := filepath.Join(tmp, "myscheme")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The README's plugin: an Ed25519 key whose identifier is its hex.
	pub, priv, err := ed25519.GenerateKey(strings.NewReader(strings.Repeat("out of tree plugin seed ", 2)))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("idOS sign bytes stand-in")
	sig := ed25519.Sign(priv, msg)
	bad := append([]byte(nil), sig...)
	bad[10] ^= 1
	vf := vectors.File{Scheme: "myscheme", Source: "crypto/ed25519, made by TestOutOfTreePlugin", Vectors: []vectors.Vector{
		{Name: "valid", Signer: hex.EncodeToString(pub), Message: hex.EncodeToString(msg), Signature: hex.EncodeToString(sig),
			Expect: vectors.Valid, Identifier: hex.EncodeToString(pub)},
		{Name: "flipped bit", Signer: hex.EncodeToString(pub), Message: hex.EncodeToString(msg), Signature: hex.EncodeToString(bad),
			Expect: vectors.InvalidSignature},
		{Name: "31-byte key", Signer: hex.EncodeToString(pub[:31]), Message: hex.EncodeToString(msg), Signature: hex.EncodeToString(sig),
			Expect: vectors.InvalidSigner},
	}}
	vj, err := json.Marshal(vf)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"main.go": []byte(code), "vectors.json": vj} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	bin := testnet.Binary(t) // idosnode, as the reader has it on PATH
	cmd := exec.Command("bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", script)
	cmd.Dir = tmp
	// The author's module is not this one: no go.work, no GOFLAGS of the
	// test run.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's block failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "3 of 3 vectors passed") {
		t.Fatalf("plugin test did not pass the vectors:\n%s", out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(gomod), "module example.com/myscheme") ||
		!strings.Contains(string(gomod), "github.com/idos-network/idos-node => "+root) {
		t.Fatalf("the plugin's own go.mod: %v\n%s", err, gomod)
	}
}
