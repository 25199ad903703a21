package plugins

import "github.com/idos-network/idos-node/node/module"

// Result codes of the plugins module's own errors; the rules it shares
// with other approvals use module's codes (docs/spec/result-codes.md).
const (
	CodeNameTaken     uint32 = 40 // ErrNameTaken
	CodeBadModule     uint32 = 41 // ErrBadModule
	CodeUpload        uint32 = 42 // ErrUpload
	CodeNotActive     uint32 = 43 // ErrNotActive
	CodeBadActivation uint32 = 44 // ErrBadActivation
	CodeChecking      uint32 = 45 // ErrChecking
)

// Codes are the plugins module's sentinel errors with their result codes.
var Codes = []module.ErrorCode{
	{Code: module.CodeNotValidator, Err: ErrNotValidator},
	{Code: module.CodeWrongScheme, Err: ErrWrongScheme},
	{Code: module.CodeNoRequest, Err: ErrNoProposal},
	{Code: module.CodeExpired, Err: ErrExpired},
	{Code: module.CodeDecided, Err: ErrDecided},
	{Code: module.CodeDuplicate, Err: ErrDuplicate},
	{Code: CodeNameTaken, Err: ErrNameTaken},
	{Code: CodeBadModule, Err: ErrBadModule},
	{Code: CodeUpload, Err: ErrUpload},
	{Code: CodeNotActive, Err: ErrNotActive},
	{Code: CodeBadActivation, Err: ErrBadActivation},
	{Code: CodeChecking, Err: ErrChecking},
}
