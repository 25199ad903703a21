package userclient_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/devnet"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/runner"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
)

// Benchmarks of the user's path through the gateway on one in-process
// validator (timeout_commit 500 ms, as node/bench). Client and node share
// the machine. Run:
//
//	go test ./node/userclient -run '^$' -bench . -benchtime 1x   (writes)
//	go test ./node/userclient -run '^$' -bench GetCredentials -benchtime 2000x

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// benchNode starts a validator whose genesis makes inserter an inserter,
// and returns its gateway URL once the application has committed a block
// (the block store holds height 1 before the application commits it).
func benchNode(b *testing.B, inserter string) string {
	dir := testnet.TempDir(b)
	if err := home.Init(dir, home.Options{ChainID: "idos-bench", P2PListenAddr: freeAddr(b), RPCListenAddr: freeAddr(b),
		GatewayListenAddr: freeAddr(b), TimeoutCommit: 500 * time.Millisecond}); err != nil {
		b.Fatal(err)
	}
	g := composition.DefaultGenesis()
	g.IDOS.Inserters = []string{inserter}
	state, _ := g.Canonical()
	if _, err := home.WriteSharedGenesis([]string{dir}, home.GenesisOptions{ChainID: "idos-bench", AppState: state}); err != nil {
		b.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	r, err := runner.Start(context.Background(), h, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Stop() })
	url := r.GatewayURL()
	for {
		if st, err := userclient.Status(context.Background(), url); err == nil && st.LatestBlockHeight >= 2 {
			return url
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type benchSetup struct {
	url      string
	inserter *userclient.Client
	user     *userclient.Client
	userID   string
}

// devnetNode creates a 4-validator devnet whose genesis makes inserter an
// inserter, runs it as `idosnode devnet` (four processes), and returns
// node0's gateway URL once a block is committed.
func devnetNode(b *testing.B, inserter string) string {
	g := composition.DefaultGenesis()
	g.IDOS.Inserters = []string{inserter}
	state, _ := g.Canonical()
	dir := filepath.Join(testnet.TempDir(b), "devnet")
	m, err := devnet.Create(devnet.Config{Dir: dir, Validators: 4, BasePort: testnet.DevnetPorts(b, 4),
		ChainID: "idos-bench", AppState: state})
	if err != nil {
		b.Fatal(err)
	}
	testnet.StartDevnet(b, testnet.Binary(b), dir)
	url := m.Nodes[0].GatewayURL()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if st, err := userclient.Status(context.Background(), url); err == nil && st.LatestBlockHeight >= 2 {
			return url
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("devnet did not start")
	return ""
}

// networks are the two setups every benchmark runs on.
var networks = []struct {
	name  string
	start func(b *testing.B, inserter string) string
}{
	{"single", benchNode},
	{"devnet4", devnetNode},
}

// newBenchSetup starts a network and creates a user through the inserter.
func newBenchSetup(b *testing.B, start func(*testing.B, string) string) *benchSetup {
	ks := &userclient.Keystore{Dir: b.TempDir(), ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	ins, err := ks.Generate("inserter", auth.SchemeEd25519, "", rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	usr, err := ks.Generate("user", auth.SchemeEIP191, "", rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s := &benchSetup{url: start(b, ins.AccountID())}
	if s.inserter, err = userclient.Dial(ctx, s.url, ins, "", nil); err != nil {
		b.Fatal(err)
	}
	if s.user, err = userclient.Dial(ctx, s.url, usr, "", nil); err != nil {
		b.Fatal(err)
	}
	p, err := userclient.WalletProof(usr, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.inserter.AddUser(ctx, p); err != nil {
		b.Fatal(err)
	}
	s.userID = p.UserID
	return s
}

// plaintext2K seals to exactly 2048 base64 characters of content
// (24-byte nonce + 16-byte tag + 1496 bytes, base64).
var plaintext2K = make([]byte, 1496)

// BenchmarkGetCredentials: latency of an authenticated idos.get_credentials
// (challenge, signature, private query: two HTTP round trips) for a user
// holding 5 credentials of 2 KB ciphertext, one client, sequential.
func BenchmarkGetCredentials(b *testing.B) {
	for _, n := range networks {
		b.Run(n.name, func(b *testing.B) { benchGetCredentials(b, n.start) })
	}
}

func benchGetCredentials(b *testing.B, start func(*testing.B, string) string) {
	s := newBenchSetup(b, start)
	ctx := context.Background()
	for range 5 {
		if _, _, err := s.inserter.AddCredential(ctx, userclient.NewCredential{UserID: s.userID, To: s.user.Key.Encryption.Public,
			Plaintext: plaintext2K}); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		cs, err := s.user.Credentials(ctx)
		lat = append(lat, time.Since(t0))
		if err != nil || len(cs) != 5 {
			b.Fatalf("get_credentials: %d, %v", len(cs), err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkAddCredential2K: committed idos.add_credential transactions per
// second, 2 KB ciphertext each: 4,000 transactions per iteration from the
// inserter and 3 delegates (1,000 nonces each), pre-signed, submitted in
// sync mode through the gateway by one goroutine per sender; the clock
// stops when every sender's committed nonce is through.
func BenchmarkAddCredential2K(b *testing.B) {
	for _, n := range networks {
		b.Run(n.name, func(b *testing.B) { benchAddCredential2K(b, n.start) })
	}
}

func benchAddCredential2K(b *testing.B, start func(*testing.B, string) string) {
	s := newBenchSetup(b, start)
	ctx := context.Background()
	const delegates, perSender = 3, 1000
	senders := []*userclient.Client{s.inserter}
	ks := &userclient.Keystore{Dir: b.TempDir(), ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	for i := range delegates {
		k, err := ks.Generate(fmt.Sprint("d", i), auth.SchemeEd25519, "", rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.inserter.Send(ctx, "idos.add_delegate", wire.DelegatePayload{Delegate: k.AccountID()}); err != nil {
			b.Fatal(err)
		}
		c, err := userclient.Dial(ctx, s.url, k, s.inserter.ChainID, nil)
		if err != nil {
			b.Fatal(err)
		}
		senders = append(senders, c)
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		txs := make([][][]byte, len(senders))
		final := make([]uint64, len(senders))
		for i, c := range senders {
			n, err := c.Nonce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			acc := client.NewAccount(c.Key.Signer, c.ChainID)
			acc.Nonce = n
			for range perSender {
				content, err := c.Key.Encryption.Seal(plaintext2K, s.user.Key.Encryption.Public)
				if err != nil {
					b.Fatal(err)
				}
				raw, err := acc.Build("idos.add_credential", wire.AddCredentialPayload{CredentialID: userclient.NewID(), UserID: s.userID,
					IssuerAuthPublicKey: c.Key.AccountID(), EncryptorPublicKey: c.Key.Encryption.PublicBase64(), Content: content})
				if err != nil {
					b.Fatal(err)
				}
				txs[i] = append(txs[i], raw)
			}
			final[i] = acc.Nonce
		}
		b.StartTimer()
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, len(senders))
		for i, c := range senders {
			wg.Go(func() {
				for _, raw := range txs[i] {
					if _, err := c.GW.Submit(ctx, raw, wire.ModeSync); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		submitted := time.Since(t0)
		for i, c := range senders {
			for {
				n, err := c.Nonce(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n >= final[i] {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		committed := time.Since(t0)
		total := len(senders) * perSender
		b.ReportMetric(float64(total)/committed.Seconds(), "tx/s")
		b.ReportMetric(submitted.Seconds(), "s-submit")
		fmt.Printf("add_credential 2 KB: %d txs, submitted in %v, committed in %v: %.0f tx/s\n",
			total, submitted.Round(time.Millisecond), committed.Round(time.Millisecond), float64(total)/committed.Seconds())
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	testnet.Cleanup()
	os.Exit(code)
}
