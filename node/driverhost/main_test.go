package driverhost

import (
	"fmt"
	"os"
	"testing"
)

// testCacheDir is a compilation cache the package's tests share. Each test
// makes its own runtime, and without a cache every one compiled the
// multi-MB drivers again: about 50 s of the package's run, and 12 minutes
// under the race detector, which slows wazero's compiler 14-fold. What is
// tested is the same: the cache holds code compiled from the same bytes
// with the same settings (TestCompilationCache checks that it loads).
var testCacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "driverhost-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCacheDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
