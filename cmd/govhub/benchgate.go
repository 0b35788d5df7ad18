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

// How busy the embedded store's one writer was during a bench run: the hub's write-gate counters
// (govhub_store_write_gate_*, writeGateCollector) read from /metrics before and after the run.

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

// gate reads the write gate's counters from the hub's /metrics (nil: the hub reports none, as a
// hub on a database reached by URI does).
func (b *bencher) gate(ctx context.Context, tok string) (map[string]gateSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+metricsPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the hub's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the hub's metrics: HTTP %d", resp.StatusCode)
	}
	return parseGate(resp.Body)
}

// parseGate picks the write gate's counters out of metrics in the Prometheus text format.
func parseGate(r io.Reader) (map[string]gateSample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("reading the hub's metrics: %w", err)
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
	return out, nil
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
	colls := make([]string, 0, len(g.ByCollection))
	for c, share := range g.ByCollection {
		if share >= 0.01 {
			colls = append(colls, c)
		}
	}
	sort.Slice(colls, func(i, j int) bool { return g.ByCollection[colls[i]] > g.ByCollection[colls[j]] })
	parts := make([]string, len(colls))
	for i, c := range colls {
		parts[i] = fmt.Sprintf("%s %.0f%%", c, 100*g.ByCollection[c])
	}
	fmt.Fprintf(w, "write gate   held %.0f%% of the run (%s); %d writes, %.1f ms average wait\n",
		100*g.Busy, strings.Join(parts, ", "), g.Writes, g.AvgWaitMs)
}
