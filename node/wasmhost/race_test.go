//go:build race

package wasmhost

// raceEnabled: this test binary runs under the race detector.
const raceEnabled = true
