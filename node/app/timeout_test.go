package app_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/composition"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/module/idos"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/module/validators"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wire"
	"github.com/idos-network/idos-node/sigplugins"
)

const timeoutChain = "idos-timeout"

// timeoutScheme stands for a signature plugin stopped by the Wasm host's
// wall-clock safety net: every verification fails with ErrTimeout.
type timeoutScheme struct{}

func (timeoutScheme) Name() string { return "slow" }
func (timeoutScheme) Verify(_, _, _ []byte) (string, error) {
	return "", fmt.Errorf("plugin slow: %w", wasmhost.ErrTimeout)
}

func tkey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

// slowWallet is a wallet of the timing-out scheme with a well-formed
// ownership proof (its verification is what times out).
func slowWallet(userID, walletID string) idos.WalletInput {
	addr := hex.EncodeToString(tkey(50).Public().(ed25519.PublicKey))
	return idos.WalletInput{WalletID: walletID, WalletType: "slow", Address: addr,
		Message: wire.LinkMessage(userID, "slow", addr), Signature: hex.EncodeToString(make([]byte, 64))}
}

// edWallet is an ed25519 wallet with a real ownership proof.
func edWallet(t *testing.T, key ed25519.PrivateKey, userID, walletID string) idos.WalletInput {
	addr := hex.EncodeToString(key.Public().(ed25519.PublicKey))
	msg := wire.LinkMessage(userID, "ed25519", addr)
	return idos.WalletInput{WalletID: walletID, WalletType: "ed25519", Address: addr, Message: msg,
		Signature: hex.EncodeToString(ed25519.Sign(key, []byte(msg)))}
}

const (
	tUser    = "00000000-0000-4000-8000-000000000001"
	tWallet1 = "00000000-0000-4000-8000-0000000000a1"
	tWallet2 = "00000000-0000-4000-8000-0000000000a2"
)

// Every path of a block that verifies a signature, or otherwise calls a
// plugin, halts the block when the call hits the wall-clock safety net:
// FinalizeBlock returns an error wrapping ErrTimeout (CometBFT stops the
// node) instead of recording a result that a faster node would not share
// (docs/spec/plugins.md, "Local limits").
func TestTimeoutHaltsTheBlock(t *testing.T) {
	// Accounts count their nonces, so each case makes its own.
	inserter := func() *client.Account { return client.NewAccount(auth.NewEd25519Signer(tkey(1)), timeoutChain) }
	user := func() *client.Account { return client.NewAccount(auth.NewEd25519Signer(tkey(2)), timeoutChain) }
	cases := []struct {
		name string
		// setup returns the blocks before the one that must halt, and
		// that block's transactions.
		setup func(t *testing.T) (before [][][]byte, halting [][]byte)
		// rt, if set, is the Wasm runtime the plugins module checks
		// proposals in.
		rt func(t *testing.T) *wasmhost.Runtimes
	}{
		{
			// 1. The transaction's own signature.
			name: "tx signature",
			setup: func(t *testing.T) ([][][]byte, [][]byte) {
				slow := client.NewAccount(auth.NewEd25519SignerAs("slow", tkey(4)), timeoutChain)
				return nil, [][]byte{mustBuild(t, slow, "kv.put", kv.PutPayload{Key: "k", Value: "v"})}
			},
		},
		{
			// 2. idos.add_user: the new user's wallet ownership proof.
			name: "idos.add_user wallet proof",
			setup: func(t *testing.T) ([][][]byte, [][]byte) {
				return nil, [][]byte{mustBuild(t, inserter(), "idos.add_user", idos.AddUserPayload{
					UserID: tUser, EncryptionPublicKey: key32b64(1), Wallet: slowWallet(tUser, tWallet1)})}
			},
		},
		{
			// 3. idos.add_wallet: the added wallet's ownership proof.
			name: "idos.add_wallet wallet proof",
			setup: func(t *testing.T) ([][][]byte, [][]byte) {
				add := mustBuild(t, inserter(), "idos.add_user", idos.AddUserPayload{
					UserID: tUser, EncryptionPublicKey: key32b64(1), Wallet: edWallet(t, tkey(2), tUser, tWallet1)})
				return [][][]byte{{add}}, [][]byte{mustBuild(t, user(), "idos.add_wallet", idos.AddWalletPayload{
					UserID: tUser, Wallet: slowWallet(tUser, tWallet2)})}
			},
		},
		{
			// 4. plugins.propose: every node registers the module in the
			// Wasm host (its _initialize and metadata calls) to check it,
			// and the verdict is taken at the check height, which halts.
			name: "plugins.propose module check",
			setup: func(t *testing.T) ([][][]byte, [][]byte) {
				v := client.NewAccount(auth.NewEd25519Signer(tkey(3)), timeoutChain)
				b, _ := sigplugins.Lookup("solana")
				sum, chunks := plugins.UploadChunks(b.Wasm(), plugins.DefaultChunkSize)
				var ups [][]byte
				for _, c := range chunks {
					ups = append(ups, mustBuild(t, v, "plugins.upload", c))
				}
				propose := mustBuild(t, v, "plugins.propose", plugins.ProposePayload{
					Scheme: "solana", KeyType: "ed25519", AddressFormat: "base58 Ed25519 public key (Solana address)", SHA256: sum})
				// The proposal passes its block; the blocks up to the check
				// height are empty, and the check height's halts.
				blocks := [][][]byte{ups, {propose}}
				for range plugins.DefaultCheckDelayBlocks - 1 {
					blocks = append(blocks, nil)
				}
				return blocks, nil
			},
			rt: func(t *testing.T) *wasmhost.Runtimes {
				// A safety net that fires at once stands for a machine
				// too slow for the module.
				rt, err := wasmhost.NewRuntimes(wasmhost.Config{CallTimeout: time.Nanosecond})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { rt.Close(context.Background()) })
				return rt
			},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := auth.DefaultRegistry()
			if err := reg.Register(timeoutScheme{}); err != nil {
				t.Fatal(err)
			}
			pm := plugins.New(plugins.Config{})
			if tc.rt != nil {
				pm = plugins.New(plugins.Config{Runtimes: tc.rt(t)})
			}
			a, err := app.New(app.Config{DBPath: filepath.Join(t.TempDir(), "s.sqlite"), Schemes: reg,
				Modules: []module.Module{kv.Module(), validators.Module(), idos.Module(), pm, drivers.Module()}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			g := composition.DefaultGenesis()
			g.IDOS.Inserters = []string{"ed25519:" + hex.EncodeToString(tkey(1).Public().(ed25519.PublicKey))}
			state, _ := json.Marshal(g)
			ctx := context.Background()
			vals := []abci.ValidatorUpdate{abci.Ed25519ValidatorUpdate(tkey(3).Public().(ed25519.PublicKey), 10)}
			if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: timeoutChain, AppStateBytes: state, Validators: vals}); err != nil {
				t.Fatal(err)
			}
			before, halting := tc.setup(t)
			height := int64(0)
			for _, txs := range append([][][]byte{nil}, before...) {
				height++
				res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Txs: txs, Time: time.Unix(height, 0)})
				if err != nil {
					t.Fatalf("setup block %d: %v", height, err)
				}
				for j, r := range res.TxResults {
					if r.Code != app.CodeOK {
						t.Fatalf("setup block %d tx %d: code %d %s", height, j, r.Code, r.Log)
					}
				}
				if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height + 1, Txs: halting, Time: time.Unix(height+1, 0)})
			if !errors.Is(err, wasmhost.ErrTimeout) {
				t.Fatalf("%d. %s: FinalizeBlock = %v, %v; want an error wrapping ErrTimeout", i+1, tc.name, res, err)
			}
			// The halted block left nothing to commit, and the
			// committed height is the one before it.
			if _, err := a.Commit(ctx, &abci.RequestCommit{}); err == nil {
				t.Fatalf("%d. %s: Commit after a halted block succeeded", i+1, tc.name)
			}
			if info, _ := a.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != height {
				t.Fatalf("%d. %s: height %d after the halted block, want %d", i+1, tc.name, info.LastBlockHeight, height)
			}
		})
	}
}

func mustBuild(t *testing.T, a *client.Account, action string, payload any) []byte {
	t.Helper()
	raw, err := a.Build(action, payload)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func key32b64(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}
