package web

// The browser's threshold-proof verifier: crypto/rangeproof compiled to WebAssembly
// (internal/cmd/rangeproofwasm), and the Go runtime's loader for it, copied from the toolchain.
//go:generate env GOOS=js GOARCH=wasm CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid=" -o static/rangeproof.wasm ../internal/cmd/rangeproofwasm
//go:generate cp $GOROOT/lib/wasm/wasm_exec.js static/wasm_exec.js
