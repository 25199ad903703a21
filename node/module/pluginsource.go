package module

import (
	"context"
	"database/sql"

	"github.com/idos-network/idos-node/node/wasmhost"
)

// Querier reads committed or block state: a *sql.Tx snapshot or the
// block's *sqlstate.DB.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ScheduledPlugin is a signature plugin that verifies now or will:
// approved and not yet past its removal height.
type ScheduledPlugin struct {
	Scheme      string
	Hash        [32]byte // SHA-256 of the module bytes
	ActiveFrom  int64
	RemovedFrom int64 // 0: not removed
}

// ActiveAt reports whether the plugin verifies signatures at height h.
func (s ScheduledPlugin) ActiveAt(h int64) bool {
	return s.ActiveFrom <= h && (s.RemovedFrom == 0 || h < s.RemovedFrom)
}

// PluginSource is how a module that keeps signature plugins in state
// (node/module/plugins) tells the app which to load: the app compiles and
// registers what Schedule returns (docs/spec/plugins.md, "Loading").
type PluginSource struct {
	// Schedule lists, in scheme order, every plugin that verifies at
	// height h or later.
	Schedule func(ctx context.Context, q Querier, h int64) ([]ScheduledPlugin, error)
	// ModuleBytes returns the Wasm module stored for scheme.
	ModuleBytes func(ctx context.Context, q Querier, scheme string) ([]byte, error)
	// Limits returns the Wasm limits in force at height h; the app
	// compiles and runs the plugins for h under them.
	Limits func(ctx context.Context, q Querier, h int64) (wasmhost.Limits, error)
}
