package main

import (
	"testing"
	"time"

	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

// BenchmarkLedgerVerify measures the two passes of `govhub ledger verify` on the embedded store
// of the benchmark hub (seeded with GOVHUB_BENCH_CITIZENS demo citizens, default 1000; every
// record written by an import update entry): the entries pass (ledger.Verify) and the records pass
// (hub.AuditRecords). It reports entries/s and records/s, and the heap allocated per pass.
//
//	go test ./cmd/govhub -run '^$' -bench LedgerVerify -benchtime 3x
//	GOVHUB_BENCH_CITIZENS=100000 go test ./cmd/govhub -run '^$' -bench LedgerVerify -benchtime 1x -timeout 60m
func BenchmarkLedgerVerify(b *testing.B) {
	h := benchHub(b)
	a := h.app
	ctx := b.Context()
	if err := a.log.WaitCaughtUp(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("entries", func(b *testing.B) {
		var n uint64
		start := time.Now()
		for b.Loop() {
			rep, err := ledger.Verify(ctx, a.storage.ledgerStore, a.keys.log.Verifier)
			if err != nil {
				b.Fatalf("ledger.Verify = %v", err)
			}
			n += rep.Entries
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
		b.ReportMetric(float64(benchN), "citizens")
	})
	b.Run("records", func(b *testing.B) {
		var n int
		start := time.Now()
		for b.Loop() {
			rep, err := hub.AuditRecords(ctx, a.log.Reader(), a.storage.store, a.keys.index)
			if err != nil {
				b.Fatalf("hub.AuditRecords = %v", err)
			}
			if len(rep.Problems) > 0 {
				b.Fatalf("hub.AuditRecords found %d problems, the first: %s", len(rep.Problems), rep.Problems[0])
			}
			n += rep.Records
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
		b.ReportMetric(float64(benchN), "citizens")
	})
}
