package devnet

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/userclient"
)

// The demo seed gives a new devnet a user story to look at: an inserter, a
// user "alice" with two wallets (eip191 and ed25519), two credentials, and
// one shared with a consumer. Its keys are DERIVED FROM FIXED, PUBLIC
// STRINGS: anyone can recompute them, so they are for a local devnet only.

// DemoKeysDir is the folder under the devnet directory holding the demo
// keystore and its passphrase file.
const DemoKeysDir = "demo-keys"

// DemoPassphrase encrypts the demo key files; it is written beside them in
// DemoPassphraseFile, since the keys are public anyway.
const (
	DemoPassphrase     = "devnet-demo-insecure"
	DemoPassphraseFile = "password"
)

// Demo key names.
const (
	DemoInserter = "inserter"
	DemoAliceEth = "alice-eth"
	DemoAliceEd  = "alice-ed"
	DemoConsumer = "consumer"
)

var demoSchemes = []struct{ name, scheme string }{
	{DemoInserter, auth.SchemeEIP191},
	{DemoAliceEth, auth.SchemeEIP191},
	{DemoAliceEd, auth.SchemeEd25519},
	{DemoConsumer, auth.SchemeEd25519},
}

// demoSecret is the fixed secret of a demo key.
func demoSecret(name string) []byte {
	s := sha256.Sum256([]byte("idOS devnet demo key (public, insecure): " + name))
	return s[:]
}

func demoECDSA(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(demoSecret(name))
	if err != nil {
		panic(err) // fixed input: a valid scalar, checked by the tests
	}
	return k
}

// DemoInserterAccount is the demo inserter's account id, which the genesis
// of a demo devnet lists in app_state.idos.inserters.
func DemoInserterAccount() string {
	return auth.SchemeEIP191 + ":" + crypto.PubkeyToAddress(demoECDSA(DemoInserter).PublicKey).Hex()
}

// DemoAppState is the app_state of a devnet the demo can seed: since every
// devnet's genesis lists the demo inserter, DefaultAppState.
func DemoAppState() json.RawMessage { return DefaultAppState() }

// demoKeys writes (or reopens) the demo keystore in dir/DemoKeysDir.
func demoKeys(dir string) (*userclient.Keystore, map[string]*userclient.Key, error) {
	ks := &userclient.Keystore{Dir: filepath.Join(dir, DemoKeysDir),
		// Cheap scrypt: these keys are public, the passphrase too.
		ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP, AllowDemo: true}
	if err := os.MkdirAll(ks.Dir, 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(ks.Dir, DemoPassphraseFile), []byte(DemoPassphrase+"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	readme := "DEVNET DEMO KEYS: derived from fixed public strings (node/devnet/seed.go).\n" +
		"Anyone can recompute them. Never use them outside a local devnet.\n"
	if err := os.WriteFile(filepath.Join(ks.Dir, "README.txt"), []byte(readme), 0o600); err != nil {
		return nil, nil, err
	}
	// The marker makes idoslight (userclient.Keystore) refuse to create a
	// user's new keys here, where the demo's exported variables point.
	if err := os.WriteFile(filepath.Join(ks.Dir, userclient.DemoMarker), []byte(readme), 0o600); err != nil {
		return nil, nil, err
	}
	keys := map[string]*userclient.Key{}
	for _, d := range demoSchemes {
		k, err := ks.Load(d.name, DemoPassphrase)
		if errors.Is(err, userclient.ErrNoKey) {
			if d.scheme == auth.SchemeEd25519 {
				k, err = ks.ImportEd25519(d.name, demoSecret(d.name), DemoPassphrase)
			} else {
				k, err = ks.ImportECDSA(d.name, demoECDSA(d.name), DemoPassphrase)
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("demo key %s: %w", d.name, err)
		}
		keys[d.name] = k
	}
	return ks, keys, nil
}

// demoCredentials are the plaintexts the inserter stores for alice.
var demoCredentials = []struct{ notes, content string }{
	{`{"type":"kyc","level":"basic"}`, `{"name":"Alice Example","birthdate":"1990-01-01","country":"PT","document":"passport X1234567"}`},
	{`{"type":"email"}`, `{"email":"alice@example.org","verified":true}`},
}

// SeedDemo waits for node 0's gateway and stores the demo user story
// through it, then prints how to look at it. A network already seeded is
// left as it is. The network's genesis must list the demo inserter, as
// DefaultAppState does.
func SeedDemo(ctx context.Context, dir string, m *Manifest, out io.Writer, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ks, keys, err := demoKeys(dir)
	if err != nil {
		return err
	}
	url := m.Nodes[0].GatewayURL()
	if err := waitCommitted(ctx, url); err != nil {
		return err
	}
	dial := func(name string) (*userclient.Client, error) {
		return userclient.Dial(ctx, url, keys[name], m.ChainID, log.With("key", name))
	}
	ins, err := dial(DemoInserter)
	if err != nil {
		return err
	}
	eth, err := dial(DemoAliceEth)
	if err != nil {
		return err
	}
	if u, err := eth.User(ctx); err == nil {
		log.Info("devnet demo already seeded", "user", u.ID)
		return printDemo(ctx, out, dir, url, keys, dial, u.ID)
	}

	proof, err := userclient.WalletProof(keys[DemoAliceEth], "")
	if err != nil {
		return err
	}
	if _, err := ins.AddUser(ctx, proof); err != nil {
		var te *userclient.TxError
		if errors.As(err, &te) && te.Code == idos.CodeUnauthorized {
			return fmt.Errorf("demo inserter %s may not create users (was %s created by an older idosnode, whose devnet genesis lacks it? remove it to start over): %w",
				DemoInserterAccount(), dir, err)
		}
		return err
	}
	edProof, err := userclient.WalletProof(keys[DemoAliceEd], proof.UserID)
	if err != nil {
		return err
	}
	if _, err := eth.AddWallet(ctx, edProof); err != nil {
		return err
	}
	// alice-ed decrypts with the user's encryption key (alice-eth's).
	if err := ks.SetEncryption(DemoAliceEd, DemoPassphrase, keys[DemoAliceEth].Encryption); err != nil {
		return err
	}
	var first string
	for i, c := range demoCredentials {
		id, _, err := ins.AddCredential(ctx, userclient.NewCredential{UserID: proof.UserID,
			To: keys[DemoAliceEth].Encryption.Public, Plaintext: []byte(c.content), PublicNotes: c.notes})
		if err != nil {
			return err
		}
		if i == 0 {
			first = id
		}
	}
	if _, err := eth.ShareCredential(ctx, userclient.Share{CredentialID: first, Grantee: keys[DemoConsumer].AccountID(),
		GranteeKey: keys[DemoConsumer].Encryption.Public}); err != nil {
		return err
	}
	log.Info("devnet demo seeded", "user", proof.UserID)
	return printDemo(ctx, out, dir, url, keys, dial, proof.UserID)
}

// waitCommitted waits until the gateway answers and the application has
// committed a block, so the first transaction is not refused with "not
// ready". Height 2 in the block store implies block 1 was committed to the
// application; height 1 alone does not (the store saves a block before the
// application commits it).
func waitCommitted(ctx context.Context, url string) error {
	for {
		st, err := userclient.Status(ctx, url)
		if err == nil && st.LatestBlockHeight >= 2 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last: %v)", url, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printDemo(ctx context.Context, w io.Writer, dir, url string, keys map[string]*userclient.Key,
	dial func(string) (*userclient.Client, error), userID string) error {
	consumer, err := dial(DemoConsumer)
	if err != nil {
		return err
	}
	grants, err := consumer.GrantsReceived(ctx)
	if err != nil {
		return err
	}
	kd := filepath.Join(dir, DemoKeysDir)
	fmt.Fprintf(w, "\nDemo data (user %s). DEMO KEYS ARE PUBLIC AND INSECURE, devnet only; saved in %s:\n", userID, kd)
	for _, d := range demoSchemes {
		fmt.Fprintf(w, "  %-10s %s\n", d.name, keys[d.name].AccountID())
	}
	fmt.Fprintf(w, "Try:\n  export IDOSLIGHT_GATEWAY=%s IDOSLIGHT_KEYSTORE=%s IDOSLIGHT_PASSWORD_FILE=%s\n"+
		"  go run ./cmd/idoslight credentials --key %s --decrypt\n"+
		"  go run ./cmd/idoslight credentials --key %s --decrypt\n"+
		"  go run ./cmd/idoslight grants received --key %s\n",
		url, kd, filepath.Join(kd, DemoPassphraseFile), DemoAliceEth, DemoAliceEd, DemoConsumer)
	for _, g := range grants {
		fmt.Fprintf(w, "  go run ./cmd/idoslight credential get --key %s --id %s --decrypt\n", DemoConsumer, g.DataID)
	}
	fmt.Fprintln(w)
	return nil
}
