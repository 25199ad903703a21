package module

import (
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/wire"
)

// ErrorCode gives a sentinel error a stable result code. A transaction
// whose action fails with an error that wraps Err (errors.Is) gets Code in
// its result; codes go into CometBFT's LastResultsHash, so they are
// consensus-critical and never change meaning (docs/spec/result-codes.md).
type ErrorCode struct {
	Code uint32
	Err  error
}

// FirstModuleCode is the lowest code a module may register; the codes
// below belong to the application (node/app/codes.go), except
// CodeForbidden, which is also ErrForbidden's.
const FirstModuleCode = 10

// CodeForbidden is the application's code for a caller that may not do
// what it asked (wire.CodeForbidden); ErrForbidden carries it.
const CodeForbidden = wire.CodeForbidden

// Codes that several modules give their own sentinels because they mean
// the same thing there: the rules of decisions by validator approval
// (validators, plugins).
const (
	CodeNotValidator uint32 = 30 // the sender is not a validator
	CodeWrongScheme  uint32 = 31 // validator transactions are signed with the ed25519 validator key
	CodeNoRequest    uint32 = 32 // no such request or proposal
	CodeExpired      uint32 = 33 // the request or proposal expired
	CodeDecided      uint32 = 34 // the request or proposal is already decided
	CodeDuplicate    uint32 = 35 // already requested, approved or present
)

// CommonCodes are the codes of this package's own errors, which every
// module may return.
var CommonCodes = []ErrorCode{
	{CodeForbidden, ErrForbidden},
	{CodeInvalidPayload, ErrInvalidPayload},
	{CodeNotFound, ErrNotFound},
}

// The codes of this package's errors.
const (
	CodeInvalidPayload uint32 = 10 // ErrInvalidPayload
	CodeNotFound       uint32 = 11 // ErrNotFound
)

// Codes maps errors to result codes. Code looks the codes up in
// registration order, so an error that wraps two registered sentinels gets
// the code of the one registered first; the order is fixed by the module
// order, so every node answers the same.
type Codes struct {
	list []ErrorCode
}

// Register adds codes. One error has one code: registering an error again
// with another code fails, with the same code is a no-op (two modules may
// share a sentinel). Several errors may share a code when they mean the
// same thing in different modules.
func (c *Codes) Register(codes ...ErrorCode) error {
	for _, ec := range codes {
		if ec.Err == nil {
			return fmt.Errorf("module: result code %d without an error", ec.Code)
		}
		if ec.Code < FirstModuleCode && ec.Code != CodeForbidden {
			return fmt.Errorf("module: result code %d for %q is reserved for the application", ec.Code, ec.Err)
		}
		dup := false
		for _, have := range c.list {
			if have.Err == ec.Err {
				if have.Code != ec.Code {
					return fmt.Errorf("module: error %q registered with codes %d and %d", ec.Err, have.Code, ec.Code)
				}
				dup = true
			}
		}
		if !dup {
			c.list = append(c.list, ec)
		}
	}
	return nil
}

// Code returns the code of the first registered error that err wraps.
func (c *Codes) Code(err error) (uint32, bool) {
	for _, ec := range c.list {
		if errors.Is(err, ec.Err) {
			return ec.Code, true
		}
	}
	return 0, false
}

// All returns the registered codes in registration order.
func (c *Codes) All() []ErrorCode { return append([]ErrorCode(nil), c.list...) }
