package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

// verifyDirEnv names a data directory BenchmarkLedgerVerify seeds once and reuses: seeding 100,000
// citizens takes minutes.
const verifyDirEnv = "GOVHUB_BENCH_VERIFY_DIR"

// BenchmarkLedgerVerify measures the two passes of `govhub ledger verify` as the command runs
// them, on a stopped hub's embedded store seeded with GOVHUB_BENCH_CITIZENS demo citizens (default
// 1000; every record written by an import update entry): the entries pass (ledger.Verify) and the
// records pass (hub.AuditRecords). It reports entries/s and records/s, the process's CPU time per
// entry and per record (the embedded FerretDB's included; steadier than the wall clock on a shared
// machine), the seconds the records pass
// spends reading the update entries, and the most heap in use during the records pass above what
// was in use before it (heap-MB, sampled as it reports progress).
//
//	go test ./cmd/govhub -run '^$' -bench LedgerVerify -benchtime 3x
//	GOVHUB_BENCH_CITIZENS=100000 GOVHUB_BENCH_VERIFY_DIR=/tmp/govhub-verify-100k go test ./cmd/govhub -run '^$' -bench LedgerVerify -benchtime 1x -timeout 60m
//
// With GOVHUB_BENCH_VERIFY_DIR set, the directory is seeded on the first run and kept; later runs
// reuse it (whatever number of citizens it was seeded with).
func BenchmarkLedgerVerify(b *testing.B) {
	ctx := b.Context()
	dir, citizens := verifyBenchDir(b)
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as cmdLedgerVerify does
	h := &testHub{t: b, dir: dir}
	cfg := h.config()
	st, err := openStorage(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer st.close(context.WithoutCancel(ctx))
	k, err := logKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	index, err := readHubKey(dir, "index.key", keys.ReadSymmetric)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("entries", func(b *testing.B) {
		var n uint64
		start, cpu := time.Now(), cpuTime()
		for b.Loop() {
			rep, err := ledger.Verify(ctx, st.ledgerStore, k.Verifier)
			if err != nil {
				b.Fatalf("ledger.Verify = %v", err)
			}
			n += rep.Entries
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(n), "cpu-µs/entry")
		b.ReportMetric(float64(n)/float64(b.N), "entries")
		b.ReportMetric(float64(citizens), "citizens")
	})

	b.Run("records", func(b *testing.B) {
		lg, err := st.openLedger(ctx, k)
		if err != nil {
			b.Fatal(err)
		}
		defer lg.Shutdown(context.WithoutCancel(ctx))
		if err := lg.WaitCaughtUp(ctx); err != nil {
			b.Fatal(err)
		}
		var (
			n       int
			reading time.Duration // reading the update entries, the first stage
			peak    uint64        // heap in use above base
		)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
		start, cpu := time.Now(), cpuTime()
		for b.Loop() {
			runtime.GC()
			base, began, calls := heap(), time.Now(), 0
			rep, err := hub.AuditRecords(ctx, lg.Reader(), st.store, index, hub.WithAuditProgress(func(s hub.AuditStage, done, total uint64) {
				if s == hub.AuditCheckingRecords && !began.IsZero() {
					reading += time.Since(began)
					began = time.Time{}
				}
				if calls++; calls%64 == 0 || s == hub.AuditCheckingRecords {
					if h := heap(); h > base {
						peak = max(peak, h-base)
					}
				}
			}))
			if err != nil {
				b.Fatalf("hub.AuditRecords = %v", err)
			}
			if len(rep.Problems) > 0 {
				b.Fatalf("hub.AuditRecords found %d problems, the first: %s", len(rep.Problems), rep.Problems[0])
			}
			n += rep.Records
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(n), "cpu-µs/record")
		b.ReportMetric(reading.Seconds()/float64(b.N), "s-reading-entries/op")
		b.ReportMetric(float64(peak)/(1<<20), "heap-MB")
		b.ReportMetric(float64(n)/float64(b.N), "records")
		b.ReportMetric(float64(citizens), "citizens")
	})
}

// cpuTime is the CPU time the process has used so far (user and system), the embedded FerretDB's
// included: on a shared machine it says more than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// verifyBenchDir returns a stopped hub's data directory seeded with demo citizens, and how many.
func verifyBenchDir(b *testing.B) (string, int) {
	n := 1000
	if s := os.Getenv("GOVHUB_BENCH_CITIZENS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("GOVHUB_BENCH_CITIZENS=%q", s)
		}
		n = v
	}
	dir := os.Getenv(verifyDirEnv)
	if dir != "" {
		if s, err := os.ReadFile(filepath.Join(dir, "bench-citizens")); err == nil {
			v, _ := strconv.Atoi(string(s))
			return dir, v
		}
	} else {
		dir = b.TempDir()
	}
	h := &testHub{t: b, dir: dir}
	cfg := h.config()
	cfg.IntegrationInterval = 0 // the production default
	a, err := openApp(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := seedDemo(b.Context(), a, n, testSeed); err != nil {
		a.close(context.WithoutCancel(b.Context()))
		b.Fatal(err)
	}
	if err := a.log.WaitCaughtUp(b.Context()); err != nil {
		b.Fatal(err)
	}
	if err := a.close(context.WithoutCancel(b.Context())); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "seeded %d citizens in %s\n", n, time.Since(start).Round(time.Second))
	if err := os.WriteFile(filepath.Join(dir, "bench-citizens"), []byte(strconv.Itoa(n)), 0o600); err != nil {
		b.Fatal(err)
	}
	return dir, n
}
