package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// Sizes of BenchmarkCitizenFirstPage. The target is
//
//	GOVHUB_BENCH_LOG_CITIZENS=100000 GOVHUB_BENCH_LOG_ENTRIES=1000000
const (
	logCitizensEnv = "GOVHUB_BENCH_LOG_CITIZENS"
	logEntriesEnv  = "GOVHUB_BENCH_LOG_ENTRIES"
)

// benchSize reads a size from env, def when unset.
func benchSize(b *testing.B, env string, def, least int) int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < least {
		b.Fatalf("%s=%q: want a number of at least %d", env, s, least)
	}
	return n
}

// BenchmarkCitizenFirstPage measures the first page (20 accesses) of a citizen's log through the
// hub (hub.Citizens.Accesses: the log page by _id lookups, each entry's bytes as the log keeps
// them checked against its leaf hash in the ledger's hash tiles, parsed, checked against the
// citizen's commitment, and viewed), on the embedded store holding
// GOVHUB_BENCH_LOG_ENTRIES ledger entries (default 20,000) about GOVHUB_BENCH_LOG_CITIZENS
// citizens (default 2,000). It reports ns/op and the p50 and p99 of the iterations.
//
// The ledger is real: every entry is a v2 access entry (a housing clerk's read, naming an
// official) appended through the hub's ledger.Log by concurrent appenders, naming its citizen by a
// salted subject commitment under a fresh salt. Every tenth entry is about one of the measured
// citizens (one in a hundred, so each has 100 entries, one every citizens/10 entries: on different
// entry bundles), the others about the rest in turn. The citizens' access logs and subject index
// references are then written from the receipts with the store's bulk loader
// (mongostore.Store.BulkLoadSubjectLogs, the layout AppendSubjectLogs writes), since appending
// them through the hub runs at about 650 a second. The benchmark waits for the ledger to integrate
// every entry before timing, and reads a different measured citizen each iteration.
//
//	GOVHUB_BENCH_LOG_CITIZENS=100000 GOVHUB_BENCH_LOG_ENTRIES=1000000 go test ./cmd/govhub -run '^$' -bench CitizenFirstPage -benchtime 1000x -timeout 60m
func BenchmarkCitizenFirstPage(b *testing.B) {
	citizens := benchSize(b, logCitizensEnv, 2_000, 100)
	entries := benchSize(b, logEntriesEnv, 10*citizens, 10*citizens)
	measured := citizens / 100
	h := startHub(b, 0)
	ctx := b.Context()
	app := h.app

	// Citizen c is demo.CitizenID(c+1); c < measured are the measured ones.
	ids := make([]string, citizens)
	pseudonyms := make([]string, citizens)
	for c := range citizens {
		ids[c] = demo.CitizenID(c + 1)
		pseudonyms[c] = subject.Pseudonym(app.keys.index, ids[c])
	}
	citizenOf := func(i int) int {
		if i%10 == 0 {
			return (i / 10) % measured
		}
		return measured + (i-i/10-1)%(citizens-measured)
	}
	official, err := hex.DecodeString(subject.Official(subject.DepartmentKey(app.keys.officials, "housing"), "housing", "h1"))
	if err != nil {
		b.Fatal(err)
	}

	// Append the entries: refs[i] is entry i's reference, from its receipt.
	start := time.Now()
	refs := make([]store.LogRef, entries)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	appenders := 1024
	for range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= entries {
					return
				}
				c := citizenOf(i)
				salt, err := subject.NewSalt(rand.Reader)
				if err != nil {
					panic(err)
				}
				now := time.Now()
				req := subject.RequestDigest(app.keys.index, []byte(fmt.Sprintf("bench request %d", i)))
				e := ledger.Entry{
					Kind: ledger.KindAccess, Time: now, Department: "housing", Role: "clerk", Official: official,
					Purpose: "home-purchase-eligibility", Policy: 1, Request: req, Outcome: ledger.OutcomeAllowed,
					Subjects: [][]byte{subject.Commit(salt, ids[c])},
					Fields: []ledger.Field{
						{Name: "identity.name", Level: "reveal"},
						{Name: "tax.annualIncome", Level: "commit"},
						{Name: "health.bloodType", Level: "deny"},
					},
				}
				for {
					r, err := app.log.Append(ctx, e)
					if errors.Is(err, ledger.ErrQueueFull) {
						time.Sleep(time.Millisecond)
						continue
					}
					if err != nil {
						select {
						case errs <- fmt.Errorf("appending entry %d: %w", i, err):
						default:
						}
						return
					}
					raw, err := ledger.FormatEntry(e)
					if err != nil {
						panic(err)
					}
					refs[i] = store.LogRef{Pseudonym: pseudonyms[c], Index: r.Index, Salt: salt, Time: now, Entry: raw}
					break
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	appended := time.Since(start)
	b.Logf("appended %d entries in %v (%.0f/s)", entries, appended.Round(time.Second), float64(entries)/appended.Seconds())

	// Each citizen's log in ledger order: seqs 1, 2, … by index.
	t1 := time.Now()
	byCitizen := make([][]int, citizens)
	for i := range entries {
		c := citizenOf(i)
		byCitizen[c] = append(byCitizen[c], i)
	}
	for _, is := range byCitizen {
		slices.SortFunc(is, func(x, y int) int { return int(refs[x].Index) - int(refs[y].Index) })
		for k, i := range is {
			refs[i].Seq = uint64(k + 1)
		}
	}
	if err := app.storage.store.BulkLoadSubjectLogs(ctx, refs); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(t1)
	b.Logf("loaded %d log documents and subject references in %v", entries, loaded.Round(time.Second))
	t2 := time.Now()
	if err := app.log.WaitCaughtUp(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("integrated %d entries %v later; seeding took %v in all (ledger size %d)", entries,
		time.Since(t2).Round(time.Second), time.Since(start).Round(time.Second), app.log.Integrated().Size)
	refs, byCitizen = nil, nil
	runtime.GC()

	durs := make([]time.Duration, 0, b.N)
	k := 0
	b.ResetTimer()
	for b.Loop() {
		id := ids[k%measured]
		k++
		t0 := time.Now()
		page, err := app.citizens.Accesses(ctx, citizenP(id), 20, "")
		durs = append(durs, time.Since(t0))
		if err != nil || len(page.Accesses) != 20 || !page.HasNext {
			b.Fatalf("Accesses(%s) = %d accesses, %v", id, len(page.Accesses), err)
		}
	}
	b.StopTimer()
	slices.Sort(durs)
	pct := func(q float64) float64 { return float64(durs[int(q*float64(len(durs)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(citizens), "citizens")
	b.ReportMetric(float64(entries), "entries")
}
