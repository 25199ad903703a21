package userclient

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/mr-tron/base58"

	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/wire"
)

// solanaWallet signs the message of each request with Ed25519, as a
// Solana wallet's signMessage does, and counts the requests.
type solanaWallet struct {
	priv ed25519.PrivateKey
	n    int
}

func (w *solanaWallet) Sign(req *client.SignRequest) (string, error) {
	w.n++
	return base58.Encode(ed25519.Sign(w.priv, []byte(req.Message))), nil
}

// TestExternalKeyWalletProof: an external wallet's link proof carries the
// signer bytes in hex as the address (what the node decodes) and the
// identifier in the message; without an encryption key it cannot offer one
// for a new user, nor share, and says so before asking the wallet.
func TestExternalKeyWalletProof(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	w := &solanaWallet{priv: priv}
	e, err := client.NewExternal("solana", base58.Encode(pub), "", w)
	if err != nil {
		t.Fatal(err)
	}
	key := ExternalKey(e, nil)
	if key.AccountID() != "solana:"+base58.Encode(pub) {
		t.Fatalf("account %s", key.AccountID())
	}
	if _, err := WalletProof(key, ""); !errors.Is(err, client.ErrNoEncryptionKey) || w.n != 0 {
		t.Fatalf("proof for a new user: %v (%d requests)", err, w.n)
	}
	p, err := WalletProof(key, "8d4e1a9e-0c52-4f0b-9a53-3f4f0c8f6e21")
	if err != nil || w.n != 1 {
		t.Fatalf("proof: %v (%d requests)", err, w.n)
	}
	sig, _ := hex.DecodeString(p.Wallet.Signature)
	if p.Wallet.Address != hex.EncodeToString(pub) || p.Wallet.WalletType != "solana" ||
		p.Wallet.Message != wire.LinkMessage(p.UserID, "solana", base58.Encode(pub)) || !ed25519.Verify(pub, []byte(p.Wallet.Message), sig) {
		t.Fatalf("proof %+v", p.Wallet)
	}
	c := &Client{Key: key}
	if _, err := c.ShareCredential(context.Background(), Share{CredentialID: "x"}); !errors.Is(err, client.ErrNoEncryptionKey) || w.n != 1 {
		t.Fatalf("share: %v (%d requests)", err, w.n)
	}
}
