package drivers

import (
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/plugins"
)

// Result codes of the drivers module's own errors; the rules it shares
// with other approvals use module's codes (docs/spec/result-codes.md).
const (
	CodeObservation  uint32 = 50 // ErrObservation
	CodeUnknownChain uint32 = 51 // ErrUnknownChain
	CodeChainConfig  uint32 = 52 // ErrChainConfig
)

// Codes are the drivers module's sentinel errors with their result codes.
var Codes = []module.ErrorCode{
	{Code: module.CodeNotValidator, Err: ErrNotValidator},
	{Code: module.CodeWrongScheme, Err: ErrWrongScheme},
	{Code: module.CodeNoRequest, Err: ErrNoProposal},
	{Code: module.CodeExpired, Err: ErrExpired},
	{Code: module.CodeDecided, Err: ErrDecided},
	{Code: module.CodeDuplicate, Err: ErrDuplicate},
	{Code: CodeObservation, Err: ErrObservation},
	{Code: CodeUnknownChain, Err: ErrUnknownChain},
	{Code: CodeChainConfig, Err: ErrChainConfig},
	// A driver module reaches the chain as a signature plugin's does
	// (plugins.upload), and is refused with the same codes.
	{Code: plugins.CodeBadModule, Err: plugins.ErrBadModule},
	{Code: plugins.CodeUpload, Err: plugins.ErrUpload},
}
