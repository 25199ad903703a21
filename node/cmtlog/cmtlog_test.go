package cmtlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
)

func newJSON(level slog.Level) (*bytes.Buffer, *Logger) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level})
	return &buf, New(slog.New(h), Options{})
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLevelsAndValues(t *testing.T) {
	buf, l := newJSON(slog.LevelInfo)
	var nilHash *nilStringer
	l.With("module", "state").Info("finalized block", "height", 5, "hash", cmtbytes.HexBytes{0xab, 0xcd}, "nil", nilHash)
	l.Error("failed", "err", errors.New("boom"), "dangling")
	l.Debug("hidden")
	got := lines(t, buf)
	if len(got) != 2 {
		t.Fatalf("got %d lines: %s", len(got), buf)
	}
	if got[0]["level"] != "INFO" || got[0]["module"] != "state" || got[0]["hash"] != "ABCD" || got[0]["height"] != 5.0 || got[0]["nil"] != "<nil>" {
		t.Errorf("info line = %v", got[0])
	}
	if got[1]["level"] != "ERROR" || got[1]["err"] != "boom" || got[1]["!BADKEY"] != "dangling" {
		t.Errorf("error line = %v", got[1])
	}
}

func TestQuietModules(t *testing.T) {
	buf, l := newJSON(slog.LevelInfo)
	l.With("module", "consensus").Info("received proposal")
	l.With("module", "p2p").With("peer", "x").Info("dialing")
	l.Info("inline module", "module", "pex")
	l.With("module", "consensus").Error("consensus failure")
	got := lines(t, buf)
	if len(got) != 1 || got[0]["msg"] != "consensus failure" {
		t.Errorf("quiet modules leaked at info: %s", buf)
	}

	buf, l = newJSON(slog.LevelDebug)
	l.With("module", "consensus").Info("received proposal")
	if got := lines(t, buf); len(got) != 1 || got[0]["level"] != "DEBUG" {
		t.Errorf("demoted line = %s", buf)
	}
}

type nilStringer struct{ s string }

func (n *nilStringer) String() string { return n.s }
