package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/idos-network/idos-node/node/home"
)

// newLogger builds the process logger; level and format are validated.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	if err := home.ValidateLogLevel(level); err != nil {
		return nil, err
	}
	if err := home.ValidateLogFormat(format); err != nil {
		return nil, err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
