package home_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/retain"
)

// TestRetainDefault: Init writes a window the rules accept at the chosen
// block interval: 1,000,000 blocks at 1 s, more when blocks come faster.
func TestRetainDefault(t *testing.T) {
	for i, tc := range []struct {
		timeoutCommit time.Duration
		opt, want     int64
	}{
		{time.Second, 0, home.DefaultRetainBlocks}, // 0: the default
		{100 * time.Millisecond, 0, 6_048_000},     // 1: 168h at 100 ms blocks
		{time.Second, 2_000_000, 2_000_000},        // 2: given
		{time.Second, -1, 0},                       // 3: negative: keep every block
	} {
		dir := filepath.Join(t.TempDir(), "node")
		if err := home.Init(dir, home.Options{TimeoutCommit: tc.timeoutCommit, RetainBlocks: tc.opt, GenesisTime: genesisTime}); err != nil {
			t.Fatal(err)
		}
		h, err := home.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if h.App.RetainBlocks != tc.want || h.App.LightTrustingPeriod != "168h" {
			t.Errorf("%d: retain_blocks %d light_trusting_period %q, want %d 168h", i, h.App.RetainBlocks, h.App.LightTrustingPeriod, tc.want)
		}
		if err := h.CheckRetain(); err != nil {
			t.Errorf("%d: the written default is refused: %v", i, err)
		}
	}
}

// TestCheckRetain: a node home whose window breaks a rule is refused with
// a WindowError naming the rule.
func TestCheckRetain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if err := home.Init(dir, home.Options{TimeoutCommit: time.Second, GenesisTime: genesisTime}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The genesis has CometBFT's default evidence age, 100,000 blocks.
	for i, tc := range []struct {
		blocks int64
		period string
		rule   string // "" means accepted
	}{
		{0, "168h", ""},                           // 0: keep everything
		{100_000, "1h", retain.RuleEvidence},      // 1: evidence age not exceeded
		{100_001, "1h", ""},                       // 2: 1h is 3,600 blocks
		{100_001, "168h", retain.RuleLightClient}, // 3: 604,800 blocks needed
		{604_800, "168h", ""},                     // 4
	} {
		h.App.RetainBlocks, h.App.LightTrustingPeriod = tc.blocks, tc.period
		err := h.CheckRetain()
		var we *retain.WindowError
		switch {
		case tc.rule == "" && err != nil:
			t.Errorf("%d: %v", i, err)
		case tc.rule != "" && (!errors.As(err, &we) || we.Rule != tc.rule):
			t.Errorf("%d: err = %v, want rule %q", i, err, tc.rule)
		}
	}
}

// TestRetainConfigValidation: idos.json with a negative window or an
// unparsable trusting period does not load.
func TestRetainConfigValidation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if err := home.Init(dir, home.Options{GenesisTime: genesisTime}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config", home.AppConfigFile)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		from, to string
		window   bool // a retain.WindowError
	}{
		{`"retain_blocks": 1000000`, `"retain_blocks": -5`, true},
		{`"light_trusting_period": "168h"`, `"light_trusting_period": "a week"`, false},
		{`"light_trusting_period": "168h"`, `"light_trusting_period": "-1h"`, false},
	} {
		if !strings.Contains(string(orig), tc.from) {
			t.Fatalf("%d: %s not in %s", i, tc.from, orig)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(orig), tc.from, tc.to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := home.Load(dir)
		if err == nil {
			t.Errorf("%d: %s loaded", i, tc.to)
		} else if errors.Is(err, retain.ErrWindow) != tc.window {
			t.Errorf("%d: err = %v; a WindowError: %v, want %v", i, err, !tc.window, tc.window)
		}
	}
}
