package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/mr-tron/base58"
	//lint:ignore SA1019 RIPEMD-160 is what XRPL addresses are made of.
	"golang.org/x/crypto/ripemd160"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/wire"
)

// The test plays each wallet the way the ecosystem's wallets sign, written
// here from the schemes' specifications (docs/spec/schemes.md), not with
// the client's code: it reads what idoslight shows, signs it with a real
// key and gives the signature back.

// nearWallet signs NEP-413: the borsh payload {message, nonce, recipient,
// callbackUrl: None} with the 2^31+413 tag, SHA-256, Ed25519. Its answer
// names pub as the key (a wallet signing with another key than it says
// makes a well-formed wrong signature).
func nearWallet(priv ed25519.PrivateKey, pub ed25519.PublicKey) func(p map[string]string) string {
	return func(p map[string]string) string {
		nonce, err := base64.StdEncoding.DecodeString(p["nonce"])
		if err != nil || len(nonce) != 32 {
			panic(fmt.Sprintf("nep413 nonce %q", p["nonce"]))
		}
		str := func(b []byte, s string) []byte {
			return append(binary.LittleEndian.AppendUint32(b, uint32(len(s))), s...)
		}
		b := binary.LittleEndian.AppendUint32(nil, 1<<31+413)
		b = str(b, p["message"])
		b = append(b, nonce...)
		b = str(b, p["recipient"])
		b = append(b, 0)
		h := sha256.Sum256(b)
		// NEAR wallets answer {accountId, publicKey, signature (base64)}.
		out, _ := json.Marshal(map[string]string{"accountId": hex.EncodeToString(pub), "publicKey": "ed25519:" + base58.Encode(pub),
			"signature": base64.StdEncoding.EncodeToString(ed25519.Sign(priv, h[:]))})
		return string(out)
	}
}

// solanaWallet signs the message's bytes with Ed25519 (signMessage) and
// answers base58, as Solana tools print signatures.
func solanaWallet(priv ed25519.PrivateKey) func(p map[string]string) string {
	return func(p map[string]string) string { return base58.Encode(ed25519.Sign(priv, []byte(p["message"]))) }
}

// xrplWallet is ripple-keypairs' sign(messageHex, privateKey) for a
// secp256k1 key: ECDSA over SHA-512Half(message), low S, DER, upper hex.
func xrplWallet(k *ecdsa.PrivateKey) func(p map[string]string) string {
	return func(p map[string]string) string {
		msg, err := hex.DecodeString(p["message_hex"])
		if err != nil {
			panic(err)
		}
		h := sha512.Sum512(msg)
		sig, err := crypto.Sign(h[:32], k) // r‖s‖v, low S
		if err != nil {
			panic(err)
		}
		der := func(x []byte) []byte {
			v := new(big.Int).SetBytes(x).Bytes()
			if v[0]&0x80 != 0 {
				v = append([]byte{0}, v...)
			}
			return append([]byte{0x02, byte(len(v))}, v...)
		}
		body := append(der(sig[:32]), der(sig[32:64])...)
		return strings.ToUpper(hex.EncodeToString(append([]byte{0x30, byte(len(body))}, body...)))
	}
}

// xrplAddress is the classic address of a 33-byte key.
func xrplAddress(pub []byte) string {
	s := sha256.Sum256(pub)
	r := ripemd160.New()
	r.Write(s[:])
	b := append([]byte{0}, r.Sum(nil)...)
	c1 := sha256.Sum256(b)
	c2 := sha256.Sum256(c1[:])
	return base58.FastBase58EncodingAlphabet(append(b, c2[:4]...),
		base58.NewAlphabet("rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"))
}

var paramRe = regexp.MustCompile(`^([a-z_]+): (.*)$`)

// requestParser reads the requests idoslight prints on stderr, line by
// line: "name: value" lines, and multi-line values between BEGIN and END
// lines; a request ends with its "answer:" line.
type requestParser struct {
	p     map[string]string
	block string
	lines []string
}

// feed takes one line and returns the request it completes, if it does.
func (r *requestParser) feed(l string) map[string]string {
	l = strings.TrimPrefix(l, "signature> ")
	if r.p == nil {
		r.p = map[string]string{}
	}
	switch {
	case r.block != "" && l == "-----END "+strings.ToUpper(r.block)+"-----":
		r.p[r.block], r.block, r.lines = strings.Join(r.lines, "\n"), "", nil
	case r.block != "":
		r.lines = append(r.lines, l)
	case strings.HasPrefix(l, "-----BEGIN "):
		r.block = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(l, "-----BEGIN "), "-----"))
	case strings.HasPrefix(l, "answer: "):
		p := r.p
		r.p = nil
		return p
	default:
		if m := paramRe.FindStringSubmatch(l); m != nil {
			r.p[m[1]] = m[2]
		}
	}
	return nil
}

// runWallet runs idoslight as an external wallet's CLI: mode "stdin"
// answers each request printed on stderr with a line on stdin, mode "file"
// reads each request from --wallet-request and writes --wallet-signature-file. It
// returns stdout, stderr, the exit code and the number of signatures.
func runWallet(t *testing.T, c *lightCLI, mode string, sign func(map[string]string) string, args ...string) (string, string, int, int) {
	t.Helper()
	dir := t.TempDir()
	reqFile, sigFile := filepath.Join(dir, "request.json"), filepath.Join(dir, "signature")
	if mode == "file" {
		args = append(args, "--wallet-request", reqFile, "--wallet-signature-file", sigFile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	var signed atomic.Int32 // by the stdin or the file wallet
	done := make(chan struct{})
	go func() { // the stdin wallet
		defer close(done)
		sc := bufio.NewScanner(stderr)
		var rp requestParser
		for sc.Scan() {
			errOut.WriteString(sc.Text() + "\n")
			if p := rp.feed(sc.Text()); p != nil && mode == "stdin" {
				signed.Add(1)
				io.WriteString(stdin, sign(p)+"\n")
			}
		}
	}()
	if mode == "file" {
		go func() { // the file wallet
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
				b, err := os.ReadFile(reqFile)
				if err != nil {
					continue
				}
				os.Remove(reqFile)
				var req struct {
					Params []struct{ Name, Value string } `json:"params"`
				}
				if err := json.Unmarshal(b, &req); err != nil {
					panic(err)
				}
				p := map[string]string{}
				for _, x := range req.Params {
					p[x.Name] = x.Value
				}
				signed.Add(1)
				tmp := sigFile + ".tmp"
				if err := os.WriteFile(tmp, []byte(sign(p)), 0o600); err != nil {
					panic(err)
				}
				if err := os.Rename(tmp, sigFile); err != nil {
					panic(err)
				}
			}
		}()
	}
	<-done
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0, int(signed.Load())
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode(), int(signed.Load())
	}
	t.Fatalf("idoslight %v: %v", args, err)
	return "", "", -1, 0
}

func pluginModule(t *testing.T, name string) plugins.GenesisPlugin {
	b, err := os.ReadFile(filepath.Join("..", "..", "sigplugins", name, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return plugins.GenesisPlugin{Module: b, SHA256: hex.EncodeToString(sum[:])}
}

// TestExternalWallets: NEAR (nep413), Solana and XRPL (secp256k1) wallets,
// which idoslight holds no key of, create users (transactions) and read
// (signed challenges) through `--wallet-scheme`, on a devnet whose genesis
// activates the three plugins and makes the three accounts inserters. For
// each: a malformed answer is refused before anything is sent, a
// well-formed signature by another key is refused by the node with
// CodeUnauthorized, the wallet's real signature is accepted.
func TestExternalWallets(t *testing.T) {
	bin := testnet.Binary(t)
	tmp := t.TempDir()
	pass := writeFile(t, filepath.Join(tmp, "pass"), "pw\n")
	c := newCLI(t, filepath.Join(tmp, "keys"), pass)

	edKey := func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	near, nearOther, sol, solOther := edKey(), edKey(), edKey(), edKey()
	xrp, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	xrpOther, _ := crypto.GenerateKey()
	xrpPub := crypto.CompressPubkey(&xrp.PublicKey)
	pubOf := func(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }

	wallets := []struct {
		scheme, signer, account, mode string
		sign, wrong                   func(map[string]string) string
		malformed                     string
	}{
		{"nep413", "ed25519:" + base58.Encode(pubOf(near)), "nep413:" + hex.EncodeToString(pubOf(near)), "stdin",
			nearWallet(near, pubOf(near)), nearWallet(nearOther, pubOf(near)), base64.StdEncoding.EncodeToString(make([]byte, 40))},
		{"solana", base58.Encode(pubOf(sol)), "solana:" + base58.Encode(pubOf(sol)), "file",
			solanaWallet(sol), solanaWallet(solOther), base58.Encode(make([]byte, 63))},
		{"xrpl", hex.EncodeToString(xrpPub), "xrpl:" + xrplAddress(xrpPub), "stdin",
			xrplWallet(xrp), xrplWallet(xrpOther), hex.EncodeToString(make([]byte, 64))},
	}

	g := composition.DefaultGenesis()
	g.Plugins.Genesis = append(devnet.BundledPlugins(), pluginModule(t, "nep413"), pluginModule(t, "xrpl"))
	for _, w := range wallets {
		g.IDOS.Inserters = append(g.IDOS.Inserters, w.account)
	}
	state, err := g.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(testnet.TempDir(t), "devnet")
	if _, err := devnet.Create(devnet.Config{Dir: dir, Validators: 1, BasePort: testnet.DevnetPorts(t, 1), ChainID: "idos-wallets",
		AppState: state}); err != nil {
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
	waitStatus(ctx, t, gw, func(st *wire.StatusResponse) bool { return st.LatestBlockHeight >= 2 })

	refused := regexp.MustCompile(fmt.Sprintf(`refused \(code %d\)`, wire.CodeUnauthorized))
	for i, w := range wallets {
		t.Run(w.scheme, func(t *testing.T) {
			user := fmt.Sprint("user", i)
			c.ok("key", "new", "--type", "eip191", "--name", user, "--light-kdf")
			proof := filepath.Join(tmp, user+".json")
			c.ok("wallet", "proof", "--key", user, "--out", proof)
			as := []string{"--wallet-scheme", w.scheme, "--wallet-signer", w.signer, "--gateway", gw}
			add := append([]string{"user", "add", "--proof", proof, "--json"}, as...)

			// Malformed: refused here, before sending.
			_, errOut, code := c.run(append(add, "--wallet-signature", w.malformed)...)
			if code != exitFailure || !strings.Contains(errOut, "malformed signature") {
				t.Fatalf("malformed signature: exit %d\n%s", code, errOut)
			}
			// Another key's signature: the node refuses it, code 4.
			_, errOut, code, n := runWallet(t, c, w.mode, w.wrong, add...)
			if code != exitFailure || n != 1 || !refused.MatchString(errOut) {
				t.Fatalf("wrong key: exit %d, %d signatures\n%s", code, n, errOut)
			}
			// The wallet's own signature creates the user. For Solana in two
			// runs, as a wallet that cannot be prompted is used: the first,
			// without an answer (stdin closed), shows the text; the second
			// gives its signature as an argument.
			if w.scheme == "solana" {
				_, errOut, code := c.run(add...)
				var rp requestParser
				var req map[string]string
				for _, l := range strings.Split(errOut, "\n") {
					if p := rp.feed(l); p != nil {
						req = p
					}
				}
				if code != exitFailure || req == nil || !strings.Contains(errOut, "no signature") {
					t.Fatalf("user add without an answer: exit %d\n%s", code, errOut)
				}
				c.ok(append(add, "--wallet-signature", w.sign(req))...)
			} else {
				out, errOut, code, n := runWallet(t, c, w.mode, w.sign, add...)
				if code != 0 || n != 1 {
					t.Fatalf("user add: exit %d, %d signatures\n%s%s", code, n, out, errOut)
				}
			}
			var u idosschema.User
			c.okJSON(&u, "me", "--key", user, "--gateway", gw)
			if u.Inserter != w.account {
				t.Fatalf("user's inserter %q, want %s", u.Inserter, w.account)
			}
			// A signed-challenge read as the wallet; another key's
			// signature is refused by the gateway.
			out, errOut, code, n := runWallet(t, c, w.mode, w.sign, append([]string{"grants", "received", "--json"}, as...)...)
			var r readJSON
			if code != 0 || n != 1 || json.Unmarshal([]byte(out), &r) != nil || len(r.unverified(t).Grants) != 0 {
				t.Fatalf("grants received: exit %d, %d signatures\n%s%s", code, n, out, errOut)
			}
			_, errOut, code, _ = runWallet(t, c, w.mode, w.wrong, append([]string{"grants", "received"}, as...)...)
			if code != exitFailure || !strings.Contains(errOut, " 401 "+wire.ErrBadSignature+":") {
				t.Fatalf("read with another key's signature: exit %d\n%s", code, errOut)
			}
		})
	}
}
