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
