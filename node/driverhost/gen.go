package driverhost

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o testdata/hostile.wasm ./testdata/hostile
