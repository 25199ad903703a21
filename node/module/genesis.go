package module

import (
	"context"
	"database/sql"
)

// GenesisSection is a module's section of genesis app_state, stored under
// the module's name. The app decodes app_state strictly over every
// section's default (a field left out keeps its default, an unknown field
// is an error) and commits to the canonical encoding: compact JSON with
// max_tx_bytes first, then the sections in module order, each field in
// struct order.
type GenesisSection struct {
	// Default returns a pointer to a new value holding the defaults; its
	// type is the section's type (a struct).
	Default func() any
	// Validate checks the decoded value (the pointer Default returned) and
	// may normalise it (null lists to empty ones, say) before it is
	// encoded.
	Validate func(v any) error
}

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
}
