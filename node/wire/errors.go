package wire

// Error codes of the gateway's error bodies. They are part of the API:
// clients branch on them, never on the message.
const (
	ErrBadRequest       = "bad_request"        // 400: malformed JSON, unknown field, wrong type, bad value
	ErrUnknownScheme    = "unknown_scheme"     // 400: the signature scheme is not registered
	ErrChallengeInvalid = "challenge_invalid"  // 401: challenge unknown, expired or already used
	ErrBadSignature     = "bad_signature"      // 401: the signature does not verify
	ErrForbidden        = "forbidden"          // 403: the caller may not read this
	ErrNotFound         = "not_found"          // 404: no such endpoint
	ErrTxNotFound       = "tx_not_found"       // 404: no committed transaction with this hash
	ErrUnknownQuery     = "unknown_query"      // 404: no such query
	ErrMethodNotAllowed = "method_not_allowed" // 405
	ErrTxInCache        = "tx_in_cache"        // 409: the node has seen this transaction already
	ErrBodyTooLarge     = "body_too_large"     // 413: request body over MaxBodyBytes
	ErrTxTooLarge       = "tx_too_large"       // 413: transaction over the mempool's limit
	ErrTxRejected       = "tx_rejected"        // 422: CheckTx refused the transaction (see abci_code)
	ErrQueryFailed      = "query_failed"       // 422: the query refused its data or found nothing
	ErrInternal         = "internal"           // 500
	ErrUnavailable      = "unavailable"        // 503: the node cannot answer now
	ErrNotReady         = "not_ready"          // 503: no block committed yet
	ErrMempoolFull      = "mempool_full"       // 503
	ErrBusy             = "busy"               // 503: too many waiting commit submissions or challenges
	ErrCommitTimeout    = "commit_timeout"     // 504: the transaction was not committed in time
)

// ErrUnsupportedMedia is 415: a request body declared (Content-Type) as
// something else than JSON.
const ErrUnsupportedMedia = "unsupported_media_type"

// ErrorCodes lists every error code the gateway answers with.
func ErrorCodes() []string {
	return []string{
		ErrBadRequest, ErrUnknownScheme, ErrChallengeInvalid, ErrBadSignature, ErrForbidden,
		ErrNotFound, ErrTxNotFound, ErrUnknownQuery, ErrMethodNotAllowed, ErrTxInCache,
		ErrBodyTooLarge, ErrUnsupportedMedia, ErrTxTooLarge, ErrTxRejected, ErrQueryFailed, ErrInternal,
		ErrUnavailable, ErrNotReady, ErrMempoolFull, ErrBusy, ErrCommitTimeout,
	}
}

// ErrorDetail is the "error" member of an error body.
type ErrorDetail struct {
	// Code is stable and meant for programs; Message is for people.
	Code    string `json:"code"`
	Message string `json:"message"`
	// ABCICode and Codespace are the application's result code when the
	// application refused a transaction or a read (docs/spec/transactions.md).
	ABCICode  uint32 `json:"abci_code,omitempty"`
	Codespace string `json:"codespace,omitempty"`
	// Hash is the transaction hash (hex) for errors of POST /v1/tx.
	Hash string `json:"hash,omitempty"`
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}
