package main

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
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

// The bench's write-gate line from two readings of /metrics: the counters by collection, their
// differences over the span, and no line without both readings (a hub without a gate, or whose
// metrics could not be read).
func TestBenchGate(t *testing.T) {
	const before = `# TYPE govhub_store_write_gate_held_seconds_total counter
govhub_store_write_gate_held_seconds_total{collection="ledger_batches"} 1
govhub_store_write_gate_held_seconds_total{collection="subject_log"} 2
govhub_store_write_gate_waited_seconds_total{collection="subject_log"} 1
govhub_store_write_gate_writes_total{collection="ledger_batches"} 100
govhub_store_write_gate_writes_total{collection="subject_log"} 300
go_goroutines 12
`
	const after = `govhub_store_write_gate_held_seconds_total{collection="ledger_batches"} 2.5
govhub_store_write_gate_held_seconds_total{collection="subject_log"} 6
govhub_store_write_gate_held_seconds_total{collection="subjects"} 0.5
govhub_store_write_gate_waited_seconds_total{collection="subject_log"} 3
govhub_store_write_gate_writes_total{collection="ledger_batches"} 400
govhub_store_write_gate_writes_total{collection="subject_log"} 800
govhub_store_write_gate_writes_total{collection="subjects"} 100
`
	rb, err := parseStore(strings.NewReader(before))
	b := rb.gate
	if err != nil || len(b) != 2 || b["subject_log"] != (gateSample{writes: 300, waited: 1, held: 2}) || rb.commands != nil {
		t.Fatalf("parseStore(before) = %+v, %v", rb, err)
	}
	ra, err := parseStore(strings.NewReader(after))
	a := ra.gate
	if err != nil || len(a) != 3 {
		t.Fatalf("parseStore(after) = %+v, %v", ra, err)
	}
	g := gateOver(b, a, 10*time.Second)
	want := &benchGate{Busy: 0.6, Writes: 900, AvgWaitMs: 2000.0 / 900,
		ByCollection:       map[string]float64{"ledger_batches": 0.15, "subject_log": 0.4, "subjects": 0.05},
		WritesByCollection: map[string]uint64{"ledger_batches": 300, "subject_log": 500, "subjects": 100},
		HeldMsByCollection: map[string]float64{"ledger_batches": 1500, "subject_log": 4000, "subjects": 500}}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("gateOver = %+v, want %+v", g, want)
	}
	var out bytes.Buffer
	printGate(&out, g)
	if got := out.String(); got != "write gate   held 60% of the run (subject_log 40%, ledger_batches 15%, subjects 5%); 900 writes, 2.2 ms average wait\n" {
		t.Errorf("printGate = %q", got)
	}
	if gateOver(nil, a, time.Second) != nil || gateOver(b, nil, time.Second) != nil {
		t.Errorf("gateOver without both readings is not nil")
	}
	if _, err := parseStore(strings.NewReader("govhub_store_write_gate_writes_total{collection=\"x\" 1\n")); err == nil {
		t.Errorf("parseStore of malformed metrics: no error")
	}
}

// The bench's line of database commands from two readings of /metrics: counts and times by
// command and collection, per request of the run, and no line without both readings.
func TestBenchCommands(t *testing.T) {
	const before = `# TYPE govhub_store_commands_total counter
govhub_store_commands_total{command="find",collection="subject_log"} 10
govhub_store_command_seconds_total{command="find",collection="subject_log"} 1
govhub_store_commands_total{command="ping",collection=""} 3
`
	const after = `govhub_store_commands_total{command="find",collection="subject_log"} 210
govhub_store_command_seconds_total{command="find",collection="subject_log"} 1.5
govhub_store_commands_total{command="insert",collection="subjects"} 25
govhub_store_command_seconds_total{command="insert",collection="subjects"} 0.05
govhub_store_commands_total{command="ping",collection=""} 4
`
	rb, err := parseStore(strings.NewReader(before))
	if err != nil || rb.gate != nil || len(rb.commands) != 2 || rb.commands["find subject_log"] != (commandSample{n: 10, seconds: 1}) {
		t.Fatalf("parseStore(before) = %+v, %v", rb, err)
	}
	ra, err := parseStore(strings.NewReader(after))
	if err != nil || len(ra.commands) != 3 || ra.commands["ping"] != (commandSample{n: 4}) {
		t.Fatalf("parseStore(after) = %+v, %v", ra, err)
	}
	c := commandsOver(rb.commands, ra.commands, 100)
	want := &benchCommands{PerRequest: 2.26,
		ByCommand:   map[string]float64{"find subject_log": 2, "insert subjects": 0.25, "ping": 0.01},
		MsByCommand: map[string]float64{"find subject_log": 2.5, "insert subjects": 2, "ping": 0}}
	if c == nil || math.Abs(c.PerRequest-want.PerRequest) > 1e-9 || !reflect.DeepEqual(c.ByCommand, want.ByCommand) || !reflect.DeepEqual(c.MsByCommand, want.MsByCommand) {
		t.Errorf("commandsOver = %+v, want %+v", c, want)
	}
	var out bytes.Buffer
	printCommands(&out, c)
	if got := out.String(); got != "store        2.3 database commands a request: find subject_log 2.00 (2.5 ms), insert subjects 0.25 (2.0 ms)\n" {
		t.Errorf("printCommands = %q", got)
	}
	if commandsOver(nil, ra.commands, 100) != nil || commandsOver(rb.commands, nil, 100) != nil || commandsOver(rb.commands, ra.commands, 0) != nil {
		t.Errorf("commandsOver without both readings or requests is not nil")
	}
}
