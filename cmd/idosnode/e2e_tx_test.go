package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/tx"
)

// commitTx broadcasts raw and waits for its block; it fails the test unless
// both CheckTx and execution succeed.
func commitTx(ctx context.Context, t *testing.T, c rpcclient.Client, raw []byte) int64 {
	t.Helper()
	res, err := c.BroadcastTxCommit(ctx, raw)
	if err != nil {
		t.Fatalf("broadcast_tx_commit: %v", err)
	}
	if res.CheckTx.Code != app.CodeOK || res.TxResult.Code != app.CodeOK {
		t.Fatalf("tx failed: check %d %q, exec %d %q", res.CheckTx.Code, res.CheckTx.Log, res.TxResult.Code, res.TxResult.Log)
	}
	return res.Height
}

// checkRejected broadcasts raw and asserts that CheckTx refuses it with code.
func checkRejected(ctx context.Context, t *testing.T, c rpcclient.Client, name string, raw []byte, code uint32) {
	t.Helper()
	res, err := c.BroadcastTxSync(ctx, raw)
	if err != nil {
		t.Fatalf("%s: broadcast_tx_sync: %v", name, err)
	}
	if res.Code != code {
		t.Errorf("%s: code %d (%s), want %d", name, res.Code, res.Log, code)
	}
}

func query(ctx context.Context, t *testing.T, c rpcclient.Client, path, data string) string {
	t.Helper()
	res, err := c.ABCIQuery(ctx, path, []byte(data))
	if err != nil {
		t.Fatalf("query %s: %v", path, err)
	}
	if res.Response.Code != app.CodeOK {
		return fmt.Sprintf("code %d: %s", res.Response.Code, res.Response.Log)
	}
	return string(res.Response.Value)
}

// sameAppHashes asserts that every node reports the same header app hash for
// each height in [from, to].
func sameAppHashes(ctx context.Context, t *testing.T, cs []*rpchttp.HTTP, from, to int64) {
	t.Helper()
	for h := from; h <= to; h++ {
		var first []byte
		for i, c := range cs {
			b, err := c.Block(ctx, &h)
			if err != nil {
				t.Fatalf("node %d block %d: %v", i, h, err)
			}
			if i == 0 {
				first = b.Block.AppHash
			} else if !bytes.Equal(first, b.Block.AppHash) {
				t.Fatalf("height %d: node %d app hash %X, node 0 %X", h, i, b.Block.AppHash, first)
			}
		}
	}
}

// TestDevnetTransactions: on a real 4-validator devnet, signed transactions
// of two schemes (ed25519, EIP-191) commit and are readable from every node;
// replays, a wrong-chain transaction and a forged signature are rejected and
// change nothing; all nodes agree on every app hash.
func TestDevnetTransactions(t *testing.T) {
	bin := testnet.Binary(t)
	dir := filepath.Join(testnet.TempDir(t), "devnet")
	base := testnet.DevnetPorts(t, 4)
	d := testnet.StartDevnet(t, bin, dir, "--validators", "4", "--base-port", strconv.Itoa(base), "--chain-id", "idos-e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := d.WaitHeight(ctx, 2); err != nil {
		t.Fatal(err)
	}
	cs, err := d.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}

	edKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, 32))
	ed := client.NewAccount(auth.NewEd25519Signer(edKey), "idos-e2e")
	edID := "ed25519:" + hex.EncodeToString(edKey.Public().(ed25519.PublicKey))
	ethKey, _ := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	eth := client.NewAccount(auth.NewEIP191Signer(ethKey), "idos-e2e")
	ethID := "eip191:0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"

	edTx, err := ed.Build("kv.put", kv.PutPayload{Key: "name", Value: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	commitTx(ctx, t, cs[0], edTx)
	ethTx, err := eth.Build("kv.put", kv.PutPayload{Key: "name", Value: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	h := commitTx(ctx, t, cs[2], ethTx)

	// Replays. The exact bytes again: CometBFT's mempool cache or our nonce
	// check refuses them, on the node that saw them and on another one.
	for i := range []int{0, 1} {
		if res, err := cs[i].BroadcastTxSync(ctx, edTx); err == nil && res.Code == app.CodeOK {
			t.Errorf("replay to node %d accepted", i)
		}
	}
	// The same signed EIP-191 transaction with v as 0/1 instead of 27/28:
	// new bytes, same signature and nonce. Only the nonce stops it.
	parsed, err := tx.Decode(ethTx)
	if err != nil {
		t.Fatal(err)
	}
	parsed.Signature[64] -= 27
	malleated, err := parsed.Encode()
	if err != nil {
		t.Fatal(err)
	}
	checkRejected(ctx, t, cs[3], "re-encoded replay", malleated, app.CodeBadNonce)
	// Same nonce, different payload.
	ed.Nonce--
	sameNonce, _ := ed.Build("kv.put", kv.PutPayload{Key: "name", Value: "mallory"})
	checkRejected(ctx, t, cs[1], "reused nonce", sameNonce, app.CodeBadNonce)

	wrong := client.NewAccount(auth.NewEd25519Signer(edKey), "another-chain")
	wrong.Nonce = ed.Nonce
	wrongTx, _ := wrong.Build("kv.put", kv.PutPayload{Key: "name", Value: "elsewhere"})
	checkRejected(ctx, t, cs[0], "wrong chain", wrongTx, app.CodeWrongChain)

	forged, _ := tx.Decode(edTx)
	forged.Nonce = ed.Nonce
	forged.Payload = []byte(`{"key":"name","value":"forged"}`) // signature is for the old payload
	forgedTx, err := forged.Encode()
	if err != nil {
		t.Fatal(err)
	}
	checkRejected(ctx, t, cs[2], "forged signature", forgedTx, app.CodeUnauthorized)

	// Wait two more blocks so that anything smuggled in would have landed.
	if _, err := d.WaitHeight(ctx, h+2); err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		for _, q := range []struct{ path, data, want string }{
			{"/kv.get", `{"owner":"` + edID + `","key":"name"}`, `{"owner":"` + edID + `","key":"name","value":"alice"}`},
			{"/kv.get", `{"owner":"` + ethID + `","key":"name"}`, `{"owner":"` + ethID + `","key":"name","value":"bob"}`},
			{"/account", edID, `{"id":"` + edID + `","next_nonce":1}`},
			{"/account", ethID, `{"id":"` + ethID + `","next_nonce":1}`},
		} {
			if got := query(ctx, t, c, q.path, q.data); got != q.want {
				t.Errorf("node %d %s %s = %s, want %s", i, q.path, q.data, got, q.want)
			}
		}
	}
	sameAppHashes(ctx, t, cs, 1, h+2)
}
