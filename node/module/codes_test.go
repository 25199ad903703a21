package module_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idos-network/idos-node/node/module"
)

func TestCodes(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	var c module.Codes
	if err := c.Register(module.ErrorCode{Code: 12, Err: errA}, module.ErrorCode{Code: 13, Err: errB}); err != nil {
		t.Fatal(err)
	}
	// 1. The same pair again is a no-op (two modules sharing a sentinel).
	if err := c.Register(module.ErrorCode{Code: 12, Err: errA}); err != nil || len(c.All()) != 2 {
		t.Fatalf("re-registering the same pair: %v, %d codes", err, len(c.All()))
	}
	// 2. One error cannot have two codes.
	if err := c.Register(module.ErrorCode{Code: 14, Err: errA}); err == nil {
		t.Fatal("an error registered with a second code")
	}
	// 3. Codes below FirstModuleCode are the application's, except Forbidden.
	if err := c.Register(module.ErrorCode{Code: 7, Err: errors.New("x")}); err == nil {
		t.Fatal("an application code registered by a module")
	}
	if err := c.Register(module.ErrorCode{Code: 12}); err == nil {
		t.Fatal("a code without an error registered")
	}
	// 4. Lookup is by errors.Is, first registration first.
	for _, tc := range []struct {
		err  error
		code uint32
		ok   bool
	}{
		{errA, 12, true},
		{fmt.Errorf("ctx: %w", errB), 13, true},
		{fmt.Errorf("%w and %w", errB, errA), 12, true},
		{errors.New("other"), 0, false},
		{nil, 0, false},
	} {
		if code, ok := c.Code(tc.err); code != tc.code || ok != tc.ok {
			t.Errorf("Code(%v) = %d, %v; want %d, %v", tc.err, code, ok, tc.code, tc.ok)
		}
	}
}
