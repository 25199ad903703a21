// Package bench holds end-to-end benchmarks that run real nodes: signed
// transactions submitted over CometBFT's RPC until they are committed. They
// are slow, so `go test ./...` skips them by running no benchmark; run them
// with `go tool task bench` (numbers in docs/BENCHMARKS.md).
package bench
