//go:build !wasip1

package sigplugins_test

import (
	"context"
	"errors"
	"testing"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// TestNodeHost registers each shipped plugin with the node's own runtime
// (node/wasmhost) and runs the plugins' vectors through it, as a transaction
// naming the scheme would.
func TestNodeHost(t *testing.T) {
	ctx := context.Background()
	rt, err := wasmhost.NewRuntime(ctx, wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	for _, p := range plugins {
		t.Run(p.name, func(t *testing.T) {
			plugin, err := rt.Register(ctx, readWasm(t, p.name))
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			defer plugin.Close(ctx)
			if m := plugin.Metadata(); plugin.Name() != p.scheme || m.KeyType != p.keyType || m.ABI != 1 {
				t.Fatalf("metadata = %+v", m)
			}
			var maxFuel uint64
			for _, c := range p.allCalls(t) {
				id, fuel, err := plugin.VerifyFuel(mustHex(t, c.signer), mustHex(t, c.msg), mustHex(t, c.sig))
				maxFuel = max(maxFuel, fuel)
				switch c.status {
				case 0:
					if err != nil || id != c.text {
						t.Errorf("%s: Verify = %q, %v; want %q", c.name, id, err, c.text)
					}
				case 1:
					if !errors.Is(err, auth.ErrInvalidSignature) || id != "" {
						t.Errorf("%s: Verify = %q, %v; want an invalid signature", c.name, id, err)
					}
				case 2:
					if !errors.Is(err, auth.ErrInvalidSigner) || id != "" {
						t.Errorf("%s: Verify = %q, %v; want an invalid signer", c.name, id, err)
					}
				}
			}
			// Within the default limit with room to spare: the limit is
			// chosen for time (docs/BENCHMARKS.md), not for these plugins.
			if maxFuel > wasmhost.DefaultFuelLimit/20 {
				t.Errorf("a vector used %d fuel, more than 1/20 of the default limit %d", maxFuel, uint64(wasmhost.DefaultFuelLimit))
			}
			t.Logf("%s: at most %d fuel per verification over %d calls", p.name, maxFuel, len(p.allCalls(t)))
		})
	}
}
