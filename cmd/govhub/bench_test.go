package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
)

// The hub's speed, measured through the real HTTP handler on the embedded store:
//
//	go test ./cmd/govhub -run '^$' -bench . -benchtime 2000x
//	GOVHUB_BENCH_CITIZENS=100000 go test ./cmd/govhub -run '^$' -bench . -benchtime 2000x -timeout 30m
//
// One hub, seeded once with GOVHUB_BENCH_CITIZENS demo citizens (default 1000), serves every
// benchmark of the run. The resident memory reported (rss-MB) is the whole process's VmRSS after
// seeding, which includes the embedded FerretDB that runs inside the hub.

var (
	benchOnce  sync.Once
	benchReady bool
	bench      *testHub
	benchN     int
	benchRSS   float64
)

func benchHub(b *testing.B) *testHub {
	benchOnce.Do(func() {
		benchN = 1000
		if s := os.Getenv("GOVHUB_BENCH_CITIZENS"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				b.Fatalf("GOVHUB_BENCH_CITIZENS=%q", s)
			}
			benchN = n
		}
		dir, err := os.MkdirTemp("", "govhub-bench-")
		if err != nil {
			b.Fatal(err)
		}
		h := &testHub{t: b, dir: dir}
		cfg := h.config()
		cfg.IntegrationInterval = 0 // the production default, not the tests' short one
		a, err := openApp(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		h.app, h.handler = a, a.handler()
		bench = h // closed by TestMain
		start := time.Now()
		if err := seedDemo(b.Context(), a, benchN, testSeed); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		benchRSS = rssMB()
		fmt.Fprintf(os.Stderr, "seeded %d citizens in %s; process RSS %.0f MB\n", benchN, time.Since(start).Round(time.Second), benchRSS)
		benchReady = true
	})
	if !benchReady {
		b.Fatal("bench hub failed to start")
	}
	bench.t = b
	return bench
}

// rssMB reads the process's resident set size.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		// The test binary stands in for the govhub command (the crash test runs it as a process).
		main()
		return
	}
	code := m.Run()
	if bench != nil && bench.app != nil {
		bench.app.close(context.Background())
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// allDatasets selects every dataset and field of one citizen.
const allDatasets = `query($id: ID!, $p: String!) { citizen(id: $id, purpose: $p) {
  id
  identity { name gender hukouCity nationalId { value commitment { point version } } birthDate { value commitment { point version } } address { value commitment { point version } } }
  marriage { maritalStatus registeredOn spouseCitizenId { value commitment { point version } } }
  socialInsurance { insured employer contributionMonths { value commitment { point version } } monthlyBase { value commitment { point version } } }
  tax { year annualIncome { value commitment { point version } } taxPaid { value commitment { point version } } }
  property { certificateNo city area acquiredOn address { value commitment { point version } } }
  businessLicense { uscc companyName legalRepresentative registeredCapital status }
  health { bloodType { value commitment { point version } } chronicConditions { value commitment { point version } } vaccinations }
} }`

func benchQuery(b *testing.B, p auth.Principal, purpose string) {
	h := benchHub(b)
	tok := h.token(p)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("C%06d", rand.IntN(benchN)+1)
		res := h.query(tok, allDatasets, map[string]any{"id": id, "p": purpose})
		if res.Extensions["ledger"] == nil {
			b.Fatalf("no receipt: %+v", res.Errors)
		}
	}
	b.ReportMetric(benchRSS, "rss-MB")
	b.ReportMetric(float64(benchN), "citizens")
}

// BenchmarkPointQuery: one citizen, every dataset selected, as the housing clerk (revealed,
// committed and denied fields mixed), logged before release.
func BenchmarkPointQuery(b *testing.B) { benchQuery(b, housingClerk, "home-purchase-eligibility") }

// BenchmarkPointQueryReveal: as the public-security clerk, who reveals identity (three sealed
// values unsealed and checked against their commitments).
func BenchmarkPointQueryReveal(b *testing.B) {
	benchQuery(b, policeClerk, "identity-verification")
}

const benchUpdateTax = `mutation($id: ID!, $income: Int64!, $paid: Int64!) {
  updateTax(citizenId: $id, purpose: "tax-administration", input: {annualIncome: $income, taxPaid: $paid}) { version }
}`

// BenchmarkUpdate: the tax clerk sets a citizen's income and tax paid: validate, commit, seal, pending update,
// ledger append, record write.
func BenchmarkUpdate(b *testing.B) {
	h := benchHub(b)
	tok := h.token(taxClerk)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		id := fmt.Sprintf("C%06d", rand.IntN(benchN)+1)
		income := 100_000 + rand.IntN(1_000_000)
		res := h.query(tok, benchUpdateTax, map[string]any{"id": id, "income": income, "paid": income / 10})
		if len(res.Errors) > 0 {
			b.Fatalf("update: %+v", res.Errors)
		}
	}
	b.ReportMetric(benchRSS, "rss-MB")
	b.ReportMetric(float64(benchN), "citizens")
}
