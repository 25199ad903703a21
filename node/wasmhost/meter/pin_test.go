package meter

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// The metered bytes are consensus-critical (their hash is in the plugins
// table, and fuel decides whether a transaction passes), so the output for
// one shipped plugin is pinned next to Version. A change of the rewriter or
// the cost table fails here first: increment Version, then update both
// pins, and say in the commit message that it is a consensus change (the
// app hashes in node/app/testdata/golden_heights.txt change with it).
func TestOutputPinnedToVersion(t *testing.T) {
	const (
		pinnedVersion = 4
		// sha256 of sigplugins/solana/solana.wasm, the input.
		solanaInput = "f9ed42d33a9909da9c5e11d181117b04c4525d1ebfc8a5229f608fefc95f3675"
		// sha256 of Instrument(solana.wasm).Wasm at pinnedVersion.
		solanaMetered = "1a4b6345f21e4a452d044aeb931e36e70f6fceef0e41a2f243ce22ee913e93c8"
	)
	wasm, err := os.ReadFile(filepath.Join("..", "..", "..", "sigplugins", "solana", "solana.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if in := sha256.Sum256(wasm); hex.EncodeToString(in[:]) != solanaInput {
		t.Fatalf("solana.wasm has sha256 %x, the pin was made for %s: rebuilt plugin? update solanaInput and solanaMetered together", in, solanaInput)
	}
	m, err := Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	out := sha256.Sum256(m.Wasm)
	got := hex.EncodeToString(out[:])
	switch {
	case Version != pinnedVersion:
		t.Fatalf("meter.Version is %d, the pin is for %d: update pinnedVersion and solanaMetered (now %s)", Version, pinnedVersion, got)
	case got != solanaMetered:
		t.Fatalf("Instrument(solana.wasm) has sha256 %s, pinned %s at Version %d: the metered output changed, which is a consensus change; increment Version and update the pin", got, solanaMetered, Version)
	}
}
