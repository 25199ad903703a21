package wire

import (
	"encoding/json"
	"time"

	"github.com/idos-network/idos-node/node/readproof"
)

// MaxBodyBytes is the largest request body the gateway accepts (413 above
// it).
const MaxBodyBytes = 1 << 20

// StatusResponse is the body of GET /v1/status.
type StatusResponse struct {
	ChainID           string    `json:"chain_id"`
	NodeID            string    `json:"node_id"`
	LatestBlockHeight int64     `json:"latest_block_height"`
	LatestBlockHash   string    `json:"latest_block_hash"`
	LatestAppHash     string    `json:"latest_app_hash"`
	LatestBlockTime   time.Time `json:"latest_block_time"`
	CatchingUp        bool      `json:"catching_up"`
}

// Mode is how long POST /v1/tx waits.
type Mode string

// Submission modes.
const (
	// ModeAsync returns once the transaction is handed to the mempool,
	// before CheckTx has answered.
	ModeAsync Mode = "async"
	// ModeSync returns CheckTx's answer (the default).
	ModeSync Mode = "sync"
	// ModeCommit waits until the transaction is in a committed block (or
	// CometBFT's rpc.timeout_broadcast_tx_commit passes).
	ModeCommit Mode = "commit"
)

// SubmitRequest is the body of POST /v1/tx.
type SubmitRequest struct {
	// Tx is the standard base64 of the encoded transaction
	// (docs/spec/transactions.md).
	Tx   string `json:"tx"`
	Mode Mode   `json:"mode,omitempty"`
}

// SubmitResponse is the body of a successful POST /v1/tx. In commit mode
// Code is the execution result: a committed transaction whose action failed
// answers 200 with Code 7, since its nonce is consumed and it is final.
type SubmitResponse struct {
	Hash      string `json:"hash"`
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace"`
	Log       string `json:"log"`
	// Height is the block holding the transaction (commit mode only).
	Height int64 `json:"height"`
}

// TxResponse is the body of GET /v1/tx/{hash}.
type TxResponse struct {
	Hash      string  `json:"hash"`
	Height    int64   `json:"height"`
	Index     uint32  `json:"index"`
	Code      uint32  `json:"code"`
	Codespace string  `json:"codespace"`
	Log       string  `json:"log"`
	Tx        string  `json:"tx"` // base64 of the encoded transaction
	Events    []Event `json:"events"`
}

// Event is an ABCI event of a transaction result.
type Event struct {
	Type       string           `json:"type"`
	Attributes []EventAttribute `json:"attributes"`
}

// EventAttribute is one key/value of an Event.
type EventAttribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Index bool   `json:"index"`
}

// QueryResponse is the body of a successful public or private query.
type QueryResponse struct {
	// Height is the committed block the answer reflects.
	Height int64           `json:"height"`
	Value  json.RawMessage `json:"value"`
	// Proof proves the rows of Value against the app hash in header
	// Height+1 (docs/spec/read-proofs.md); present when asked for with
	// ?prove=true.
	Proof *readproof.Bundle `json:"proof,omitempty"`
}

// AccountQuery is the body of POST /v1/query/account. The ABCI query takes
// the bare account id; over HTTP it is wrapped so every body is JSON.
type AccountQuery struct {
	ID string `json:"id"`
}

// AccountInfo is the answer of the "account" query.
type AccountInfo struct {
	ID        string `json:"id"`
	NextNonce uint64 `json:"next_nonce"`
}

// ChallengeResponse is the body of POST /v1/auth/challenge.
type ChallengeResponse struct {
	Challenge string `json:"challenge"`  // 64 hex characters
	ExpiresAt string `json:"expires_at"` // RFC 3339, UTC, whole seconds
	// Message is the exact text to sign (ChallengeMessage).
	Message string `json:"message"`
}

// PrivateAuth authenticates a private read: the signature of the
// challenge's text by the signer, under the scheme.
type PrivateAuth struct {
	Challenge string `json:"challenge"`
	Scheme    string `json:"scheme"`
	Signer    string `json:"signer"`    // hex of the scheme's signer bytes
	Signature string `json:"signature"` // hex
}

// PrivateRequest is the body of POST /v1/private/{name}.
type PrivateRequest struct {
	Auth PrivateAuth `json:"auth"`
	// Data is the query's JSON data, passed on untouched so the query's own
	// strict decoder judges it; absent or null means {}.
	Data json.RawMessage `json:"data,omitempty"`
}

// ChallengeMessage is the text a client signs to answer a challenge. Its
// first line differs from the transaction sign text's ("idOS transaction
// v1"), so a read signature can never be replayed as a transaction.
func ChallengeMessage(nodeID, challenge string, expires time.Time) string {
	return "idOS read authentication\nNode: " + nodeID + "\nChallenge: " + challenge +
		"\nExpires: " + expires.UTC().Format(time.RFC3339)
}
