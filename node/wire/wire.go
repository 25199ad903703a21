// Package wire holds what the node and its clients must agree on, and
// nothing else: the gateway's request and response bodies, its error
// codes, the application's result codes, and the payloads and signed texts
// of the modules' actions and queries (the idos rows are in
// node/module/idos/idosschema, which imports nothing).
//
// It is the one package between the node and its clients (gwclient,
// userclient, idoslight, lightclient): both sides import it, and it imports
// neither SQLite, nor the Wasm runtime, nor any node package that does, so a
// client links no node (internal/rings TestClientsLinkNoNode fails if one
// starts to). Changing a name or a value here changes the API.
package wire

// Result codes of CheckTx and FinalizeBlock transaction results, in the
// "idos" codespace. They are part of the API: clients branch on them. Codes
// from 10 up are the modules' registered errors (docs/spec/result-codes.md).
const (
	CodeOK            uint32 = 0
	CodeMalformed     uint32 = 1 // the bytes are not a valid transaction
	CodeTooLarge      uint32 = 2 // over the genesis max_tx_bytes
	CodeWrongChain    uint32 = 3 // signed for another chain id
	CodeUnauthorized  uint32 = 4 // unknown scheme or bad signature
	CodeBadNonce      uint32 = 5 // nonce already used, or ahead of the next one
	CodeUnknownAction uint32 = 6 // no module handles the action
	CodeActionFailed  uint32 = 7 // the action failed with no error of a registered code; nonce consumed
	CodeNotReady      uint32 = 8 // queries only: no block is committed yet
	CodeForbidden     uint32 = 9 // the caller may not do or read this
)

// Codespace is the codespace of every non-zero code.
const Codespace = "idos"
