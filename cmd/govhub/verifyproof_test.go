package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
)

// proofResponse is a GraphQL response as the hub writes it for proof(predicate: "atLeast60") on a
// commitment to months, bound to the request id ctx.
func proofResponse(t *testing.T, months int64, ctx string) (map[string]any, commit.Commitment, []byte) {
	t.Helper()
	r, err := commit.NewBlinding(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := commit.Commit(commit.Int(months), r)
	st := rangeproof.AtLeast(60)
	var proof any
	var raw []byte
	holds := st.Holds(months)
	if holds {
		if raw, err = rangeproof.Prove(rand.Reader, c, months, r, st, []byte(ctx)); err != nil {
			t.Fatal(err)
		}
		proof = hex.EncodeToString(raw)
	}
	pp := map[string]any{
		"holds": holds, "proof": proof, "context": ctx,
		"commitment": map[string]any{"point": c.String(), "version": 140},
		"predicate":  map[string]any{"name": "atLeast60", "statement": map[string]any{"kind": "atLeast", "min": 60, "max": 0}},
	}
	return map[string]any{"data": map[string]any{"citizen": map[string]any{"socialInsurance": map[string]any{
		"contributionMonths": map[string]any{"proof": pp}}}}}, c, raw
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "answer.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestVerifyProof(t *testing.T) {
	resp, c, raw := proofResponse(t, 75, "req-42")
	file := writeJSON(t, resp)
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"verify-proof", file}, &out, &errOut); err != nil {
		t.Fatalf("verify-proof = %v: %s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "OK: data.citizen.socialInsurance.contributionMonths.proof (atLeast60)") || !strings.Contains(out.String(), "v ≥ 60") {
		t.Errorf("output %q", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"verify-proof", file, "--context", "req-42"}, &out, &errOut); err != nil {
		t.Errorf("--context req-42: %v: %s", err, out.String())
	}

	// By flags.
	out.Reset()
	args := []string{"verify-proof", "--commitment", c.String(), "--kind", "atLeast", "--min", "60", "--context", "req-42", "--proof", hex.EncodeToString(raw)}
	if err := run(t.Context(), args, &out, &errOut); err != nil {
		t.Errorf("by flags: %v: %s", err, out.String())
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"another access", []string{"verify-proof", file, "--context", "req-43"}, `bound to context "req-42", not "req-43"`},
		{"another threshold", []string{"verify-proof", "--commitment", c.String(), "--kind", "atLeast", "--min", "61", "--context", "req-42", "--proof", hex.EncodeToString(raw)}, "does not verify"},
		{"another context", []string{"verify-proof", "--commitment", c.String(), "--kind", "atLeast", "--min", "60", "--context", "req-43", "--proof", hex.EncodeToString(raw)}, "does not verify"},
		{"truncated", []string{"verify-proof", "--commitment", c.String(), "--kind", "atLeast", "--min", "60", "--context", "req-42", "--proof", hex.EncodeToString(raw[:100])}, "malformed"},
		{"bad statement", []string{"verify-proof", "--commitment", c.String(), "--kind", "atLeast", "--min", "60", "--max", "3", "--context", "req-42", "--proof", hex.EncodeToString(raw)}, "statement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), tc.args, &out, &errOut)
			if exitCode(err) != 1 || !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), tc.want) {
				t.Errorf("exit %d (%v), output %q, want FAIL mentioning %q", exitCode(err), err, out.String(), tc.want)
			}
		})
	}

	// A predicate that does not hold has no proof: nothing verifies.
	resp, _, _ = proofResponse(t, 12, "req-44")
	out.Reset()
	err := run(t.Context(), []string{"verify-proof", writeJSON(t, resp)}, &out, &errOut)
	if exitCode(err) != 1 || !strings.Contains(out.String(), "does not hold") {
		t.Errorf("false predicate: exit %d, output %q", exitCode(err), out.String())
	}

	// Usage.
	out.Reset()
	errOut.Reset()
	if err := run(t.Context(), []string{"verify-proof", "-h"}, &out, &errOut); exitCode(err) != 0 || !strings.Contains(errOut.String(), "verify-proof FILE") {
		t.Errorf("-h: exit %d, %q", exitCode(err), errOut.String())
	}
	if err := run(t.Context(), []string{"verify-proof"}, &out, &errOut); exitCode(err) != 2 {
		t.Errorf("no arguments: exit %d, want 2", exitCode(err))
	}
}

// TestVerifyProofHubAnswer checks an answer the hub wrote (graph's TestProofGranted, on the
// embedded store, saved to testdata/proof-answer.json): a housing clerk's
// proof(predicate: "atLeast60") for request req-test-1.
func TestVerifyProofHubAnswer(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"verify-proof", "testdata/proof-answer.json", "--context", "req-test-1"}, &out, &errOut); err != nil {
		t.Fatalf("verify-proof = %v: %s", err, out.String())
	}
	if !strings.Contains(out.String(), "OK:") || !strings.Contains(out.String(), "atLeast60") {
		t.Errorf("output %q", out.String())
	}
	b, err := os.ReadFile("testdata/proof-answer.json")
	if err != nil {
		t.Fatal(err)
	}
	// The same answer with its threshold raised no longer verifies.
	f := writeRaw(t, bytes.Replace(b, []byte(`"min":60`), []byte(`"min":61`), 1))
	out.Reset()
	if err := run(t.Context(), []string{"verify-proof", f}, &out, &errOut); exitCode(err) != 1 || !strings.Contains(out.String(), "does not verify") {
		t.Errorf("raised threshold: exit %d, %q", exitCode(err), out.String())
	}
}

func writeRaw(t *testing.T, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "answer.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
