package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/kv"
)

var errUnregistered = errors.New("an error no module registered")

// codesModule fails its actions with chosen errors.
func codesModule() module.Module {
	fails := func(err error) module.Action { return func(*module.Env, []byte) error { return err } }
	return module.Module{Name: "codes", Actions: map[string]module.Action{
		"codes.plain":      fails(errUnregistered),
		"codes.not_found":  fails(fmt.Errorf("row 7: %w", module.ErrNotFound)),
		"codes.two":        fails(fmt.Errorf("%w: %w", module.ErrForbidden, module.ErrNotFound)),
		"codes.registered": fails(fmt.Errorf("x: %w", errRegistered)),
	}, Errors: []module.ErrorCode{{Code: 99, Err: errRegistered}}}
}

var errRegistered = errors.New("a registered error")

// A failed action gets the code registered for the error it wraps (the
// first registered, for an error wrapping two), and the generic
// CodeActionFailed when it wraps none.
func TestActionErrorCodes(t *testing.T) {
	a, err := New(Config{DBPath: filepath.Join(t.TempDir(), "s.sqlite"), Modules: []module.Module{kv.Module(), codesModule()}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	initChain(t, a)
	acc := edAccount(3)
	actions := []string{"codes.plain", "codes.not_found", "codes.two", "codes.registered"}
	want := []uint32{CodeActionFailed, module.CodeNotFound, module.CodeForbidden, 99}
	var txs [][]byte
	for _, act := range actions {
		txs = append(txs, build(t, acc, act, struct{}{}))
	}
	res := runBlock(t, a, 1, txs...)
	for i, r := range res.TxResults {
		if r.Code != want[i] || r.Codespace != Codespace {
			t.Errorf("%s: code %d/%s (%s), want %d", actions[i], r.Code, r.Codespace, r.Log, want[i])
		}
	}
}

// Two modules giving one error two codes cannot make an app.
func TestConflictingCodesRefused(t *testing.T) {
	m := codesModule()
	m.Errors = append(m.Errors, module.ErrorCode{Code: 98, Err: module.ErrNotFound})
	if _, err := New(Config{DBPath: filepath.Join(t.TempDir(), "s.sqlite"), Modules: []module.Module{m}}); err == nil {
		t.Fatal("a module gave ErrNotFound a second code")
	}
}

// docs/spec/result-codes.md lists exactly the application's codes and the
// codes the default modules register.
func TestResultCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/spec/result-codes.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	text = text[strings.Index(text, "## The codes"):]
	text = text[:strings.Index(text, "## Test vectors")]
	var documented []uint32
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(text, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 32)
		documented = append(documented, uint32(n))
	}
	want := []uint32{CodeOK, CodeMalformed, CodeTooLarge, CodeWrongChain, CodeUnauthorized, CodeBadNonce,
		CodeUnknownAction, CodeActionFailed, CodeNotReady, CodeForbidden}
	a := newApp(t, t.TempDir())
	defer a.Close()
	for _, ec := range a.codes.All() {
		if !slices.Contains(want, ec.Code) {
			want = append(want, ec.Code)
		}
	}
	slices.Sort(want)
	if !slices.Equal(documented, want) {
		t.Fatalf("documented codes %v, registered %v", documented, want)
	}
}
