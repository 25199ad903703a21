package app

import "github.com/idos-network/idos-node/node/module"

// Result codes of CheckTx and FinalizeBlock transaction results, in the
// "idos" codespace. They are part of the API: clients branch on them. They
// are also consensus-critical: FinalizeBlock's codes go into CometBFT's
// LastResultsHash. Codes from 10 up are the modules' (module.ErrorCode);
// docs/spec/result-codes.md lists them all.
const (
	CodeOK            uint32 = 0
	CodeMalformed     uint32 = 1                    // the bytes are not a valid transaction
	CodeTooLarge      uint32 = 2                    // over the genesis max_tx_bytes
	CodeWrongChain    uint32 = 3                    // signed for another chain id
	CodeUnauthorized  uint32 = 4                    // unknown scheme or bad signature
	CodeBadNonce      uint32 = 5                    // nonce already used, or ahead of the next one
	CodeUnknownAction uint32 = 6                    // no module handles the action
	CodeActionFailed  uint32 = 7                    // the action failed with no error of a registered code; nonce consumed
	CodeNotReady      uint32 = 8                    // queries only: no block is committed yet
	CodeForbidden            = module.CodeForbidden // the caller may not do or read this
)

// Codespace is the codespace of every non-zero code.
const Codespace = "idos"

// DefaultCodes are the result codes that a node with DefaultModules
// registers for its modules' errors, in the same order. Clients use it to
// match a rejection's code with a sentinel error (errors.Is).
func DefaultCodes() *module.Codes {
	c := &module.Codes{}
	if err := c.Register(module.CommonCodes...); err != nil {
		panic(err)
	}
	for _, m := range DefaultModules() {
		if err := c.Register(m.Errors...); err != nil {
			panic(err) // the default modules' codes are checked by the tests
		}
	}
	return c
}
