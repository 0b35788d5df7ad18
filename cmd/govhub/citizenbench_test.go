package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/store"
)

// BenchmarkCitizenFirstPage measures the first page (20 accesses) of a citizen's log through the
// hub (hub.Citizens.Accesses: the log page by _id lookups, each entry's bytes from the ledger,
// parsed, checked against the citizen's commitment, and viewed), on the embedded store, with
// GOVHUB_BENCH_LOG_CITIZENS other citizens (default 10,000) holding 10 log documents each in the
// same collections. It reports ns/op and the p99 of the iterations.
//
//	GOVHUB_BENCH_LOG_CITIZENS=100000 go test ./cmd/govhub -run '^$' -bench CitizenFirstPage -benchtime 500x
func BenchmarkCitizenFirstPage(b *testing.B) {
	others := 10_000
	if s := os.Getenv("GOVHUB_BENCH_LOG_CITIZENS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		others = n
	}
	h := startHub(b, 20)
	ctx := b.Context()
	c := h.gen.Citizen(1)
	housing := h.token(housingClerk)
	for range 25 {
		if res := h.query(housing, eligibilityQuery, map[string]any{"id": c.ID}); res.Extensions["ledger"] == nil {
			b.Fatal(res.Errors) // denied fields are errors too; a read without a receipt failed
		}
	}
	// The others' logs: 10 documents each, appended in rounds of one per citizen.
	const perCitizen, chunk = 10, 2000
	st := h.app.storage.store
	start := time.Now()
	for lo := 0; lo < others; lo += chunk {
		hi := min(others, lo+chunk)
		for k := range perCitizen {
			refs := make([]store.LogRef, 0, hi-lo)
			for i := lo; i < hi; i++ {
				refs = append(refs, store.LogRef{Pseudonym: subject.Pseudonym(h.app.keys.index, fmt.Sprintf("X%07d", i)),
					Index: uint64(k), Salt: make([]byte, 32), Time: time.Now()})
			}
			if _, err := st.AppendSubjectLogs(ctx, refs); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("filled %d citizens' logs (%d documents) in %v", others, others*perCitizen, time.Since(start).Round(time.Second))
	p := citizenP(c.ID)
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		page, err := h.app.citizens.Accesses(ctx, p, 20, "")
		if err != nil || len(page.Accesses) != 20 {
			b.Fatalf("Accesses = %d, %v", len(page.Accesses), err)
		}
		durs = append(durs, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(others), "citizens")
}
