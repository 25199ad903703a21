// Package cmtlog adapts log/slog to CometBFT's libs/log.Logger so the whole
// node (CometBFT and the idOS application) writes one log stream with one
// format and one level setting.
package cmtlog

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// DefaultQuietModules are CometBFT modules whose Info logs are demoted to
// Debug. They log several lines per block or per peer event (proposals,
// votes, dials, RPC requests, index writes), which drowns the useful
// per-block line from the "state" module at the default level. Errors from
// these modules stay errors.
var DefaultQuietModules = []string{
	"consensus", "p2p", "pex", "mempool", "blocksync", "statesync",
	"events", "txindex", "rpc", "rpc-server", "evidence", "light", "proxy",
}

// Options tunes the adapter.
type Options struct {
	// QuietModules lists module names (the value CometBFT passes as
	// "module") whose Info messages are logged at Debug. Nil means
	// DefaultQuietModules; an empty non-nil slice demotes nothing.
	QuietModules []string
}

// Logger implements CometBFT's log.Logger on top of *slog.Logger.
type Logger struct {
	l     *slog.Logger
	quiet map[string]bool
	// demote is true once this logger (or a parent) was bound to a quiet
	// module through With; it is decided once so the per-message path does
	// not inspect keyvals.
	demote bool
}

var _ cmtlog.Logger = (*Logger)(nil)

// New returns a CometBFT logger writing to l. A nil l discards everything.
func New(l *slog.Logger, opts Options) *Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	mods := opts.QuietModules
	if mods == nil {
		mods = DefaultQuietModules
	}
	quiet := make(map[string]bool, len(mods))
	for _, m := range mods {
		quiet[m] = true
	}
	return &Logger{l: l, quiet: quiet}
}

// Debug implements log.Logger.
func (l *Logger) Debug(msg string, keyvals ...interface{}) {
	l.log(slog.LevelDebug, msg, keyvals)
}

// Info implements log.Logger. Messages of quiet modules go to Debug.
func (l *Logger) Info(msg string, keyvals ...interface{}) {
	level := slog.LevelInfo
	if l.demote || l.quiet[moduleOf(keyvals)] {
		level = slog.LevelDebug
	}
	l.log(level, msg, keyvals)
}

// Error implements log.Logger.
func (l *Logger) Error(msg string, keyvals ...interface{}) {
	l.log(slog.LevelError, msg, keyvals)
}

// With implements log.Logger.
func (l *Logger) With(keyvals ...interface{}) cmtlog.Logger {
	return &Logger{
		l:      l.l.With(attrsToAny(toAttrs(keyvals))...),
		quiet:  l.quiet,
		demote: l.demote || l.quiet[moduleOf(keyvals)],
	}
}

func (l *Logger) log(level slog.Level, msg string, keyvals []interface{}) {
	ctx := context.Background()
	// Converting keyvals calls String() on hashes and blocks; skip it when
	// the level is off, which is the common case for consensus debug logs.
	if !l.l.Enabled(ctx, level) {
		return
	}
	l.l.LogAttrs(ctx, level, msg, toAttrs(keyvals)...)
}

// moduleOf returns the value of the "module" key in keyvals, if any.
func moduleOf(keyvals []interface{}) string {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, ok := keyvals[i].(string); ok && k == "module" {
			if v, ok := keyvals[i+1].(string); ok {
				return v
			}
		}
	}
	return ""
}

// badKey is the key slog itself uses for a value without a key.
const badKey = "!BADKEY"

func toAttrs(keyvals []interface{}) []slog.Attr {
	attrs := make([]slog.Attr, 0, (len(keyvals)+1)/2)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 >= len(keyvals) {
			attrs = append(attrs, slog.Any(badKey, value(keyvals[i])))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		attrs = append(attrs, slog.Any(key, value(keyvals[i+1])))
	}
	return attrs
}

func attrsToAny(attrs []slog.Attr) []any {
	out := make([]any, len(attrs))
	for i, a := range attrs {
		out[i] = a
	}
	return out
}

// value turns CometBFT's log values into something both the text and the
// JSON handler render readably: Stringers (hashes, IDs, heights-and-rounds,
// peers) become their String(), errors their message. A JSON handler would
// otherwise marshal HexBytes as base64 and structs field by field.
func value(v interface{}) interface{} {
	switch x := v.(type) {
	case nil:
		return nil
	case error:
		return safeString(x, x.Error)
	case fmt.Stringer:
		return safeString(x, x.String)
	default:
		return v
	}
}

// safeString calls f, tolerating nil pointers whose String method does not
// (a typed nil in a log line must not crash the node).
func safeString(v interface{}, f func() string) (s string) {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return "<nil>"
	}
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("<String panicked: %v>", r)
		}
	}()
	return f()
}
