package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// `govhub bench` drives a running hub over HTTP with the default mix: every response checked, a
// sample of receipts verified (signatures and inclusion in the published checkpoint), and the
// ledger's growth reported beside the requests it logged.
func TestBenchCommand(t *testing.T) {
	h := startHub(t, 30)
	serveBeside(t, h)
	t.Setenv(tokenEnv, "")
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"bench", "--data-dir", h.dir, "--duration", "2s", "--concurrency", "2", "--citizens", "30", "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench = %v\n%s\n%s", err, out.String(), errOut.String())
	}
	var res benchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench --json printed %q: %v", out.String(), err)
	}
	if res.Requests == 0 || res.OK != res.Requests || len(res.Errors) != 0 {
		t.Errorf("bench: %d requests, %d ok, errors %v", res.Requests, res.OK, res.Errors)
	}
	for _, s := range []string{"read", "reveal", "update", "citizen-log"} {
		if res.ByScenario[s].Requests == 0 {
			t.Errorf("the mix ran no %s request: %+v", s, res.ByScenario)
		}
	}
	if res.Logged == 0 || res.Growth < uint64(res.Logged) || res.Receipts == 0 || res.Proofs == 0 {
		t.Errorf("bench: logged %d, ledger growth %d, %d receipts and %d proofs checked", res.Logged, res.Growth, res.Receipts, res.Proofs)
	}

	// One scenario, open loop; and a scenario that does not exist.
	out.Reset()
	if err := run(t.Context(), []string{"bench", "--data-dir", h.dir, "--duration", "1s", "--rate", "20", "--scenario", "read", "--citizens", "30"}, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "open loop at 20/s") || !strings.Contains(out.String(), "read ") {
		t.Errorf("bench --rate 20 --scenario read = %v:\n%s", err, out.String())
	}
	if err := run(t.Context(), []string{"bench", "--data-dir", h.dir, "--scenario", "nope"}, &out, &errOut); exitCode(err) != 2 {
		t.Errorf("bench --scenario nope = %v, want exit 2", err)
	}
}
