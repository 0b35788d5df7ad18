package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets from the issue the load command measures against.
const (
	targetThroughput   = 20_000                  // entries/s sustained
	targetLowLoadRatio = 2                       // low-load Append p50 within this many store inserts
	targetPublishedP99 = 1500 * time.Millisecond // append → published checkpoint, p99
)

// percentile is the nearest-rank p-th percentile of ds (which it does not change).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	return s[max(rank, 1)-1]
}

// dist is a latency distribution's summary.
type dist struct{ p50, p90, p99, max time.Duration }

func summarize(ds []time.Duration) dist {
	return dist{percentile(ds, 50), percentile(ds, 90), percentile(ds, 99), percentile(ds, 100)}
}

// ms formats d in milliseconds, with three significant digits or more.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// row is one line of the results table.
type row struct {
	name, callers string
	entries       int
	elapsed       time.Duration
	retries       int64
	append        dist
	published     *dist // nil: not applicable
}

func (r row) rate() float64 { return float64(r.entries) / r.elapsed.Seconds() }

// writeTable prints the rows as an aligned table, latencies in milliseconds.
func writeTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tcallers\tentries\tseconds\tentries/s\tretries\t"+
		"append p50\tp90\tp99\tmax\tpublished p50\tp99\tmax\t")
	for _, r := range rows {
		pub := "-\t-\t-"
		if r.published != nil {
			pub = ms(r.published.p50) + "\t" + ms(r.published.p99) + "\t" + ms(r.published.max)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t\n",
			r.name, r.callers, r.entries, r.elapsed.Seconds(), r.rate(), r.retries,
			ms(r.append.p50), ms(r.append.p90), ms(r.append.p99), ms(r.append.max), pub)
	}
	return tw.Flush()
}

// memory is the process's resident set: now and at its peak, in bytes (0 when unknown).
type memory struct{ rss, peak int64 }

// readMemory reads VmRSS and VmHWM from /proc/self/status (Linux only).
func readMemory() memory {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return memory{}
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.peak = kb << 10
		}
	}
	return m
}

func mib(n int64) string {
	if n == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// verdict says whether got met a target, and by how much it missed.
func verdict(met bool, got, want float64) string {
	if met {
		return "met"
	}
	return fmt.Sprintf("MISSED by %.0f%%", 100*abs(got-want)/want)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// commandLine renders args as a shell command line.
func commandLine(name string, args []string) string {
	out := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}
