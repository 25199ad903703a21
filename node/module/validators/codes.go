package validators

import "github.com/idos-network/idos-node/node/module"

// Result codes of the validators module's own errors; the rules it shares
// with other approvals use module's codes (docs/spec/result-codes.md).
const (
	CodeSelfApproval  uint32 = 36 // ErrSelfApproval
	CodeLastValidator uint32 = 37 // ErrLastValidator
)

// Codes are the validators module's sentinel errors with their result codes.
var Codes = []module.ErrorCode{
	{Code: module.CodeNotValidator, Err: ErrNotValidator},
	{Code: module.CodeWrongScheme, Err: ErrWrongScheme},
	{Code: module.CodeNoRequest, Err: ErrNoRequest},
	{Code: module.CodeExpired, Err: ErrExpired},
	{Code: module.CodeDecided, Err: ErrDecided},
	{Code: module.CodeDuplicate, Err: ErrDuplicate},
	{Code: CodeSelfApproval, Err: ErrSelfApproval},
	{Code: CodeLastValidator, Err: ErrLastValidator},
}
