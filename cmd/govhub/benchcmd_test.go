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
	// The mix draws each request's scenario at random: on a loaded machine two seconds may hold
	// too few requests to draw every one, so the runs go on (at most five) until each was drawn.
	ran := map[string]int{}
	missing := func() []string {
		var m []string
		for _, s := range []string{"read", "reveal", "update", "citizen-log"} {
			if ran[s] == 0 {
				m = append(m, s)
			}
		}
		return m
	}
	for i := 0; i == 0 || len(missing()) > 0 && i < 5; i++ {
		out.Reset()
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
		// Requests still running at the end of the run are waited for, so the ledger grew by
		// exactly the requests logged by receipt (the hub does nothing else meanwhile).
		if res.Logged == 0 || res.Growth != uint64(res.Logged) || res.Receipts == 0 || res.Proofs == 0 {
			t.Errorf("bench: logged %d, ledger growth %d, %d receipts and %d proofs checked", res.Logged, res.Growth, res.Receipts, res.Proofs)
		}
		for s, r := range res.ByScenario {
			ran[s] += r.Requests
		}
		// The embedded store's write gate over the run, from the hub's metrics: the access logs'
		// and the ledger's writes held it, and only one write holds it at a time.
		if g := res.Gate; g == nil || g.Writes == 0 || g.ByCollection["subject_log"] <= 0 || g.ByCollection["ledger_batches"] <= 0 || g.Busy <= 0 || g.Busy > 1.1 {
			t.Errorf("bench: write gate %+v; want writes to subject_log and ledger_batches, busy in (0, 1]", g)
		} else {
			sum := 0.0
			for _, share := range g.ByCollection {
				sum += share
			}
			if d := sum - g.Busy; d > 1e-9 || d < -1e-9 {
				t.Errorf("bench: the write gate's shares by collection add up to %.4f, its busy share is %.4f", sum, g.Busy)
			}
			var n uint64
			for _, w := range g.WritesByCollection {
				n += w
			}
			if n != g.Writes || g.WritesByCollection["ledger_batches"] == 0 || g.HeldMsByCollection["ledger_batches"] <= 0 {
				t.Errorf("bench: writes by collection %v (%d in all, want %d), held %v", g.WritesByCollection, n, g.Writes, g.HeldMsByCollection)
			}
		}
	}
	if m := missing(); len(m) > 0 {
		t.Errorf("the mix ran no %v request in five runs: %v", m, ran)
	}

	// One scenario, open loop; and a scenario that does not exist.
	out.Reset()
	if err := run(t.Context(), []string{"bench", "--data-dir", h.dir, "--duration", "1s", "--rate", "20", "--scenario", "read", "--citizens", "30"}, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "open loop at 20/s") || !strings.Contains(out.String(), "read ") ||
		!strings.Contains(out.String(), "write gate   held ") {
		t.Errorf("bench --rate 20 --scenario read = %v:\n%s", err, out.String())
	}
	if err := run(t.Context(), []string{"bench", "--data-dir", h.dir, "--scenario", "nope"}, &out, &errOut); exitCode(err) != 2 {
		t.Errorf("bench --scenario nope = %v, want exit 2", err)
	}
}
