package app

import "github.com/idos-network/idos-node/node/wire"

// Result codes of CheckTx and FinalizeBlock transaction results, in the
// "idos" codespace. Their values are API and live in node/wire, which the
// clients share; these names keep the application's code readable. They
// are also consensus-critical: FinalizeBlock's codes go into CometBFT's
// LastResultsHash. Codes from 10 up are the modules' (module.ErrorCode);
// docs/spec/result-codes.md lists them all, and node/composition.Codes()
// are a standard node's.
const (
	CodeOK            = wire.CodeOK
	CodeMalformed     = wire.CodeMalformed
	CodeTooLarge      = wire.CodeTooLarge
	CodeWrongChain    = wire.CodeWrongChain
	CodeUnauthorized  = wire.CodeUnauthorized
	CodeBadNonce      = wire.CodeBadNonce
	CodeUnknownAction = wire.CodeUnknownAction
	CodeActionFailed  = wire.CodeActionFailed
	CodeNotReady      = wire.CodeNotReady
	CodeForbidden     = wire.CodeForbidden
)

// Codespace is the codespace of every non-zero code.
const Codespace = wire.Codespace
