package policy

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// benchSizes are the rule counts of the synthetic policies.
var benchSizes = []int{100, 10_000, 100_000}

// synthetic builds a policy of n rules over the catalogue of ARCHITECTURE §8
// (testFields: 7 datasets, 29 fields, 11 sensitive), spread over
// min(200, n/10) departments, with 10 roles each (role-1 inherits role-0,
// role-4 role-3, role-7 role-6) and 20 purposes. About 10 % of the rules
// are on "dataset.*", 1 % on "*", 10 % are for any purpose, 5 % deny.
// Commit rules name only sensitive fields or patterns.
func synthetic(n int) Set {
	rng := rand.New(rand.NewPCG(1, 2))
	depts := min(200, max(1, n/10))
	fields := slices.Sorted(func(yield func(string) bool) {
		for f := range testFields {
			if !yield(f) {
				return
			}
		}
	})
	set := Set{Version: 1}
	for i := range 20 {
		set.Purposes = append(set.Purposes, Purpose{Code: fmt.Sprintf("pur-%d", i), TitleZh: "目的", TitleEn: "Purpose", LegalBasis: "law"})
	}
	seen := make(map[Rule]bool, n)
	for len(set.Rules) < n {
		r := Rule{
			Role:       fmt.Sprintf("role-%d", rng.IntN(10)),
			Department: fmt.Sprintf("dept-%d", rng.IntN(depts)),
			Object:     fields[rng.IntN(len(fields))],
			Action:     []Action{ActionReveal, ActionCommit}[rng.IntN(2)],
			Purpose:    fmt.Sprintf("pur-%d", rng.IntN(20)),
			Effect:     EffectAllow,
		}
		switch x := rng.IntN(100); {
		case x < 1:
			r.Object = AnyObject
		case x < 11:
			r.Object = datasetOf(r.Object) + ".*"
		}
		if r.Action == ActionCommit && isField(r.Object) && !testFields[r.Object] {
			r.Action = ActionReveal
		}
		if rng.IntN(10) == 0 {
			r.Purpose = AnyPurpose
		}
		if rng.IntN(20) == 0 {
			r.Effect = EffectDeny
		}
		if !seen[r] {
			seen[r] = true
			set.Rules = append(set.Rules, r)
		}
	}
	for d := range depts {
		for i := 1; i < 10; i += 3 {
			set.Groupings = append(set.Groupings, Grouping{Member: fmt.Sprintf("role-%d", i), Role: fmt.Sprintf("role-%d", i-1), Department: fmt.Sprintf("dept-%d", d)})
		}
	}
	return set
}

// query is one 20-field query over six datasets.
var query = []string{
	"identity.name", "identity.gender", "identity.hukouCity", "identity.nationalId", "identity.birthDate",
	"identity.address", "marriage.maritalStatus", "marriage.spouseCitizenId", "marriage.registeredOn",
	"socialInsurance.contributionMonths", "socialInsurance.monthlyBase", "tax.year", "tax.annualIncome",
	"tax.taxPaid", "property.certificateNo", "property.city", "property.area", "property.address",
	"property.acquiredOn", "health.bloodType",
}

func queryDatasets() []string {
	var ds []string
	for _, f := range query {
		if d := datasetOf(f); !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	return ds
}

// sleepLoader is the memory loader, plus a wait per partition standing in
// for a store read (0.3 ms: one findOne by _id on the embedded store, 0.34
// ms in ARCHITECTURE §7). It yields rather than calls time.Sleep, which on the
// benchmark machine sleeps about 1 ms however short the wait asked
// (time.Sleep(300 * time.Microsecond) in a b.Loop, -benchtime 2000x -count
// 3: 1.28–1.32 ms a call).
type sleepLoader struct {
	*MemoryAdapter
	d time.Duration
}

func (l sleepLoader) LoadFilteredPolicy(m model.Model, filter any) error {
	for start := time.Now(); time.Since(start) < l.d; {
		runtime.Gosched()
	}
	return l.MemoryAdapter.LoadFilteredPolicy(m, filter)
}

type benchPolicy struct {
	set    Set
	info   VersionInfo
	loader *MemoryAdapter
	engine *Engine
	// The query's subject and purpose: the role and purpose of dept-0 with
	// the most rules, so that the query has something to find.
	sub     Subject
	purpose string
}

func newBenchPolicy(b *testing.B, n int) benchPolicy {
	b.Helper()
	set := synthetic(n)
	info, err := set.Info()
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Set{}, testConfig)
	if err != nil {
		b.Fatal(err)
	}
	counts := make(map[[2]string]int)
	best := [2]string{"role-0", "pur-0"}
	for _, r := range set.Rules {
		if r.Department == "dept-0" && r.Purpose != AnyPurpose {
			k := [2]string{r.Role, r.Purpose}
			counts[k]++
			if counts[k] > counts[best] || counts[k] == counts[best] && (k[0] < best[0] || k[0] == best[0] && k[1] < best[1]) {
				best = k
			}
		}
	}
	return benchPolicy{set: set, info: info, loader: MemoryLoader(set), engine: e,
		sub: Subject{Department: "dept-0", Role: best[0]}, purpose: best[1]}
}

// BenchmarkDecideWarm20 decides the 20 fields of one query, every answer
// memoised: what a repeated query costs.
func BenchmarkDecideWarm20(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			p := newBenchPolicy(b, n)
			s := p.engine.newSnapshot(p.info, p.loader, nil)
			if err := s.Prepare(b.Context(), p.sub, queryDatasets()); err != nil {
				b.Fatal(err)
			}
			levels := map[Level]int{}
			for _, f := range query {
				levels[s.Decide(p.sub, f, p.purpose)]++
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, f := range query {
					s.Decide(p.sub, f, p.purpose)
				}
			}
			b.ReportMetric(float64(levels[Reveal]), "reveal")
			b.ReportMetric(float64(levels[Commit]), "commit")
		})
	}
}

// BenchmarkDecideCold20 makes the first query on a fresh snapshot: Prepare
// loads the query's partitions (six datasets and "*") through the loader,
// then the 20 decisions build their per-purpose enforcers and ask Casbin.
// Making the snapshot is not timed (see BenchmarkReload).
func BenchmarkDecideCold20(b *testing.B) {
	for _, n := range benchSizes {
		p := newBenchPolicy(b, n)
		for _, l := range []struct {
			name   string
			loader Loader
		}{
			{"memory", p.loader},
			{"sleep-0.3ms", sleepLoader{p.loader, 300 * time.Microsecond}},
		} {
			b.Run(fmt.Sprintf("rules=%d/loader=%s", n, l.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					s := p.engine.newSnapshot(p.info, l.loader, nil)
					b.StartTimer()
					if err := s.Prepare(b.Context(), p.sub, queryDatasets()); err != nil {
						b.Fatal(err)
					}
					for _, f := range query {
						s.Decide(p.sub, f, p.purpose)
					}
				}
			})
		}
	}
}

// BenchmarkDecideNoMemo decides one field per op through Casbin, memo off,
// partitions and enforcers loaded: the cost of one Casbin decision.
func BenchmarkDecideNoMemo(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			p := newBenchPolicy(b, n)
			s := p.engine.newSnapshot(p.info, p.loader, nil)
			s.memo.limit = 0
			if err := s.Prepare(b.Context(), p.sub, queryDatasets()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Decide(p.sub, query[i%len(query)], p.purpose)
				i++
			}
		})
	}
}

// BenchmarkReload switches the engine to a new version.
//
//   - load: Engine.Load of a stored version (what every instance does when
//     it sees a new version number; no rule is read);
//   - approve: what approving a change costs in memory besides the store:
//     Apply one added rule, ValidateWith the catalogue, Info (the digest),
//     then Engine.Load (the store write and AllRules read are not
//     included);
//   - replace: Engine.Replace with a whole Set (the file and demo path:
//     validation, sorting, digest and the memory loader's index).
func BenchmarkReload(b *testing.B) {
	cat := testCatalog{}
	for _, n := range benchSizes {
		p := newBenchPolicy(b, n)
		b.Run(fmt.Sprintf("rules=%d/op=load", n), func(b *testing.B) {
			info := p.info
			b.ReportAllocs()
			for b.Loop() {
				info.Version++
				if err := p.engine.Load(b.Context(), info, p.loader); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("rules=%d/op=approve", n), func(b *testing.B) {
			base := p.set
			change := Change{AddRules: []Rule{{Role: "role-0", Department: "dept-0", Object: "health.vaccinations", Action: ActionReveal, Purpose: "pur-0", Effect: EffectDeny}}}
			if slices.Contains(base.Rules, change.AddRules[0]) {
				b.Fatalf("the added rule is already there")
			}
			b.ReportAllocs()
			for b.Loop() {
				base.Version = p.engine.Snapshot().Version()
				next, err := base.Apply(change)
				if err != nil {
					b.Fatal(err)
				}
				if err := next.ValidateWith(cat); err != nil {
					b.Fatal(err)
				}
				info, err := next.Info()
				if err != nil {
					b.Fatal(err)
				}
				if err := p.engine.Load(b.Context(), info, MemoryLoader(next)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("rules=%d/op=replace", n), func(b *testing.B) {
			set := p.set
			b.ReportAllocs()
			for b.Loop() {
				set.Version = p.engine.Snapshot().Version() + 1
				if err := p.engine.Replace(set); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// testCatalog is testFields as a Catalog.
type testCatalog struct{}

func (testCatalog) Datasets() []string {
	var ds []string
	for f := range testFields {
		if d := datasetOf(f); !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	return ds
}

func (testCatalog) Field(path string) (bool, bool) { return testSensitive(path) }

// departmentsOf returns the departments of set's rules, in their order.
func departmentsOf(set Set) []string {
	var depts []string
	for _, r := range set.Rules {
		if !slices.Contains(depts, r.Department) {
			depts = append(depts, r.Department)
		}
	}
	return depts
}

// heap returns the bytes allocated on the heap after a GC.
func heap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLoadedMemory reports the heap held by a snapshot of 100,000
// rules, measured with runtime.MemStats after GC: "B-partitions" once
// every partition (200 departments × 7 datasets, and "*") is loaded, and
// "B-enforcers" once, in addition, a decision has been made for every
// department, dataset and purpose (28,000 combinations), which builds
// per-purpose enforcers up to the limit and whole-partition enforcers past
// it. One op is one such measurement.
func BenchmarkLoadedMemory(b *testing.B) {
	set := synthetic(100_000)
	info, err := set.Info()
	if err != nil {
		b.Fatal(err)
	}
	loader := MemoryLoader(set)
	datasets := testCatalog{}.Datasets()
	depts := departmentsOf(set)
	for _, limit := range []int{DefaultEnforcerLimit, 1 << 30} {
		b.Run(fmt.Sprintf("enforcer-limit=%d", limit), func(b *testing.B) {
			e, err := New(Set{}, testConfig, WithEnforcerLimit(limit))
			if err != nil {
				b.Fatal(err)
			}
			var parts, all float64
			for b.Loop() {
				before := heap()
				s := e.newSnapshot(info, loader, nil)
				for _, d := range depts {
					if err := s.Prepare(b.Context(), Subject{Department: d}, datasets); err != nil {
						b.Fatal(err)
					}
				}
				parts = float64(heap() - before)
				for _, d := range depts {
					for _, ds := range datasets {
						for _, pur := range info.Purposes {
							if _, err := s.partition(d, ds).enforcer(pur.Code); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				all = float64(heap() - before)
				runtime.KeepAlive(s)
			}
			b.ReportMetric(parts, "B-partitions")
			b.ReportMetric(all, "B-enforcers")
		})
	}
}

// BenchmarkEnforcerMemory reports what one per-purpose enforcer costs, at
// 10,000 rules: the heap (after GC) taken by building every per-purpose
// enforcer of every partition, with no limit, divided by the number of
// distinct enforcers built ("B/enforcer"), and the rules each holds on
// average ("rules/enforcer"). One op is one such measurement.
func BenchmarkEnforcerMemory(b *testing.B) {
	set := synthetic(10_000)
	info, err := set.Info()
	if err != nil {
		b.Fatal(err)
	}
	loader := MemoryLoader(set)
	datasets := testCatalog{}.Datasets()
	depts := departmentsOf(set)
	e, err := New(Set{}, testConfig, WithEnforcerLimit(1<<30))
	if err != nil {
		b.Fatal(err)
	}
	var perEnforcer, perRules float64
	for b.Loop() {
		s := e.newSnapshot(info, loader, nil)
		for _, d := range depts {
			if err := s.Prepare(b.Context(), Subject{Department: d}, datasets); err != nil {
				b.Fatal(err)
			}
		}
		before := heap()
		built := make(map[*casbin.Enforcer]bool)
		rules := 0
		for _, d := range depts {
			for _, ds := range datasets {
				for _, pur := range info.Purposes {
					enf, err := s.partition(d, ds).enforcer(pur.Code)
					if err != nil {
						b.Fatal(err)
					}
					if enf != nil && !built[enf] {
						built[enf] = true
						rules += len(enf.GetModel()["p"]["p"].Policy)
					}
				}
			}
		}
		after := heap() // includes built, a few bytes an enforcer
		runtime.KeepAlive(s)
		perEnforcer = float64(after-before) / float64(len(built))
		perRules = float64(rules) / float64(len(built))
	}
	b.ReportMetric(perEnforcer, "B/enforcer")
	b.ReportMetric(perRules, "rules/enforcer")
}
