package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

func TestNewRequiresSensitive(t *testing.T) {
	if _, err := New(Demo(), Config{}); err == nil {
		t.Errorf("New(Demo(), Config{}) = nil error, want an error")
	}
	if _, err := New(Demo(), testConfig, WithMemoLimit(-1)); err == nil {
		t.Errorf("New(Demo(), cfg, WithMemoLimit(-1)) = nil error, want an error")
	}
	if _, err := New(Demo(), testConfig, WithEnforcerLimit(-1)); err == nil {
		t.Errorf("New(Demo(), cfg, WithEnforcerLimit(-1)) = nil error, want an error")
	}
}

func TestNewRejectsInvalidSet(t *testing.T) {
	set := Demo()
	set.Rules = append(set.Rules, Rule{Role: "clerk", Department: "housing", Object: "tax.year", Action: ActionReveal, Purpose: "espionage", Effect: EffectAllow})
	if _, err := New(set, testConfig); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("New(set with unregistered purpose) = %v, want %v", err, ErrInvalidPolicy)
	}
}

// withoutRule returns set, one version later, without the rules for which
// drop reports true.
func withoutRules(set Set, drop func(Rule) bool) Set {
	set = set.Clone()
	set.Version++
	set.Rules = slices.DeleteFunc(set.Rules, drop)
	return set
}

func TestReplaceKeepsOldSnapshots(t *testing.T) {
	e := newTestEngine(t, Demo())
	old := e.Snapshot()
	clerk := Subject{Department: "housing", Role: "clerk"}
	// Memoise one answer before the change and leave another to be computed
	// after it: the old snapshot must keep both old answers.
	if got := old.Decide(clerk, "identity.name", hpe); got != Reveal {
		t.Fatalf("old.Decide(identity.name) = %v, want %v", got, Reveal)
	}
	next := withoutRules(Demo(), func(r Rule) bool { return r.Department == "housing" && r.Effect == EffectAllow })
	next.Purposes = slices.DeleteFunc(next.Purposes, func(p Purpose) bool { return p.Code == "business-registration" })
	next.Rules = slices.DeleteFunc(next.Rules, func(r Rule) bool { return r.Purpose == "business-registration" })
	next.CertificateTypes = slices.DeleteFunc(next.CertificateTypes, func(t CertificateType) bool { return t.Purpose == "business-registration" })
	if err := e.Replace(next); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	cur := e.Snapshot()
	if cur == old {
		t.Fatalf("Snapshot() after Replace is the old snapshot")
	}
	if got, want := old.Version(), uint64(1); got != want {
		t.Errorf("old.Version() = %d, want %d", got, want)
	}
	if got, want := cur.Version(), uint64(2); got != want {
		t.Errorf("cur.Version() = %d, want %d", got, want)
	}
	for _, c := range []struct {
		s     *Snapshot
		field string
		want  Level
	}{
		{old, "identity.name", Reveal},
		{old, "tax.annualIncome", Commit},
		{cur, "identity.name", Deny},
		{cur, "tax.annualIncome", Deny},
		{old, "identity.name", Reveal},
	} {
		if got := c.s.Decide(clerk, c.field, hpe); got != c.want {
			t.Errorf("snapshot v%d: Decide(%v, %q) = %v, want %v", c.s.Version(), clerk, c.field, got, c.want)
		}
	}
	if _, ok := old.Purpose("business-registration"); !ok {
		t.Errorf("old.Purpose(business-registration) missing after Replace")
	}
	if _, ok := cur.Purpose("business-registration"); ok {
		t.Errorf("cur.Purpose(business-registration) present, want removed")
	}
	if err := cur.CheckPurpose("business-registration"); !errors.Is(err, ErrUnknownPurpose) {
		t.Errorf("cur.CheckPurpose(business-registration) = %v, want %v", err, ErrUnknownPurpose)
	}
	if err := old.CheckPurpose("business-registration"); err != nil {
		t.Errorf("old.CheckPurpose(business-registration) = %v, want nil", err)
	}
}

func TestReplaceErrors(t *testing.T) {
	e := newTestEngine(t, Demo())
	before := e.Snapshot()

	stale := Demo() // same version
	if err := e.Replace(stale); !errors.Is(err, ErrStaleVersion) {
		t.Errorf("Replace(same version) = %v, want %v", err, ErrStaleVersion)
	}
	invalid := Demo()
	invalid.Version = 2
	invalid.Rules = append(invalid.Rules, Rule{Role: "clerk", Department: "housing", Object: "tax", Action: ActionReveal, Purpose: hpe, Effect: EffectAllow})
	if err := e.Replace(invalid); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("Replace(invalid) = %v, want %v", err, ErrInvalidPolicy)
	}
	if e.Snapshot() != before {
		t.Errorf("a failed Replace changed the snapshot")
	}
}

func TestSnapshotAccessors(t *testing.T) {
	s := newTestEngine(t, Demo()).Snapshot()
	ps := s.Purposes()
	if len(ps) != 8 {
		t.Fatalf("len(Purposes()) = %d, want 8", len(ps))
	}
	if !slices.IsSortedFunc(ps, func(a, b Purpose) int { return strings.Compare(a.Code, b.Code) }) {
		t.Errorf("Purposes() not sorted by code: %v", ps)
	}
	p, ok := s.Purpose(hpe)
	if !ok || p.TitleZh != "购房资格审核" {
		t.Errorf("Purpose(%q) = %+v, %v, want the 购房资格审核 entry", hpe, p, ok)
	}
	// Callers cannot change the snapshot through what it returns.
	ps[0].Code = "changed"
	if got := s.Purposes()[0].Code; got == "changed" {
		t.Errorf("modifying Purposes() changed the snapshot")
	}
	set, ok := s.Set()
	if !ok {
		t.Fatalf("Set() of a snapshot built from a Set reports false")
	}
	if got, want := len(set.Rules), len(Demo().Rules); got != want {
		t.Fatalf("len(Set().Rules) = %d, want %d", got, want)
	}
	orig := set.Rules[0]
	set.Rules[0].Role = "changed"
	set.Purposes[0].Code = "changed"
	if again, _ := s.Set(); again.Rules[0] != orig {
		got := again.Rules[0]
		t.Errorf("modifying Set() changed the snapshot: Set().Rules[0] = %v, want %v", got, orig)
	}
}

func TestSnapshotDoesNotAliasSet(t *testing.T) {
	set := loadTestPolicy(t)
	s := newTestEngine(t, set).Snapshot()
	officer := Subject{Department: "alpha", Role: "officer"}
	for i := range set.Rules {
		set.Rules[i].Effect = EffectDeny
	}
	if got := s.Decide(officer, "tax.year", "benefits"); got != Reveal {
		t.Errorf("after editing the caller's Set: Decide(%v, tax.year, benefits) = %v, want %v", officer, got, Reveal)
	}
}

func TestMemo(t *testing.T) {
	clerk := Subject{Department: "housing", Role: "clerk"}
	t.Run("bounded inputs only", func(t *testing.T) {
		s := newTestEngine(t, Demo()).Snapshot()
		for _, c := range []struct{ dept, role, field, purpose string }{
			{"housing", "clerk", "identity.name", "marketing"},
			{"housing", "clerk", "identity.shoeSize", hpe},
			{"housing", "janitor", "identity.name", hpe},
			{"education", "clerk", "identity.name", hpe},
		} {
			s.Decide(Subject{Department: c.dept, Role: c.role}, c.field, c.purpose)
		}
		s.Allowed(clerk, ActionWrite, "noSuchDataset", "marketing")
		if got := s.memo.size.Load(); got != 0 {
			t.Errorf("memo size after unknown inputs = %d, want 0", got)
		}
		s.Decide(clerk, "identity.name", hpe)
		s.Decide(clerk, "identity.name", hpe)
		s.Allowed(clerk, ActionWrite, "identity", hpe)
		if got := s.memo.size.Load(); got != 2 {
			t.Errorf("memo size = %d, want 2", got)
		}
	})
	t.Run("limit", func(t *testing.T) {
		s := newTestEngine(t, Demo(), WithMemoLimit(3)).Snapshot()
		fields := []string{"identity.name", "identity.hukouCity", "identity.nationalId", "tax.annualIncome", "health.bloodType"}
		want := []Level{Reveal, Reveal, Deny, Commit, Deny}
		for round := range 2 {
			for i, f := range fields {
				if got := s.Decide(clerk, f, hpe); got != want[i] {
					t.Errorf("round %d: Decide(%v, %q) = %v, want %v", round, clerk, f, got, want[i])
				}
			}
		}
		if got := s.memo.size.Load(); got != 3 {
			t.Errorf("memo size = %d, want 3", got)
		}
	})
}

// TestConcurrentDecide runs decisions from many goroutines while the policy
// is replaced; run it with -race.
func TestConcurrentDecide(t *testing.T) {
	e := newTestEngine(t, Demo())
	clerk := Subject{Department: "housing", Role: "clerk"}
	fields := []string{"identity.name", "identity.nationalId", "tax.annualIncome", "health.bloodType", "property.city"}
	want := map[uint64][]Level{
		1: {Reveal, Deny, Commit, Deny, Reveal},
		2: {Deny, Deny, Deny, Deny, Deny},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := e.Snapshot()
				f := (g + i) % len(fields)
				if got := s.Decide(clerk, fields[f], hpe); got != want[s.Version()][f] {
					errs <- errors.New("concurrent Decide(" + fields[f] + ") = " + got.String() + ", want " + want[s.Version()][f].String())
					return
				}
			}
		})
	}
	next := withoutRules(Demo(), func(r Rule) bool { return r.Department == "housing" })
	if err := e.Replace(next); err != nil {
		t.Errorf("Replace: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPartitionedMatchesCasbin checks that splitting the policy by
// department and dataset, and the shortcuts taken before asking Casbin,
// change no decision: random policies are decided both by an Engine and by
// one Casbin enforcer holding every rule.
func TestPartitionedMatchesCasbin(t *testing.T) {
	depts := []string{"d0", "d1", "d2"}
	roles := []string{"r0", "r1", "r2", "r3"}
	purposes := []string{"p0", "p1", "p2"}
	var fields []string
	sensitive := make(map[string]bool)
	for ds := range 4 {
		for f := range 4 {
			name := fmt.Sprintf("ds%d.f%d", ds, f)
			fields = append(fields, name)
			sensitive[name] = f%2 == 0
		}
	}
	cfg := Config{Sensitive: func(f string) (bool, bool) { s, ok := sensitive[f]; return s, ok }}
	pick := func(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }

	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 0))
		set := Set{Version: 1}
		for _, p := range purposes[:2] { // p2 stays unregistered
			set.Purposes = append(set.Purposes, Purpose{Code: p, TitleZh: "目的", TitleEn: "Purpose", LegalBasis: "law"})
		}
		seen := make(map[Rule]bool)
		for range 60 {
			r := Rule{
				Role:       pick(rng, roles),
				Department: pick(rng, depts[:2]), // d2 has no rules
				Object:     pick(rng, fields),
				Action:     pick2(rng, ActionReveal, ActionCommit),
				Purpose:    pick(rng, []string{"p0", "p1", AnyPurpose}),
				Effect:     pick2(rng, EffectAllow, EffectAllow, EffectDeny),
			}
			switch rng.IntN(6) {
			case 0:
				r.Object = "*"
			case 1:
				r.Object = datasetOf(r.Object) + ".*"
			}
			if !seen[r] {
				seen[r] = true
				set.Rules = append(set.Rules, r)
			}
		}
		gseen := make(map[Grouping]bool)
		for range 4 {
			i := 1 + rng.IntN(len(roles)-1)
			g := Grouping{Member: roles[i], Role: roles[rng.IntN(i)], Department: pick(rng, depts)}
			if !gseen[g] {
				gseen[g] = true
				set.Groupings = append(set.Groupings, g)
			}
		}

		// Per-purpose enforcers, the whole-partition fallback, and a mix.
		limit := []int{DefaultEnforcerLimit, 0, 3}[seed%3]
		e, err := New(set, cfg, WithMemoLimit(0), WithEnforcerLimit(limit))
		if err != nil {
			t.Fatalf("seed %d: New: %v", seed, err)
		}
		s := e.Snapshot()
		var prows, grows [][]string
		for _, r := range set.Rules {
			prows = append(prows, []string{r.Role, r.Department, r.Object, string(r.Action), r.Purpose, string(r.Effect)})
		}
		for _, g := range set.Groupings {
			grows = append(grows, []string{g.Member, g.Role, g.Department})
		}
		ref, err := newEnforcer(prows, grows)
		if err != nil {
			t.Fatalf("seed %d: reference enforcer: %v", seed, err)
		}
		allowed := func(sub Subject, act Action, obj, pur string) bool {
			ok, err := ref.Enforce(sub.Role, sub.Department, obj, string(act), pur)
			if err != nil {
				t.Fatalf("reference Enforce: %v", err)
			}
			return ok
		}
		counts := map[Level]int{}
		for _, dept := range depts {
			for _, role := range append(roles, "r9") {
				for _, pur := range purposes {
					for _, f := range append(fields, "ds9.f0") {
						sub := Subject{Department: dept, Role: role}
						want := Deny
						if sens, known := sensitive[f]; known && pur != "p2" {
							switch {
							case allowed(sub, ActionReveal, f, pur):
								want = Reveal
							case sens && allowed(sub, ActionCommit, f, pur):
								want = Commit
							}
						}
						counts[want]++
						if got := s.Decide(sub, f, pur); got != want {
							t.Errorf("seed %d: Decide(%v, %q, %q) = %v, reference Casbin says %v", seed, sub, f, pur, got, want)
						}
					}
				}
			}
		}
		if counts[Reveal] == 0 || counts[Commit] == 0 {
			t.Errorf("seed %d: levels decided %v, want some reveal and some commit", seed, counts)
		}
	}
}

func pick2[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// newEnforcer returns a Casbin enforcer of the embedded model holding the
// given p and g rows.
func newEnforcer(rules, groups [][]string) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(modelConf)
	if err != nil {
		return nil, fmt.Errorf("loading policy model: %w", err)
	}
	for _, r := range rules {
		if err := m.AddPolicy("p", "p", slices.Clone(r)); err != nil {
			return nil, err
		}
	}
	for _, g := range groups {
		if err := m.AddPolicy("g", "g", slices.Clone(g)); err != nil {
			return nil, err
		}
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	return e, e.BuildRoleLinks()
}
