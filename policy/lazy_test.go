package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/casbin/casbin/v2/model"
)

// testLoader wraps a MemoryAdapter: it counts loads per partition, and
// can fail, block or rewrite what it loads.
type testLoader struct {
	*MemoryAdapter
	mu    sync.Mutex
	loads map[PartitionFilter]int
	fail  atomic.Pointer[error]                  // returned instead of loading, if set
	gate  chan struct{}                          // if non-nil, each load waits for it to close
	edit  func(m model.Model, f PartitionFilter) // if non-nil, runs after loading
}

func newTestLoader(set Set) *testLoader {
	return &testLoader{MemoryAdapter: MemoryLoader(set), loads: make(map[PartitionFilter]int)}
}

func (l *testLoader) LoadFilteredPolicy(m model.Model, filter any) error {
	f := filter.(PartitionFilter)
	l.mu.Lock()
	l.loads[f]++
	l.mu.Unlock()
	if l.gate != nil {
		<-l.gate
	}
	if err := l.fail.Load(); err != nil {
		return *err
	}
	if err := l.MemoryAdapter.LoadFilteredPolicy(m, filter); err != nil {
		return err
	}
	if l.edit != nil {
		l.edit(m, f)
	}
	return nil
}

func (l *testLoader) count(dept, ds string, version uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loads[PartitionFilter{Version: version, Department: dept, Dataset: ds}]
}

func (l *testLoader) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.loads {
		n += c
	}
	return n
}

// loadEngine returns an engine whose current snapshot is set, loaded
// lazily through l.
func loadEngine(t *testing.T, set Set, l Loader) *Engine {
	t.Helper()
	e := newTestEngine(t, Set{})
	info, err := set.Info()
	if err != nil {
		t.Fatalf("Info() = %v", err)
	}
	if err := e.Load(t.Context(), info, l); err != nil {
		t.Fatalf("Load = %v", err)
	}
	return e
}

var clerk = Subject{Department: "housing", Role: "clerk"}

func TestLoadReadsNothingUntilPrepared(t *testing.T) {
	l := newTestLoader(Demo())
	s := loadEngine(t, Demo(), l).Snapshot()
	if n := l.total(); n != 0 {
		t.Errorf("after Load: %d partition loads, want 0", n)
	}
	if _, ok := s.Set(); ok {
		t.Errorf("Set() of a loaded snapshot reports true, want false")
	}
	if got := s.Info().Rules; got != len(Demo().Rules) {
		t.Errorf("Info().Rules = %d, want %d", got, len(Demo().Rules))
	}
	if got := s.Decide(clerk, "identity.name", hpe); got != Deny {
		t.Errorf("Decide before Prepare = %v, want %v", got, Deny)
	}
	if s.Allowed(Subject{Department: "tax", Role: "clerk"}, ActionWrite, "tax", "tax-administration") {
		t.Errorf("Allowed before Prepare = true, want false")
	}
	if err := s.Prepare(t.Context(), clerk, []string{"identity", "tax", "identity", "not a dataset"}); err != nil {
		t.Fatalf("Prepare = %v", err)
	}
	for _, ds := range []string{"*", "identity", "tax"} {
		if n := l.count("housing", ds, 1); n != 1 {
			t.Errorf("loads of housing/%s = %d, want 1", ds, n)
		}
	}
	if n := l.total(); n != 3 {
		t.Errorf("partition loads = %d, want 3", n)
	}
	for _, c := range []struct {
		field string
		want  Level
	}{
		{"identity.name", Reveal},
		{"tax.annualIncome", Commit},
		{"health.bloodType", Deny}, // not prepared, and denied anyway
		{"property.city", Deny},    // not prepared: fail closed
	} {
		if got := s.Decide(clerk, c.field, hpe); got != c.want {
			t.Errorf("Decide(%v, %q) = %v, want %v", clerk, c.field, got, c.want)
		}
	}
	// Memoised or not, a second Prepare loads nothing again.
	if err := s.Prepare(t.Context(), clerk, []string{"identity", "property"}); err != nil {
		t.Fatalf("second Prepare = %v", err)
	}
	if n := l.total(); n != 4 {
		t.Errorf("partition loads after a second Prepare = %d, want 4", n)
	}
	if got := s.Decide(clerk, "property.city", hpe); got != Reveal {
		t.Errorf("Decide(property.city) after Prepare = %v, want %v", got, Reveal)
	}
}

func TestPrepareFailureDenies(t *testing.T) {
	l := newTestLoader(Demo())
	broken := errors.New("store unavailable")
	l.fail.Store(&broken)
	s := loadEngine(t, Demo(), l).Snapshot()
	err := s.Prepare(t.Context(), clerk, []string{"identity"})
	if !errors.Is(err, broken) {
		t.Fatalf("Prepare with a failing loader = %v, want %v", err, broken)
	}
	if !strings.Contains(err.Error(), "housing/") {
		t.Errorf("Prepare error %q does not name the partition", err)
	}
	if got := s.Decide(clerk, "identity.name", hpe); got != Deny {
		t.Errorf("Decide after a failed Prepare = %v, want %v", got, Deny)
	}
	x, err := s.Explain(t.Context(), clerk, "identity.name", hpe)
	if !errors.Is(err, broken) {
		t.Errorf("Explain with a failing loader = %+v, %v, want %v", x, err, broken)
	}
	if got := s.memo.size.Load(); got != 0 {
		t.Errorf("memo size after failures = %d, want 0", got)
	}
	// The store comes back: the next Prepare loads again.
	l.fail.Store(nil)
	if err := s.Prepare(t.Context(), clerk, []string{"identity"}); err != nil {
		t.Fatalf("Prepare after recovery = %v", err)
	}
	if got := s.Decide(clerk, "identity.name", hpe); got != Reveal {
		t.Errorf("Decide after recovery = %v, want %v", got, Reveal)
	}
}

// starFailLoader fails the partitions on "*" and serves the others.
type starFailLoader struct {
	*MemoryAdapter
	err error
}

func (l starFailLoader) LoadFilteredPolicy(m model.Model, filter any) error {
	if filter.(PartitionFilter).Dataset == AnyObject {
		return l.err
	}
	return l.MemoryAdapter.LoadFilteredPolicy(m, filter)
}

// TestPrepareStarFailure: when only the department's "*" partition fails,
// every dataset partition fails with it (its rules could override theirs),
// and Prepare reports the cause once.
func TestPrepareStarFailure(t *testing.T) {
	broken := errors.New("store unavailable")
	s := loadEngine(t, Demo(), starFailLoader{MemoryLoader(Demo()), broken}).Snapshot()
	err := s.Prepare(t.Context(), clerk, []string{"identity", "tax"})
	if !errors.Is(err, broken) {
		t.Fatalf("Prepare = %v, want %v", err, broken)
	}
	if n := strings.Count(err.Error(), broken.Error()); n != 1 {
		t.Errorf("Prepare = %q, which reports the failure %d times, want once", err, n)
	}
	for _, f := range []string{"identity.name", "tax.annualIncome"} {
		if got := s.Decide(clerk, f, hpe); got != Deny {
			t.Errorf("Decide(%v, %q) after a failed \"*\" partition = %v, want %v", clerk, f, got, Deny)
		}
	}
}

func TestPrepareRejectsBadPartitions(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(m model.Model, f PartitionFilter)
		want string
	}{
		{"rule of another partition", func(m model.Model, f PartitionFilter) {
			_ = m.AddPolicy("p", "p", []string{"clerk", "housing", "health.bloodType", "reveal", hpe, "allow"})
		}, "does not belong"},
		{"rule of another department", func(m model.Model, f PartitionFilter) {
			_ = m.AddPolicy("p", "p", []string{"clerk", "tax", f.Dataset, "write", "tax-administration", "allow"})
		}, "does not belong"},
		{"unregistered purpose", func(m model.Model, f PartitionFilter) {
			if f.Dataset == "identity" {
				_ = m.AddPolicy("p", "p", []string{"clerk", "housing", "identity.gender", "reveal", "espionage", "allow"})
			}
		}, "not registered"},
		{"malformed rule", func(m model.Model, f PartitionFilter) {
			_ = m.AddPolicy("p", "p", []string{"clerk", "housing", "identity.gender", "peek", hpe, "allow"})
		}, "unknown action"},
		{"short rule", func(m model.Model, f PartitionFilter) {
			_ = m.AddPolicy("p", "p", []string{"clerk", "housing", "identity.gender"})
		}, "want 6"},
		{"extra grouping", func(m model.Model, f PartitionFilter) {
			_ = m.AddPolicy("g", "g", []string{"janitor", "clerk", "housing"})
		}, "groupings"},
		{"missing grouping", func(m model.Model, f PartitionFilter) {
			m["g"]["g"].Policy = nil
		}, "groupings"},
		{"panic", func(m model.Model, f PartitionFilter) { panic("bug") }, "panicked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newTestLoader(Demo())
			l.edit = c.edit
			s := loadEngine(t, Demo(), l).Snapshot()
			err := s.Prepare(t.Context(), clerk, []string{"identity"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Prepare = %v, want an error containing %q", err, c.want)
			}
			if got := s.Decide(clerk, "identity.name", hpe); got != Deny {
				t.Errorf("Decide after a bad partition = %v, want %v", got, Deny)
			}
		})
	}
}

// TestDecideDoesNotWaitForLoads decides while a partition is loading.
func TestDecideDoesNotWaitForLoads(t *testing.T) {
	l := newTestLoader(Demo())
	l.gate = make(chan struct{})
	s := loadEngine(t, Demo(), l).Snapshot()
	done := make(chan error, 1)
	go func() { done <- s.Prepare(t.Context(), clerk, []string{"identity"}) }()
	for l.total() == 0 { // wait until the load has started
		select {
		case err := <-done:
			t.Fatalf("Prepare returned %v before its loads could finish", err)
		default:
		}
	}
	if got := s.Decide(clerk, "identity.name", hpe); got != Deny {
		t.Errorf("Decide while loading = %v, want %v", got, Deny)
	}
	// A caller that gives up stops waiting; the load goes on.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Prepare(ctx, clerk, []string{"identity"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Prepare(cancelled) while loading = %v, want %v", err, context.Canceled)
	}
	close(l.gate)
	if err := <-done; err != nil {
		t.Fatalf("Prepare = %v", err)
	}
	if got := s.Decide(clerk, "identity.name", hpe); got != Reveal {
		t.Errorf("Decide after loading = %v, want %v", got, Reveal)
	}
	if n := l.total(); n != 2 {
		t.Errorf("partition loads = %d, want 2", n)
	}
}

// TestPrepareLoadsOnce prepares the same partitions from many goroutines;
// run it with -race.
func TestPrepareLoadsOnce(t *testing.T) {
	l := newTestLoader(Demo())
	l.gate = make(chan struct{})
	s := loadEngine(t, Demo(), l).Snapshot()
	datasets := []string{"identity", "tax", "property", "health"}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			sub := clerk
			if g%2 == 1 {
				sub.Role = "senior-clerk"
			}
			if err := s.Prepare(t.Context(), sub, datasets[g%2:]); err != nil {
				errs <- err
				return
			}
			if got := s.Decide(sub, "tax.annualIncome", hpe); got != Commit {
				errs <- fmt.Errorf("Decide(%v, tax.annualIncome) = %v, want %v", sub, got, Commit)
			}
		})
	}
	close(l.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, ds := range append(datasets, "*") {
		if n := l.count("housing", ds, 1); n != 1 {
			t.Errorf("loads of housing/%s = %d, want 1", ds, n)
		}
	}
}

// ctxLoader is a loader that implements persist.ContextFilteredAdapter.
type ctxLoader struct {
	*MemoryAdapter
	seen atomic.Int32
}

type ctxKey struct{}

func (l *ctxLoader) LoadFilteredPolicyCtx(ctx context.Context, m model.Model, filter any) error {
	if ctx.Value(ctxKey{}) == "request" {
		l.seen.Add(1)
	}
	return l.MemoryAdapter.LoadFilteredPolicy(m, filter)
}

func (l *ctxLoader) IsFilteredCtx(context.Context) bool { return true }

func (l *ctxLoader) LoadFilteredPolicy(model.Model, any) error {
	return errors.New("LoadFilteredPolicy called instead of LoadFilteredPolicyCtx")
}

func TestPrepareUsesContextLoader(t *testing.T) {
	l := &ctxLoader{MemoryAdapter: MemoryLoader(Demo())}
	s := loadEngine(t, Demo(), l).Snapshot()
	ctx := context.WithValue(t.Context(), ctxKey{}, "request")
	if err := s.Prepare(ctx, clerk, []string{"identity"}); err != nil {
		t.Fatalf("Prepare = %v", err)
	}
	if got := l.seen.Load(); got != 2 {
		t.Errorf("LoadFilteredPolicyCtx saw the request's context %d times, want 2", got)
	}
	if got := s.Decide(clerk, "identity.name", hpe); got != Reveal {
		t.Errorf("Decide = %v, want %v", got, Reveal)
	}
}

func TestLoadErrors(t *testing.T) {
	demo := Demo()
	info, err := demo.Info()
	if err != nil {
		t.Fatal(err)
	}
	e := loadEngine(t, demo, MemoryLoader(demo))
	before := e.Snapshot()
	next := info
	next.Version = 2
	badPurpose := next
	badPurpose.Purposes = append(badPurpose.Purposes[:1:1], Purpose{Code: "Bad Code", TitleZh: "x", TitleEn: "x", LegalBasis: "x"})
	cycle := next
	cycle.Groupings = []Grouping{{Member: "a", Role: "b", Department: "d"}, {Member: "b", Role: "a", Department: "d"}}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range []struct {
		name   string
		ctx    context.Context
		info   VersionInfo
		loader Loader
		want   error
	}{
		{"same version", t.Context(), info, MemoryLoader(demo), ErrStaleVersion},
		{"bad purpose", t.Context(), badPurpose, MemoryLoader(demo), ErrInvalidPolicy},
		{"grouping cycle", t.Context(), cycle, MemoryLoader(demo), ErrInvalidPolicy},
		{"cancelled", cancelled, next, MemoryLoader(demo), context.Canceled},
		{"nil loader", t.Context(), next, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := e.Load(c.ctx, c.info, c.loader)
			if err == nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Load(%s) = %v, want %v", c.name, err, c.want)
			}
			if e.Snapshot() != before {
				t.Errorf("a failed Load changed the snapshot")
			}
		})
	}
	// The memory loader serves only its own version.
	next.Version = 2
	if err := e.Load(t.Context(), next, MemoryLoader(Demo())); err != nil {
		t.Fatalf("Load(2) = %v", err)
	}
	if err := e.Snapshot().Prepare(t.Context(), clerk, []string{"identity"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Prepare of version 2 through a loader of version 1 = %v, want %v", err, ErrNotFound)
	}
}

// TestSnapshotsKeepTheirVersion switches versions while decisions are
// made; each snapshot keeps deciding under its own version.
func TestSnapshotsKeepTheirVersion(t *testing.T) {
	v1 := Demo()
	v2 := withoutRules(v1, func(r Rule) bool { return r.Department == "housing" && r.Object == "identity.name" })
	e := loadEngine(t, v1, MemoryLoader(v1))
	old := e.Snapshot()
	if err := old.Prepare(t.Context(), clerk, []string{"identity"}); err != nil {
		t.Fatal(err)
	}
	info, _ := v2.Info()
	if err := e.Load(t.Context(), info, MemoryLoader(v2)); err != nil {
		t.Fatal(err)
	}
	cur := e.Snapshot()
	if err := cur.Prepare(t.Context(), clerk, []string{"identity"}); err != nil {
		t.Fatal(err)
	}
	if got := old.Decide(clerk, "identity.name", hpe); got != Reveal {
		t.Errorf("v1 Decide(identity.name) = %v, want %v", got, Reveal)
	}
	if got := cur.Decide(clerk, "identity.name", hpe); got != Deny {
		t.Errorf("v2 Decide(identity.name) = %v, want %v", got, Deny)
	}
	// Replace with a set works on top of a loaded version, and vice versa.
	v3 := withoutRules(v2, func(Rule) bool { return false })
	if err := e.Replace(v3); err != nil {
		t.Fatalf("Replace(3) = %v", err)
	}
	if got := e.Snapshot().Decide(clerk, "identity.hukouCity", hpe); got != Reveal {
		t.Errorf("v3 Decide(identity.hukouCity) = %v, want %v", got, Reveal)
	}
}

// rawLoader serves raw rows, untouched, as the partition on tax of any
// department, and none on "*": what a broken or tampered store could
// return.
type rawLoader struct {
	*MemoryAdapter
	rows, groups [][]string
}

func (l rawLoader) LoadFilteredPolicy(m model.Model, filter any) error {
	if filter.(PartitionFilter).Dataset != "tax" {
		return m.AddPolicy("g", "g", slices.Clone(l.groups[0]))
	}
	for _, r := range l.rows {
		if err := m.AddPolicy("p", "p", r); err != nil {
			return err
		}
	}
	for _, g := range l.groups {
		if err := m.AddPolicy("g", "g", g); err != nil {
			return err
		}
	}
	return nil
}

// FuzzLoadedRows feeds arbitrary rows to the engine as a loaded partition.
// Whatever they are, Prepare must not panic; if it accepts them, they must
// be well-formed rules of the partition, and every decision must be the
// one an engine built from those rules as a Set makes; if it refuses them,
// every decision must be Deny.
func FuzzLoadedRows(f *testing.F) {
	f.Add("clerk,housing,tax.annualIncome,commit,home-purchase-eligibility,allow\nclerk,housing,tax.*,reveal,*,deny")
	f.Add("clerk,housing,tax.year,reveal,home-purchase-eligibility,allow")
	f.Add("clerk,housing,health.bloodType,reveal,home-purchase-eligibility,allow")
	f.Add("clerk,tax,tax.year,reveal,tax-administration,allow")
	f.Add("clerk,housing,tax.year,reveal,espionage,allow")
	f.Add("clerk,housing,tax.year")
	f.Add("clerk,housing,tax,write,home-purchase-eligibility,allow")
	f.Add("")
	demo := Demo()
	groups := [][]string{{"senior-clerk", "clerk", "housing"}} // one, as rawLoader assumes
	fields := []string{"tax.year", "tax.annualIncome", "tax.taxPaid", "health.bloodType"}
	f.Fuzz(func(t *testing.T, data string) {
		var rows [][]string
		for line := range strings.SplitSeq(data, "\n") {
			if line != "" {
				rows = append(rows, strings.Split(line, ","))
			}
		}
		info, err := demo.Info()
		if err != nil {
			t.Fatal(err)
		}
		e := newTestEngine(t, Set{})
		if err := e.Load(t.Context(), info, rawLoader{MemoryLoader(demo), rows, groups}); err != nil {
			t.Fatal(err)
		}
		s := e.Snapshot()
		perr := s.Prepare(t.Context(), clerk, []string{"tax"})

		var ref *Snapshot
		if perr == nil {
			set := Set{Version: 1, Purposes: demo.Purposes, Groupings: []Grouping{{Member: "senior-clerk", Role: "clerk", Department: "housing"}}}
			for _, r := range rows {
				rule := Rule{Role: r[0], Department: r[1], Object: r[2], Action: Action(r[3]), Purpose: r[4], Effect: Effect(r[5])}
				if rule.Department != "housing" || PartitionOf(rule.Object) != "tax" {
					t.Fatalf("Prepare accepted %q, not a rule of housing/tax", r)
				}
				if !slices.Contains(set.Rules, rule) {
					set.Rules = append(set.Rules, rule)
				}
			}
			ref = newTestEngine(t, set).Snapshot()
		}
		for _, sub := range []Subject{clerk, {Department: "housing", Role: "senior-clerk"}} {
			for _, field := range fields {
				for _, pur := range []string{hpe, "tax-administration"} {
					got := s.Decide(sub, field, pur)
					want := Deny
					if ref != nil && datasetOf(field) == "tax" {
						want = ref.Decide(sub, field, pur)
					}
					if got != want {
						t.Errorf("rows %q (Prepare: %v): Decide(%v, %q, %q) = %v, want %v", rows, perr, sub, field, pur, got, want)
					}
				}
			}
		}
	})
}
