package userclient

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/uuid"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/client"
)

// EncryptionKeyInfo is the HKDF info string of the encryption key
// derivation. Changing it changes every user's encryption key, so it is
// versioned.
const EncryptionKeyInfo = "idOS encryption key v1"

// DeriveEncryptionKey derives the X25519 key pair that goes with a signing
// key: HKDF-SHA256 with the signing key's secret as input keying material
// (the 32-byte Ed25519 seed, or the 32-byte big-endian secp256k1 scalar),
// no salt, info EncryptionKeyInfo, 32 bytes of output used as the X25519
// private key (clamped by X25519 as usual).
//
// Deriving it rather than drawing it means a wallet's key file (or a
// hardware wallet able to export it) is all a user needs to back up; the
// derivation is one-way, so the encryption key reveals nothing about the
// signing key.
func DeriveEncryptionKey(secret []byte) (*client.EncryptionKey, error) {
	priv, err := hkdf.Key(sha256.New, secret, nil, EncryptionKeyInfo, 32)
	if err != nil {
		return nil, err
	}
	return encryptionKeyFromPrivate(priv)
}

func encryptionKeyFromPrivate(priv []byte) (*client.EncryptionKey, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	var out client.EncryptionKey
	copy(out.Private[:], priv)
	copy(out.Public[:], k.PublicKey().Bytes())
	return &out, nil
}

// Key is an unlocked signing key with its encryption key.
type Key struct {
	Name string
	Path string
	// Scheme is auth.SchemeEd25519 or auth.SchemeEIP191 for a key of the
	// keystore, any scheme for an ExternalKey; Identifier is the scheme's
	// canonical identifier (hex public key, EIP-55 address, ...).
	Scheme     string
	Identifier string
	Signer     client.Signer
	// Encryption is the key this wallet decrypts with: derived from the
	// signing key, unless the user's encryption key was stored in the
	// file (Shared), which is how a second wallet of a user reads what
	// was encrypted to the first one's key.
	Encryption *client.EncryptionKey
	Shared     bool
	// PublicKey is informational (wallet link proofs): the hex Ed25519
	// public key or the hex uncompressed secp256k1 public key.
	PublicKey string
}

// ExternalKey is the Key of a wallet that signs elsewhere (client.External):
// no file, and no encryption key unless enc is given, so it signs
// transactions and reads but cannot seal or open credentials.
func ExternalKey(e *client.External, enc *client.EncryptionKey) *Key {
	return &Key{Name: client.AccountID(e), Scheme: e.Scheme(), Identifier: e.Identifier(), Signer: e, Encryption: enc,
		PublicKey: hex.EncodeToString(e.SignerID())}
}

// AccountID is the key's account id, scheme:identifier.
func (k *Key) AccountID() string { return k.Scheme + ":" + k.Identifier }

// Keystore keeps keys as files DIR/NAME.json:
//
//   - eip191: the standard Ethereum keystore v3 format (scrypt +
//     AES-128-CTR), readable by geth and most wallets; an optional extra
//     member "idos_encryption" holds a user encryption key set with
//     SetEncryption, encrypted the same way.
//   - ed25519: {"version":1,"scheme":"ed25519","public_key":HEX,
//     "crypto":{...}} where "crypto" is the same v3 cipher block over the
//     32-byte seed, plus the optional "idos_encryption".
type Keystore struct {
	Dir string
	// ScryptN and ScryptP are the scrypt cost of new files; zero means
	// keystore.StandardScryptN/P (about a second and 256 MB per unlock).
	ScryptN, ScryptP int
	// AllowDemo lets new keys be written into a demo keystore (one holding
	// DemoMarker); only the devnet's own seeding, or a user who asks for it
	// explicitly, sets it.
	AllowDemo bool
}

// DemoMarker is the file that marks a directory as a devnet demo keystore,
// whose keys and passphrase are public. The devnet writes it; Keystore
// refuses to create keys beside it (ErrDemoKeystore), so that a shell with
// the demo's environment still exported cannot put a user's new key under
// the demo's public passphrase without being told.
const DemoMarker = "DEMO-KEYSTORE"

// ErrDemoKeystore is returned when a new key would go into a demo
// keystore without AllowDemo.
var ErrDemoKeystore = errors.New("refusing to create a key in a devnet demo keystore: its keys and passphrase are public")

// IsDemoKeystore reports whether dir is marked as a demo keystore.
func IsDemoKeystore(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, DemoMarker))
	return err == nil
}

// ErrKeyExists is returned when a key name is already taken.
var ErrKeyExists = errors.New("key already exists")

// ErrNoKey is returned for a key name with no file.
var ErrNoKey = errors.New("no such key")

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidName reports whether name may name a key file.
func ValidName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("key name %q: want 1-64 of [A-Za-z0-9._-], not starting with a dot or dash", name)
	}
	return nil
}

func (ks *Keystore) path(name string) string { return filepath.Join(ks.Dir, name+".json") }

func (ks *Keystore) scrypt() (int, int) {
	if ks.ScryptN == 0 {
		return keystore.StandardScryptN, keystore.StandardScryptP
	}
	return ks.ScryptN, ks.ScryptP
}

// Generate creates a new random key of scheme.
func (ks *Keystore) Generate(name, scheme, passphrase string, rnd io.Reader) (*Key, error) {
	switch scheme {
	case auth.SchemeEd25519:
		seed := make([]byte, ed25519.SeedSize)
		if _, err := io.ReadFull(rnd, seed); err != nil {
			return nil, err
		}
		return ks.ImportEd25519(name, seed, passphrase)
	case auth.SchemeEIP191:
		k, err := ecdsa.GenerateKey(crypto.S256(), rnd)
		if err != nil {
			return nil, err
		}
		return ks.ImportECDSA(name, k, passphrase)
	}
	return nil, fmt.Errorf("key type %q: want %s or %s", scheme, auth.SchemeEIP191, auth.SchemeEd25519)
}

// ImportEd25519 stores an Ed25519 key given its 32-byte seed.
func (ks *Keystore) ImportEd25519(name string, seed []byte, passphrase string) (*Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	N, P := ks.scrypt()
	cj, err := keystore.EncryptDataV3(seed, []byte(passphrase), N, P)
	if err != nil {
		return nil, err
	}
	key, err := edKey(name, ks.path(name), seed)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(edFile{Version: 1, Scheme: auth.SchemeEd25519, PublicKey: key.Identifier, Crypto: cj}, "", "  ")
	if err != nil {
		return nil, err
	}
	return key, ks.create(name, data)
}

// ImportECDSA stores a secp256k1 key as an eip191 key.
func (ks *Keystore) ImportECDSA(name string, k *ecdsa.PrivateKey, passphrase string) (*Key, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, err
	}
	N, P := ks.scrypt()
	data, err := keystore.EncryptKey(&keystore.Key{Id: id, Address: crypto.PubkeyToAddress(k.PublicKey), PrivateKey: k}, passphrase, N, P)
	if err != nil {
		return nil, err
	}
	key, err := ethKey(name, ks.path(name), k)
	if err != nil {
		return nil, err
	}
	return key, ks.create(name, data)
}

// ImportEthereumKeystore stores an existing Ethereum keystore file under
// name after checking that passphrase opens it; the file is copied as it is
// (its scrypt cost included).
func (ks *Keystore) ImportEthereumKeystore(name string, data []byte, passphrase string) (*Key, error) {
	k, err := keystore.DecryptKey(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("open Ethereum keystore file: %w", err)
	}
	key, err := ethKey(name, ks.path(name), k.PrivateKey)
	if err != nil {
		return nil, err
	}
	return key, ks.create(name, data)
}

type edFile struct {
	Version    int                  `json:"version"`
	Scheme     string               `json:"scheme"`
	PublicKey  string               `json:"public_key"`
	Crypto     keystore.CryptoJSON  `json:"crypto"`
	Encryption *keystore.CryptoJSON `json:"idos_encryption,omitempty"`
}

// header is what Load reads before knowing the format.
type header struct {
	Scheme     string               `json:"scheme"`
	Address    string               `json:"address"`
	Encryption *keystore.CryptoJSON `json:"idos_encryption"`
}

// create writes a new key file; it never replaces one.
func (ks *Keystore) create(name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if !ks.AllowDemo && IsDemoKeystore(ks.Dir) {
		return fmt.Errorf("%w (%s)", ErrDemoKeystore, ks.Dir)
	}
	if err := os.MkdirAll(ks.Dir, 0o700); err != nil {
		return fmt.Errorf("create keystore directory: %w", err)
	}
	f, err := os.OpenFile(ks.path(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrKeyExists, ks.path(name))
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		os.Remove(ks.path(name))
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Load opens and decrypts a key.
func (ks *Keystore) Load(name, passphrase string) (*Key, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	p := ks.path(name)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q in %s", ErrNoKey, name, ks.Dir)
	}
	if err != nil {
		return nil, err
	}
	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("key file %s: %w", p, err)
	}
	var key *Key
	switch {
	case h.Scheme == auth.SchemeEd25519:
		var f edFile
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("key file %s: %w", p, err)
		}
		seed, err := keystore.DecryptDataV3(f.Crypto, passphrase)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", name, err)
		}
		if key, err = edKey(name, p, seed); err != nil {
			return nil, err
		}
	case h.Scheme == "" && h.Address != "":
		k, err := keystore.DecryptKey(data, passphrase)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", name, err)
		}
		if key, err = ethKey(name, p, k.PrivateKey); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("key file %s: neither an Ethereum keystore file nor an idOS ed25519 key", p)
	}
	if h.Encryption != nil {
		priv, err := keystore.DecryptDataV3(*h.Encryption, passphrase)
		if err != nil {
			return nil, fmt.Errorf("key %s: user encryption key: %w", name, err)
		}
		if key.Encryption, err = encryptionKeyFromPrivate(priv); err != nil {
			return nil, fmt.Errorf("key %s: user encryption key: %w", name, err)
		}
		key.Shared = true
	}
	return key, nil
}

// SetEncryption stores enc as the key's encryption key (encrypted with the
// key's passphrase), replacing the derived one. A user with several wallets
// has one encryption key (idos_users.encryption_public_key); every wallet
// that should decrypt needs it.
func (ks *Keystore) SetEncryption(name, passphrase string, enc *client.EncryptionKey) error {
	if _, err := ks.Load(name, passphrase); err != nil {
		return err
	}
	p := ks.path(name)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	N, P := ks.scrypt()
	cj, err := keystore.EncryptDataV3(enc.Private[:], []byte(passphrase), N, P)
	if err != nil {
		return err
	}
	if m["idos_encryption"], err = json.Marshal(cj); err != nil {
		return err
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	// Write beside and rename, so a crash never leaves half a key file.
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Names lists the keys in the keystore, sorted.
func (ks *Keystore) Names() ([]string, error) {
	ents, err := os.ReadDir(ks.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && ValidName(n) == nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func edKey(name, path string, seed []byte) (*Key, error) {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := hex.EncodeToString(priv.Public().(ed25519.PublicKey))
	enc, err := DeriveEncryptionKey(seed)
	if err != nil {
		return nil, err
	}
	return &Key{Name: name, Path: path, Scheme: auth.SchemeEd25519, Identifier: pub,
		Signer: client.NewKeySigner(auth.NewEd25519Signer(priv), pub), Encryption: enc, PublicKey: pub}, nil
}

func ethKey(name, path string, k *ecdsa.PrivateKey) (*Key, error) {
	enc, err := DeriveEncryptionKey(crypto.FromECDSA(k))
	if err != nil {
		return nil, err
	}
	id := crypto.PubkeyToAddress(k.PublicKey).Hex()
	return &Key{Name: name, Path: path, Scheme: auth.SchemeEIP191, Identifier: id,
		Signer: client.NewKeySigner(auth.NewEIP191Signer(k), id), Encryption: enc, PublicKey: hex.EncodeToString(crypto.FromECDSAPub(&k.PublicKey))}, nil
}
