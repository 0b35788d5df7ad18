//go:build js && wasm

// Command rangeproofwasm is the threshold-proof verifier of crypto/rangeproof compiled to
// WebAssembly, so that a browser checks a certificate's proofs with the very code the hub and
// `govhub verify-certificate` use (the browser has no BLS12-381 of its own). `go generate ./web`
// builds it into web/static/rangeproof.wasm, with Go's wasm_exec.js beside it.
//
// It sets one global function,
//
//	govhubVerifyRangeProof(commitmentHex, statementJSON, contextBase64, proofBase64) → string
//
// which returns "" when the proof shows that the value committed to by the commitment (compressed
// BLS12-381 G1, hex) satisfies the statement ({"kind": "atLeast"|"atMost"|"between", "min": n,
// "max": n}) under the context, and otherwise the reason it does not. Then it stays alive for
// further calls.
package main

import (
	"encoding/base64"
	"encoding/json"
	"syscall/js"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
)

func verify(commitmentHex, statementJSON, contextB64, proofB64 string) string {
	c, err := commit.ParseCommitment(commitmentHex)
	if err != nil {
		return "commitment: " + err.Error()
	}
	var s rangeproof.Statement
	if err := json.Unmarshal([]byte(statementJSON), &s); err != nil {
		return "statement: " + err.Error()
	}
	ctx, err := base64.StdEncoding.DecodeString(contextB64)
	if err != nil {
		return "context: " + err.Error()
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil {
		return "proof: " + err.Error()
	}
	if err := rangeproof.Verify(c, s, ctx, proof); err != nil {
		return err.Error()
	}
	return ""
}

func main() {
	js.Global().Set("govhubVerifyRangeProof", js.FuncOf(func(this js.Value, args []js.Value) any {
		if len(args) != 4 {
			return "want 4 arguments: commitment (hex), statement (JSON), context (base64), proof (base64)"
		}
		return verify(args[0].String(), args[1].String(), args[2].String(), args[3].String())
	}))
	select {}
}
