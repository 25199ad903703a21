package wire

// The idOS data model's payloads (docs/spec/data-model.md): what clients
// send to the idos module's actions and queries. The module
// (node/module/idos) keeps the same names as aliases. The rows its queries
// answer with (User, Wallet, Credential, Grant) are in
// node/module/idos/idosschema beside their column lists; that package
// imports nothing and clients may use it too.

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
