package runner_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/idos-network/idos-node/internal/testnet"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/retain"
	"github.com/idos-network/idos-node/node/runner"
)

// TestStartRefusesShortWindow: a window shorter than the genesis evidence
// age stops the node before anything starts, naming the rule.
func TestStartRefusesShortWindow(t *testing.T) {
	dir := filepath.Join(testnet.TempDir(t), "node")
	if err := home.Init(dir, home.Options{GatewayListenAddr: "127.0.0.1:0", RetainBlocks: 10}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.Start(context.Background(), h, nil)
	var we *retain.WindowError
	if !errors.As(err, &we) || we.Rule != retain.RuleEvidence {
		if r != nil {
			_ = r.Stop()
		}
		t.Fatalf("Start = %v, want a WindowError for %s", err, retain.RuleEvidence)
	}
}
