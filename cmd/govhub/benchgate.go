package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The store during a bench run, from the hub's /metrics read before and after it: how busy the
// embedded store's one writer was (govhub_store_write_gate_*, writeGateCollector), and the commands
// the hub sent its database (govhub_store_command*, storeCommands).

// gateSample is the write gate's counters of one collection at one time.
type gateSample struct {
	writes, waited, held float64
}

// benchGate is the write gate over a run: the share of the run's wall-clock time it was held, in
// all and by collection, and the writes it admitted with their average wait.
type benchGate struct {
	Busy         float64            `json:"busy"`
	ByCollection map[string]float64 `json:"byCollection"`
	Writes       uint64             `json:"writes"`
	AvgWaitMs    float64            `json:"avgWaitMs"`
	// WritesByCollection and HeldMsByCollection: the writes to each collection and their time
	// holding the gate, whence a collection's cost a write.
	WritesByCollection map[string]uint64  `json:"writesByCollection"`
	HeldMsByCollection map[string]float64 `json:"heldMsByCollection"`
}

// commandSample is the counters of one command on one collection ("find subject_log") at one time.
type commandSample struct {
	n, seconds float64
}

// storeReading is the store's counters at one time: the write gate's by collection (nil: the hub
// reports none, as a hub on a database reached by URI does), and the commands sent by command and
// collection (nil: none reported).
type storeReading struct {
	gate     map[string]gateSample
	commands map[string]commandSample
}

// benchCommands is the commands the hub sent its database over a run, per request of the run.
type benchCommands struct {
	PerRequest float64 `json:"perRequest"`
	// ByCommand: each command and collection's count per request, and its average time in ms
	// from sending to reply.
	ByCommand   map[string]float64 `json:"byCommand"`
	MsByCommand map[string]float64 `json:"msByCommand"`
}

// storeMetrics reads the store's counters from the hub's /metrics.
func (b *bencher) storeMetrics(ctx context.Context, tok string) (storeReading, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+metricsPath, nil)
	if err != nil {
		return storeReading{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.http.Do(req)
	if err != nil {
		return storeReading{}, fmt.Errorf("reading the hub's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return storeReading{}, fmt.Errorf("reading the hub's metrics: HTTP %d", resp.StatusCode)
	}
	return parseStore(resp.Body)
}

// parseStore picks the store's counters out of metrics in the Prometheus text format.
func parseStore(r io.Reader) (storeReading, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return storeReading{}, fmt.Errorf("reading the hub's metrics: %w", err)
	}
	var out map[string]gateSample
	for name, set := range map[string]func(*gateSample, float64){
		"govhub_store_write_gate_writes_total":         func(s *gateSample, v float64) { s.writes = v },
		"govhub_store_write_gate_waited_seconds_total": func(s *gateSample, v float64) { s.waited = v },
		"govhub_store_write_gate_held_seconds_total":   func(s *gateSample, v float64) { s.held = v },
	} {
		f := families[name]
		if f == nil {
			continue
		}
		for _, m := range f.GetMetric() {
			coll := labelValue(m, "collection")
			if out == nil {
				out = map[string]gateSample{}
			}
			s := out[coll]
			set(&s, metricValue(m))
			out[coll] = s
		}
	}
	var cmds map[string]commandSample
	for name, set := range map[string]func(*commandSample, float64){
		"govhub_store_commands_total":        func(s *commandSample, v float64) { s.n = v },
		"govhub_store_command_seconds_total": func(s *commandSample, v float64) { s.seconds = v },
	} {
		for _, m := range families[name].GetMetric() {
			key := strings.TrimSpace(labelValue(m, "command") + " " + labelValue(m, "collection"))
			if cmds == nil {
				cmds = map[string]commandSample{}
			}
			s := cmds[key]
			set(&s, metricValue(m))
			cmds[key] = s
		}
	}
	return storeReading{gate: out, commands: cmds}, nil
}

// commandsOver is the commands sent between two readings, per request of the requests made
// between them (nil without both readings or without requests).
func commandsOver(before, after map[string]commandSample, requests int) *benchCommands {
	if before == nil || after == nil || requests <= 0 {
		return nil
	}
	c := &benchCommands{ByCommand: map[string]float64{}, MsByCommand: map[string]float64{}}
	var all float64
	for k, a := range after {
		b := before[k] // a command first sent during the run was zero before it
		n := a.n - b.n
		if n <= 0 {
			continue
		}
		all += n
		c.ByCommand[k] = n / float64(requests)
		c.MsByCommand[k] = (a.seconds - b.seconds) / n * 1000
	}
	c.PerRequest = all / float64(requests)
	return c
}

// printCommands writes the commands' line of a bench summary: the commands a request sent in all,
// then those sent 0.05 times a request or more, most first, with their average time.
func printCommands(w io.Writer, c *benchCommands) {
	if c == nil {
		return
	}
	keys := largestFirst(c.ByCommand, 0.05)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f (%.1f ms)", k, c.ByCommand[k], c.MsByCommand[k])
	}
	fmt.Fprintf(w, "store        %.1f database commands a request: %s\n", c.PerRequest, strings.Join(parts, ", "))
}

// metricValue is a sample's value, whether typed as a counter (as the hub serves them) or not.
func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return m.GetGauge().GetValue()
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// gateOver is the write gate between two readings taken span apart (nil without both readings).
func gateOver(before, after map[string]gateSample, span time.Duration) *benchGate {
	if before == nil || after == nil || span <= 0 {
		return nil
	}
	g := &benchGate{ByCollection: map[string]float64{}, WritesByCollection: map[string]uint64{}, HeldMsByCollection: map[string]float64{}}
	var writes, waited, held float64
	for coll, a := range after {
		b := before[coll] // a collection first written during the run was zero before it
		held += a.held - b.held
		waited += a.waited - b.waited
		writes += a.writes - b.writes
		if share := (a.held - b.held) / span.Seconds(); share > 0 {
			g.ByCollection[coll] = share
			g.HeldMsByCollection[coll] = (a.held - b.held) * 1000
		}
		if n := a.writes - b.writes; n > 0 {
			g.WritesByCollection[coll] = uint64(n)
		}
	}
	g.Busy = held / span.Seconds()
	g.Writes = uint64(writes)
	if writes > 0 {
		g.AvgWaitMs = waited / writes * 1000
	}
	return g
}

// printGate writes the gate's line of a bench summary: its busy share, then the collections that
// held it for 1 % of the run or more, largest first.
func printGate(w io.Writer, g *benchGate) {
	if g == nil {
		return
	}
	colls := largestFirst(g.ByCollection, 0.01)
	parts := make([]string, len(colls))
	for i, c := range colls {
		parts[i] = fmt.Sprintf("%s %.0f%%", c, 100*g.ByCollection[c])
	}
	fmt.Fprintf(w, "write gate   held %.0f%% of the run (%s); %d writes, %.1f ms average wait\n",
		100*g.Busy, strings.Join(parts, ", "), g.Writes, g.AvgWaitMs)
}

// largestFirst returns the keys of m whose values are at least least, largest value first (equal
// values by key).
func largestFirst(m map[string]float64, least float64) []string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v >= least {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
