// Package userclient is the user's side of the idOS data model: keys in a
// keystore, wallet link proofs, credentials encrypted and decrypted on the
// client, and every action and private read of docs/spec/data-model.md
// through a node's gateway. cmd/idoslight is a thin CLI over it; the devnet
// demo seed and tests use it directly.
//
// Nodes hold ciphertext only: plaintext exists here, never on the wire.
package userclient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idos-network/idos-node/node/client"
	"github.com/idos-network/idos-node/node/gateway/gwclient"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/wire"
)

// NewID returns a random lowercase UUID (version 4). IDs are chosen by
// clients so the node never draws randomness inside consensus.
func NewID() string {
	return uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String()
}

// Client acts as one key through one gateway.
type Client struct {
	GW      *gwclient.Client
	Key     *Key
	ChainID string
	Log     *slog.Logger
	// Confirm, if set, checks every receipt the gateway gives before Send
	// returns it, a success (code 0) or a committed failure: idoslight
	// proves the transaction and its result code against headers its
	// light client verified, and sets Verified and Height. An error is
	// returned by Send as it is.
	Confirm func(ctx context.Context, tx []byte, r *Receipt, code uint32) error
	// ReadCredential, if set, is how EditCredential and ShareCredential
	// read the credential they start from (its notes, its plaintext to
	// re-seal): idoslight reads it proven, so a gateway cannot make the
	// user write what it chose. Nil reads through the gateway.
	ReadCredential func(ctx context.Context, id string) (*idosschema.Credential, error)
}

// original reads the credential a write starts from.
func (c *Client) original(ctx context.Context, id string) (*idosschema.Credential, error) {
	if c.ReadCredential != nil {
		return c.ReadCredential(ctx, id)
	}
	return c.Credential(ctx, id)
}

// Dial returns a client of the gateway at url for key; an empty chainID is
// read from the gateway's /v1/status.
func Dial(ctx context.Context, url string, key *Key, chainID string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{GW: gwclient.New(url, nil), Key: key, ChainID: chainID, Log: log}
	if chainID == "" {
		st, err := Status(ctx, url)
		if err != nil {
			return nil, err
		}
		c.ChainID = st.ChainID
		log.Debug("chain id from gateway", "chain_id", c.ChainID)
	}
	return c, nil
}

// Status reads the gateway's /v1/status.
func Status(ctx context.Context, url string) (*wire.StatusResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("gateway status: HTTP %d", resp.StatusCode)
	}
	var st wire.StatusResponse
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("gateway status: %w", err)
	}
	return &st, nil
}

// TxError is a transaction that was committed but whose action the node
// refused (its nonce is consumed), or that CheckTx refused.
type TxError struct {
	Action string
	Hash   string
	Code   uint32 // docs/spec/transactions.md result codes
	Log    string
}

func (e *TxError) Error() string {
	return fmt.Sprintf("%s refused (code %d): %s (tx %s)", e.Action, e.Code, e.Log, e.Hash)
}

// Receipt is a committed, successful transaction.
type Receipt struct {
	Hash   string `json:"hash"`
	Height int64  `json:"height"`
	// Verified: the transaction and its success were proven against
	// verified headers (Client.Confirm); false is the gateway's word.
	Verified bool `json:"verified"`
}

// Nonce returns the account's next nonce from the node.
func (c *Client) Nonce(ctx context.Context) (uint64, error) {
	res, err := c.GW.Query(ctx, "account", wire.AccountQuery{ID: c.Key.AccountID()})
	if err != nil {
		return 0, fmt.Errorf("read nonce: %w", err)
	}
	var a wire.AccountInfo
	if err := json.Unmarshal(res.Value, &a); err != nil {
		return 0, fmt.Errorf("read nonce: %w", err)
	}
	return a.NextNonce, nil
}

// Send signs action with the account's next nonce and waits for its block.
func (c *Client) Send(ctx context.Context, action string, payload any) (*Receipt, error) {
	nonce, err := c.Nonce(ctx)
	if err != nil {
		return nil, err
	}
	acc := client.NewAccount(c.Key.Signer, c.ChainID)
	acc.Nonce = nonce
	raw, err := acc.Build(action, payload)
	if err != nil {
		return nil, err
	}
	c.Log.Debug("submitting", "action", action, "nonce", nonce, "bytes", len(raw))
	res, err := c.GW.Submit(ctx, raw, wire.ModeCommit)
	var ge *gwclient.Error
	if errors.As(err, &ge) && ge.Code == wire.ErrTxRejected {
		return nil, &TxError{Action: action, Hash: ge.Hash, Code: ge.ABCICode, Log: ge.Message}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", action, err)
	}
	r := &Receipt{Hash: res.Hash, Height: res.Height}
	if c.Confirm != nil {
		if err := c.Confirm(ctx, raw, r, res.Code); err != nil {
			return nil, fmt.Errorf("%s: %w", action, err)
		}
	}
	if res.Code != wire.CodeOK {
		return nil, &TxError{Action: action, Hash: res.Hash, Code: res.Code, Log: res.Log}
	}
	c.Log.Debug("committed", "action", action, "hash", res.Hash, "height", res.Height)
	return r, nil
}

// Read runs a private query as the key and decodes its value into out.
func (c *Client) Read(ctx context.Context, name string, data, out any) error {
	res, err := c.GW.Private(ctx, name, c.Key.Signer, data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := json.Unmarshal(res.Value, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", name, err)
	}
	return nil
}

// Proof is a wallet's signed consent to be linked to a user, produced by
// the wallet's holder and carried to whoever submits it. It is shaped as
// the idos.add_user payload, so the inserter can submit it as it is; for
// idos.add_wallet only UserID and Wallet are used.
type Proof = wire.AddUserPayload

// WalletProof signs the link message for the user with the client's key.
// An empty userID draws a new one (for a user about to be created); the
// encryption public key offered for a new user is the key's own.
func WalletProof(key *Key, userID string) (*Proof, error) {
	if userID == "" {
		if key.Encryption == nil {
			return nil, fmt.Errorf("a new user needs an encryption public key: %w", client.ErrNoEncryptionKey)
		}
		userID = NewID()
	}
	msg := wire.LinkMessage(userID, key.Scheme, key.Identifier)
	sig, err := key.Signer.Sign([]byte(msg))
	if err != nil {
		return nil, err
	}
	return &Proof{UserID: userID, EncryptionPublicKey: key.Encryption.PublicBase64(), Wallet: wire.WalletInput{
		WalletID: NewID(), WalletType: key.Scheme, Address: hex.EncodeToString(key.Signer.SignerID()), PublicKey: key.PublicKey,
		Message: msg, Signature: hex.EncodeToString(sig),
	}}, nil
}

// AddUser creates the user of proof (the client's key must be an inserter
// or a delegate of one).
func (c *Client) AddUser(ctx context.Context, p *Proof) (*Receipt, error) {
	return c.Send(ctx, "idos.add_user", p)
}

// AddWallet links the proof's wallet to its user.
func (c *Client) AddWallet(ctx context.Context, p *Proof) (*Receipt, error) {
	return c.Send(ctx, "idos.add_wallet", wire.AddWalletPayload{UserID: p.UserID, Wallet: p.Wallet})
}

// RemoveWallet unlinks one of the caller's user's wallets.
func (c *Client) RemoveWallet(ctx context.Context, walletID string) (*Receipt, error) {
	return c.Send(ctx, "idos.remove_wallet", wire.RemoveWalletPayload{WalletID: walletID})
}

// NewCredential is a credential to store for a user.
type NewCredential struct {
	ID     string // empty: a new UUID
	UserID string
	// To is the user's encryption public key; the content is sealed from
	// the client's encryption key to it.
	To          [32]byte
	Plaintext   []byte
	PublicNotes string
}

// AddCredential encrypts and stores a credential; it returns its id.
func (c *Client) AddCredential(ctx context.Context, nc NewCredential) (string, *Receipt, error) {
	if nc.ID == "" {
		nc.ID = NewID()
	}
	content, err := c.Key.Encryption.Seal(nc.Plaintext, nc.To)
	if err != nil {
		return "", nil, err
	}
	r, err := c.Send(ctx, "idos.add_credential", wire.AddCredentialPayload{
		CredentialID: nc.ID, UserID: nc.UserID, IssuerAuthPublicKey: c.Key.AccountID(),
		EncryptorPublicKey: c.Key.Encryption.PublicBase64(), Content: content, PublicNotes: nc.PublicNotes,
	})
	return nc.ID, r, err
}

// EditCredential replaces an original credential's content (encrypted by
// the user to the user's own key) and notes; nil notes keep the old ones.
func (c *Client) EditCredential(ctx context.Context, id string, plaintext []byte, notes *string) (*Receipt, error) {
	if c.Key.Encryption == nil { // before the wallet is asked to sign the read
		return nil, client.ErrNoEncryptionKey
	}
	old, err := c.original(ctx, id)
	if err != nil {
		return nil, err
	}
	if notes == nil {
		notes = &old.PublicNotes
	}
	content, err := c.Key.Encryption.Seal(plaintext, c.Key.Encryption.Public)
	if err != nil {
		return nil, err
	}
	return c.Send(ctx, "idos.edit_credential", wire.EditCredentialPayload{
		CredentialID: id, EncryptorPublicKey: c.Key.Encryption.PublicBase64(), Content: content, PublicNotes: *notes,
	})
}

// RemoveCredential deletes an original credential with its copies and
// grants.
func (c *Client) RemoveCredential(ctx context.Context, id string) (*Receipt, error) {
	return c.Send(ctx, "idos.remove_credential", wire.RemoveCredentialPayload{CredentialID: id})
}

// Share is a share to make.
type Share struct {
	CredentialID string
	Grantee      string   // account id
	GranteeKey   [32]byte // the grantee's encryption public key
	LockedUntil  int64    // Unix seconds; 0: not locked
}

// Shared is what ShareCredential created.
type Shared struct {
	CopyID      string `json:"copy_id"`
	GrantID     string `json:"grant_id"`
	ContentHash string `json:"content_hash"`
	Receipt
}

// ShareCredential decrypts the original with the user's key, re-encrypts it
// to the grantee and creates the copy and its grant. The content hash is the
// hex SHA-256 of the plaintext, so the grantee can check that the copy is
// what was shared.
func (c *Client) ShareCredential(ctx context.Context, s Share) (*Shared, error) {
	if c.Key.Encryption == nil {
		return nil, client.ErrNoEncryptionKey
	}
	orig, err := c.original(ctx, s.CredentialID)
	if err != nil {
		return nil, err
	}
	pt, err := c.Decrypt(orig)
	if err != nil {
		return nil, err
	}
	content, err := c.Key.Encryption.Seal(pt, s.GranteeKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pt)
	out := &Shared{CopyID: NewID(), GrantID: NewID(), ContentHash: hex.EncodeToString(sum[:])}
	r, err := c.Send(ctx, "idos.share_credential", wire.ShareCredentialPayload{
		CredentialID: s.CredentialID, CopyID: out.CopyID, EncryptorPublicKey: c.Key.Encryption.PublicBase64(),
		Content: content, ContentHash: out.ContentHash, GrantID: out.GrantID, Grantee: s.Grantee, LockedUntil: s.LockedUntil,
	})
	if err != nil {
		return nil, err
	}
	out.Receipt = *r
	return out, nil
}

// RevokeGrant deletes a grant and its copy.
func (c *Client) RevokeGrant(ctx context.Context, grantID string) (*Receipt, error) {
	return c.Send(ctx, "idos.revoke_grant", wire.RevokeGrantPayload{GrantID: grantID})
}

// User is the caller's user.
func (c *Client) User(ctx context.Context) (*idosschema.User, error) {
	var u idosschema.User
	return &u, c.Read(ctx, "idos.get_user", nil, &u)
}

// Wallets are the caller's user's wallets.
func (c *Client) Wallets(ctx context.Context) ([]idosschema.Wallet, error) {
	var ws []idosschema.Wallet
	return ws, c.Read(ctx, "idos.get_wallets", nil, &ws)
}

// Credentials are the caller's user's credentials.
func (c *Client) Credentials(ctx context.Context) ([]idosschema.Credential, error) {
	var cs []idosschema.Credential
	return cs, c.Read(ctx, "idos.get_credentials", nil, &cs)
}

// Credential is one credential the caller owns or holds a grant on.
func (c *Client) Credential(ctx context.Context, id string) (*idosschema.Credential, error) {
	var cr idosschema.Credential
	return &cr, c.Read(ctx, "idos.get_credential", wire.GetCredentialRequest{CredentialID: id}, &cr)
}

// GrantsOwned are the grants the caller's user gave.
func (c *Client) GrantsOwned(ctx context.Context) ([]idosschema.Grant, error) {
	var gs []idosschema.Grant
	return gs, c.Read(ctx, "idos.get_grants_owned", nil, &gs)
}

// GrantsReceived are the grants whose grantee is the caller.
func (c *Client) GrantsReceived(ctx context.Context) ([]idosschema.Grant, error) {
	var gs []idosschema.Grant
	return gs, c.Read(ctx, "idos.get_grants_received", nil, &gs)
}

// ErrNotUserKey is returned when a credential is sealed to a key other than
// the one this wallet decrypts with.
var ErrNotUserKey = errors.New("this key's encryption key cannot open the credential")

// Decrypt opens a credential's content with the key's encryption key.
func (c *Client) Decrypt(cr *idosschema.Credential) ([]byte, error) {
	from, err := client.ParseKey32(cr.EncryptorPublicKey)
	if err != nil {
		return nil, fmt.Errorf("credential %s: encryptor key: %w", cr.ID, err)
	}
	pt, err := c.Key.Encryption.Open(cr.Content, from)
	if errors.Is(err, client.ErrDecrypt) {
		hint := ""
		if !c.Key.Shared {
			hint = " (if the user was created with another wallet, give this key the user's encryption key: idoslight key set-encryption)"
		}
		return nil, fmt.Errorf("credential %s: %w%s", cr.ID, ErrNotUserKey, hint)
	}
	return pt, err
}
