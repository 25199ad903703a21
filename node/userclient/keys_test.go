package userclient

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/node/auth"
)

// The derivation is pinned: changing it would lock every user out of the
// credentials encrypted to their derived key. The vector was checked with
// an independent HKDF (Python hmac) and X25519 (pyca/cryptography).
func TestDeriveEncryptionKeyVector(t *testing.T) {
	k, err := DeriveEncryptionKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.StdEncoding.EncodeToString(k.Private[:]); got != "+bQ2JO4bUY2ucm5dfelBF7uFEj3r2xlH8gyRZXSXlAY=" {
		t.Errorf("private %s", got)
	}
	if got := k.PublicBase64(); got != "dVb9o0NYSH9d9o4dIoSzcJICQ7TEhZBj5SYSq4Tdz2M=" {
		t.Errorf("public %s", got)
	}
}

func lightKeystore(t *testing.T) *Keystore {
	return &Keystore{Dir: t.TempDir() + "/keys", ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
}

// Keys of both schemes survive a store and load with the same identity and
// encryption key; a wrong passphrase, a taken name and a bad name fail.
func TestKeystoreRoundTrip(t *testing.T) {
	ks := lightKeystore(t)
	for _, scheme := range []string{auth.SchemeEIP191, auth.SchemeEd25519} {
		k, err := ks.Generate(scheme, scheme, "pw", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ks.Load(scheme, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if got.AccountID() != k.AccountID() || got.Encryption.Public != k.Encryption.Public || got.Shared {
			t.Fatalf("%s: loaded %+v, stored %+v", scheme, got, k)
		}
		if fi, err := os.Stat(got.Path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: key file mode %v %v", scheme, fi.Mode(), err)
		}
		if _, err := ks.Load(scheme, "wrong"); !errors.Is(err, keystore.ErrDecrypt) {
			t.Fatalf("%s: wrong passphrase: %v", scheme, err)
		}
		if _, err := ks.Generate(scheme, scheme, "pw", rand.Reader); !errors.Is(err, ErrKeyExists) {
			t.Fatalf("%s: overwrite: %v", scheme, err)
		}
	}
	if _, err := ks.Load("../etc/passwd", "pw"); err == nil {
		t.Fatal("a path was accepted as a key name")
	}
	if _, err := ks.Load("missing", "pw"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("missing key: %v", err)
	}
}

// An eip191 key file is a standard Ethereum keystore file, and importing
// one keeps the address.
func TestEthereumKeystoreCompat(t *testing.T) {
	ks := lightKeystore(t)
	priv, _ := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	k, err := ks.ImportECDSA("web3", priv, "pw")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(k.Path)
	gk, err := keystore.DecryptKey(data, "pw")
	if err != nil || gk.Address.Hex() != "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23" {
		t.Fatalf("geth reads %v %v", gk, err)
	}
	k2, err := ks.ImportEthereumKeystore("copy", data, "pw")
	if err != nil || k2.AccountID() != "eip191:0x2c7536E3605D9C16a7a3D7b1898e529396a65c23" || k2.Encryption.Public != k.Encryption.Public {
		t.Fatalf("import: %+v %v", k2, err)
	}
	if _, err := ks.ImportEthereumKeystore("copy2", data, "wrong"); err == nil {
		t.Fatal("imported with a wrong passphrase")
	}
}

// SetEncryption makes a second wallet decrypt with the user's key, and the
// file stays a valid Ethereum keystore file.
func TestSetEncryption(t *testing.T) {
	ks := lightKeystore(t)
	first, _ := ks.Generate("first", auth.SchemeEd25519, "a", rand.Reader)
	second, _ := ks.Generate("second", auth.SchemeEIP191, "b", rand.Reader)
	if err := ks.SetEncryption("second", "b", first.Encryption); err != nil {
		t.Fatal(err)
	}
	got, err := ks.Load("second", "b")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Shared || got.Encryption.Public != first.Encryption.Public || got.AccountID() != second.AccountID() {
		t.Fatalf("after SetEncryption: %+v", got)
	}
	data, _ := os.ReadFile(got.Path)
	if _, err := keystore.DecryptKey(data, "b"); err != nil {
		t.Fatalf("no longer an Ethereum keystore file: %v", err)
	}
	ct, _ := first.Encryption.Seal([]byte("secret"), first.Encryption.Public)
	if pt, err := got.Encryption.Open(ct, first.Encryption.Public); err != nil || string(pt) != "secret" {
		t.Fatalf("open with the shared key: %q %v", pt, err)
	}
}

// A keystore marked as a devnet demo takes no new key unless AllowDemo:
// each way of creating one is refused and writes nothing, and the keys
// already there still open.
func TestDemoKeystoreRefusesNewKeys(t *testing.T) {
	dir := t.TempDir()
	ks := &Keystore{Dir: dir, ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	if _, err := ks.Generate("before", auth.SchemeEd25519, "pw", rand.Reader); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/"+DemoMarker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if !IsDemoKeystore(dir) || IsDemoKeystore(t.TempDir()) {
		t.Fatal("IsDemoKeystore does not follow the marker")
	}
	ecKey, _ := crypto.GenerateKey()
	ethFile, err := keystore.EncryptKey(&keystore.Key{PrivateKey: ecKey, Address: crypto.PubkeyToAddress(ecKey.PublicKey)}, "pw",
		keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	for name, create := range map[string]func() error{
		"generate": func() error { _, err := ks.Generate("g", auth.SchemeEIP191, "pw", rand.Reader); return err },
		"ed25519":  func() error { _, err := ks.ImportEd25519("e", bytes.Repeat([]byte{2}, 32), "pw"); return err },
		"ecdsa":    func() error { _, err := ks.ImportECDSA("s", ecKey, "pw"); return err },
		"ethereum": func() error { _, err := ks.ImportEthereumKeystore("k", ethFile, "pw"); return err },
	} {
		if err := create(); !errors.Is(err, ErrDemoKeystore) {
			t.Errorf("%s: %v, want ErrDemoKeystore", name, err)
		}
	}
	if names, err := ks.Names(); err != nil || len(names) != 1 {
		t.Fatalf("keys after refusals: %v %v", names, err)
	}
	if _, err := ks.Load("before", "pw"); err != nil {
		t.Fatalf("an existing key: %v", err)
	}
	ks.AllowDemo = true
	if _, err := ks.Generate("allowed", auth.SchemeEd25519, "pw", rand.Reader); err != nil {
		t.Fatalf("with AllowDemo: %v", err)
	}
}
