package wire

// The idOS data model's payloads (docs/spec/data-model.md): what clients
// send to the idos module's actions and get back from its queries. The
// module (node/module/idos) keeps the same names as aliases.

// OriginInternal is the origin of a grant made on this network.
const OriginInternal = "internal"

// WalletInput is a wallet to link, with its ownership proof.
type WalletInput struct {
	WalletID   string `json:"wallet_id"`
	WalletType string `json:"wallet_type"` // a signature scheme name
	Address    string `json:"address"`     // the scheme's identifier
	PublicKey  string `json:"public_key"`  // informational, as the wallet reports it
	Message    string `json:"message"`     // exactly LinkMessage(...)
	Signature  string `json:"signature"`   // hex
}

// LinkMessage is the text a wallet signs to prove it may be linked to a
// user.
func LinkMessage(userID, walletType, address string) string {
	return "idOS: link wallet\nUser: " + userID + "\nWallet type: " + walletType + "\nAddress: " + address
}

// AddUserPayload is the payload of idos.add_user.
type AddUserPayload struct {
	UserID              string      `json:"user_id"`
	EncryptionPublicKey string      `json:"encryption_public_key"`
	Wallet              WalletInput `json:"wallet"`
}

// AddWalletPayload is the payload of idos.add_wallet.
type AddWalletPayload struct {
	UserID string      `json:"user_id"`
	Wallet WalletInput `json:"wallet"`
}

// IDPayload names one row: idos.remove_wallet, idos.remove_credential,
// idos.revoke_grant, idos.remove_attribute use their own field name.
type (
	RemoveWalletPayload struct {
		WalletID string `json:"wallet_id"`
	}
	RemoveCredentialPayload struct {
		CredentialID string `json:"credential_id"`
	}
	RevokeGrantPayload struct {
		GrantID string `json:"grant_id"`
	}
	RemoveAttributePayload struct {
		AttributeID string `json:"attribute_id"`
	}
	DelegatePayload struct {
		Delegate string `json:"delegate"`
	}
)

// AddCredentialPayload is the payload of idos.add_credential.
type AddCredentialPayload struct {
	CredentialID        string `json:"credential_id"`
	UserID              string `json:"user_id"`
	IssuerAuthPublicKey string `json:"issuer_auth_public_key"`
	EncryptorPublicKey  string `json:"encryptor_public_key"`
	Content             string `json:"content"`
	PublicNotes         string `json:"public_notes"`
}

// EditCredentialPayload is the payload of idos.edit_credential.
type EditCredentialPayload struct {
	CredentialID       string `json:"credential_id"`
	EncryptorPublicKey string `json:"encryptor_public_key"`
	Content            string `json:"content"`
	PublicNotes        string `json:"public_notes"`
}

// ShareCredentialPayload is the payload of idos.share_credential.
type ShareCredentialPayload struct {
	CredentialID       string `json:"credential_id"`
	CopyID             string `json:"copy_id"`
	EncryptorPublicKey string `json:"encryptor_public_key"`
	Content            string `json:"content"` // encrypted to the grantee
	ContentHash        string `json:"content_hash"`
	GrantID            string `json:"grant_id"`
	Grantee            string `json:"grantee"` // account id
	LockedUntil        int64  `json:"locked_until"`
}

// AddAttributePayload is the payload of idos.add_attribute.
type AddAttributePayload struct {
	AttributeID string `json:"attribute_id"`
	Name        string `json:"name"`
	Value       string `json:"value"`
}

// User is the answer of idos.get_user.
type User struct {
	ID                  string `json:"user_id"`
	EncryptionPublicKey string `json:"encryption_public_key"`
	Inserter            string `json:"inserter"`
	Created             int64  `json:"created"`
}

// Wallet is a linked wallet.
type Wallet struct {
	ID         string `json:"wallet_id"`
	WalletType string `json:"wallet_type"`
	Address    string `json:"address"`
	PublicKey  string `json:"public_key"`
	Created    int64  `json:"created"`
}

// Credential is a stored credential (content is ciphertext).
type Credential struct {
	ID                  string `json:"credential_id"`
	UserID              string `json:"user_id"`
	IssuerAuthPublicKey string `json:"issuer_auth_public_key"`
	EncryptorPublicKey  string `json:"encryptor_public_key"`
	Content             string `json:"content"`
	PublicNotes         string `json:"public_notes"`
	OriginalID          string `json:"original_id"`
	Created             int64  `json:"created"`
	Updated             int64  `json:"updated"`
}

// Grant is an access grant.
type Grant struct {
	ID          string `json:"grant_id"`
	OwnerUserID string `json:"owner_user_id"`
	Grantee     string `json:"grantee"`
	DataID      string `json:"data_id"`
	LockedUntil int64  `json:"locked_until"`
	ContentHash string `json:"content_hash"`
	Origin      string `json:"origin"`
	Created     int64  `json:"created"`
}

// Attribute is a user attribute.
type Attribute struct {
	ID      string `json:"attribute_id"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Created int64  `json:"created"`
}

// GetCredentialRequest is the data of idos.get_credential.
type GetCredentialRequest struct {
	CredentialID string `json:"credential_id"`
}
