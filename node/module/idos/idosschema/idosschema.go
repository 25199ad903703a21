// Package idosschema names the columns of the idOS data model's tables
// (docs/spec/data-model.md) in table order, the order of the row encoding
// (docs/spec/commitment.md), and their primary keys in key order.
//
// It imports nothing, so that both the node's module (node/module/idos,
// which creates the tables and checks in its tests that SQLite agrees with
// this list) and the light client (lightclient/idosverify, which must not
// link SQLite) read one list: a second copy would be a fork waiting to
// happen.
package idosschema

// Table is a state table as the row encoding sees it.
type Table struct {
	Name string
	// Columns in table order.
	Columns []string
	// PK is the primary key's columns in key order.
	PK []string
}

// Index returns the position of column name in t.Columns, or -1.
func (t Table) Index(name string) int {
	for i, c := range t.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// The idos tables.
var (
	Inserters = Table{"idos_inserters", []string{"id", "added"}, []string{"id"}}
	Delegates = Table{"idos_delegates", []string{"inserter", "delegate", "added"}, []string{"inserter", "delegate"}}
	Users     = Table{"idos_users", []string{"id", "encryption_public_key", "inserter", "created"}, []string{"id"}}
	Wallets   = Table{"idos_wallets",
		[]string{"id", "user_id", "wallet_type", "address", "public_key", "message", "signature", "created"},
		[]string{"user_id", "id"}}
	Credentials = Table{"idos_credentials",
		[]string{"id", "user_id", "issuer_auth_public_key", "encryptor_public_key", "content", "public_notes", "original_id",
			"created", "updated"},
		[]string{"user_id", "id"}}
	Grants = Table{"idos_grants",
		[]string{"id", "owner_user_id", "grantee", "data_id", "locked_until", "content_hash", "origin", "created"},
		[]string{"owner_user_id", "id"}}
	// GrantsByGrantee is every grant again, keyed by its grantee, so that
	// "every grant this account received" is a key prefix proven complete
	// by one range proof. Same columns as Grants.
	GrantsByGrantee = Table{"idos_grants_by_grantee", Grants.Columns, []string{"grantee", "id"}}
	Attributes      = Table{"idos_attributes", []string{"id", "user_id", "name", "value", "created"}, []string{"user_id", "id"}}
)

// Tables returns every idos table.
func Tables() []Table {
	return []Table{Inserters, Delegates, Users, Wallets, Credentials, Grants, GrantsByGrantee, Attributes}
}

// The answers of the module's private reads (docs/spec/data-model.md), as
// JSON; node/module/idos names them too.
type (
	// User is the answer of idos.get_user.
	User struct {
		ID                  string `json:"user_id"`
		EncryptionPublicKey string `json:"encryption_public_key"`
		Inserter            string `json:"inserter"`
		Created             int64  `json:"created"`
	}
	// Wallet is a linked wallet.
	Wallet struct {
		ID         string `json:"wallet_id"`
		WalletType string `json:"wallet_type"`
		Address    string `json:"address"`
		PublicKey  string `json:"public_key"`
		Created    int64  `json:"created"`
	}
	// Credential is a stored credential (content is ciphertext).
	Credential struct {
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
	Grant struct {
		ID          string `json:"grant_id"`
		OwnerUserID string `json:"owner_user_id"`
		Grantee     string `json:"grantee"`
		DataID      string `json:"data_id"`
		LockedUntil int64  `json:"locked_until"`
		ContentHash string `json:"content_hash"`
		Origin      string `json:"origin"`
		Created     int64  `json:"created"`
	}
)
