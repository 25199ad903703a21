package idos

import "github.com/idos-network/idos-node/node/module"

// Result codes of the idos module's errors (docs/spec/result-codes.md).
const (
	CodeUnauthorized uint32 = 20 // ErrUnauthorized
	CodeLocked       uint32 = 21 // ErrLocked
)

// Codes are the idos module's sentinel errors with their result codes; the
// rules of inserter proposals, which it shares with the other approvals,
// use module's codes.
var Codes = []module.ErrorCode{
	{Code: CodeUnauthorized, Err: ErrUnauthorized},
	{Code: CodeLocked, Err: ErrLocked},
	{Code: module.CodeNotValidator, Err: ErrNotValidator},
	{Code: module.CodeWrongScheme, Err: ErrWrongScheme},
	{Code: module.CodeNoRequest, Err: ErrNoProposal},
	{Code: module.CodeExpired, Err: ErrExpired},
	{Code: module.CodeDecided, Err: ErrDecided},
	{Code: module.CodeDuplicate, Err: ErrDuplicate},
}
