package policy_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/policy/policytest"
)

const hpe = "home-purchase-eligibility"

// rule parses one "p, …" line.
func rule(t testing.TB, line string) policy.Rule {
	t.Helper()
	rs, _, err := policy.ParseCSV(strings.NewReader(line))
	if err != nil || len(rs) != 1 {
		t.Fatalf("ParseCSV(%q) = %v, %v", line, rs, err)
	}
	return rs[0]
}

// grouping parses one "g, …" line.
func grouping(t testing.TB, line string) policy.Grouping {
	t.Helper()
	_, gs, err := policy.ParseCSV(strings.NewReader(line))
	if err != nil || len(gs) != 1 {
		t.Fatalf("ParseCSV(%q) = %v, %v", line, gs, err)
	}
	return gs[0]
}

func TestValidateWith(t *testing.T) {
	for _, c := range []struct {
		rule policy.Rule
		want string // "" for valid
	}{
		{policy.Rule{Role: "intern", Department: "housing", Object: "tax.*", Action: "commit", Purpose: hpe, Effect: "allow"}, ""},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "*", Action: "commit", Purpose: "*", Effect: "allow"}, ""},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax.taxPaid", Action: "commit", Purpose: hpe, Effect: "deny"}, ""},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax.year", Action: "reveal", Purpose: hpe, Effect: "allow"}, ""},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax", Action: "list", Purpose: hpe, Effect: "allow"}, ""},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "*", Action: "write", Purpose: hpe, Effect: "deny"}, ""},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax.nothing", Action: "reveal", Purpose: hpe, Effect: "allow"}, `field "tax.nothing" is not in the catalog`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "nothing.*", Action: "reveal", Purpose: hpe, Effect: "allow"}, `dataset "nothing" is not in the catalog`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "nothing.year", Action: "commit", Purpose: hpe, Effect: "allow"}, `field "nothing.year" is not in the catalog`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "nothing", Action: "write", Purpose: hpe, Effect: "allow"}, `dataset "nothing" is not in the catalog`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax.year", Action: "commit", Purpose: hpe, Effect: "allow"}, `commit on field "tax.year", which is not sensitive`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax.year", Action: "reveal", Purpose: "espionage", Effect: "allow"}, `purpose "espionage" is not registered`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax.ye*", Action: "reveal", Purpose: hpe, Effect: "allow"}, `malformed object "tax.ye*"`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax", Action: "reveal", Purpose: hpe, Effect: "allow"}, `malformed object "tax"`},
		{policy.Rule{Role: "clerk", Department: "housing", Object: "tax.*", Action: "write", Purpose: hpe, Effect: "allow"}, `malformed object "tax.*"`},
		{policy.Rule{Role: "Clerk", Department: "housing", Object: "tax.year", Action: "reveal", Purpose: hpe, Effect: "allow"}, `malformed role "Clerk"`},
	} {
		t.Run(c.rule.String(), func(t *testing.T) {
			set := policytest.MatrixPolicy()
			set.Rules = append(set.Rules, c.rule)
			err := set.ValidateWith(policytest.Catalog{})
			if c.want == "" {
				if err != nil {
					t.Errorf("ValidateWith(+%q) = %v, want nil", c.rule, err)
				}
				return
			}
			if !errors.Is(err, policy.ErrInvalidPolicy) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.rule.String()) {
				t.Errorf("ValidateWith(+%q) = %v, want %v naming the rule and saying %q", c.rule, err, policy.ErrInvalidPolicy, c.want)
			}
		})
	}
	t.Run("every problem", func(t *testing.T) {
		set := policytest.MatrixPolicy()
		set.Rules = append(set.Rules,
			rule(t, "p, clerk, housing, tax.nothing, reveal, "+hpe+", allow"),
			rule(t, "p, clerk, housing, tax.year, commit, "+hpe+", allow"))
		err := set.ValidateWith(policytest.Catalog{})
		if err == nil || !strings.Contains(err.Error(), "tax.nothing") || !strings.Contains(err.Error(), "tax.year") {
			t.Errorf("ValidateWith(two bad rules) = %v, want both named", err)
		}
	})
}

func TestApply(t *testing.T) {
	base := policytest.MatrixPolicy()
	benefits := policy.Purpose{Code: "benefits", TitleZh: "福利", TitleEn: "Benefits", LegalBasis: "law"}
	research := policy.Purpose{Code: "research", TitleZh: "研究", TitleEn: "Research (renamed)", LegalBasis: "law"}
	newRule := rule(t, "p, clerk, housing, identity.gender, reveal, "+hpe+", allow")
	oldRule := rule(t, "p, clerk, housing, identity.name, reveal, "+hpe+", allow")
	researchRule := rule(t, "p, researcher, health, health.chronicConditions, commit, research, deny")
	for _, c := range []struct {
		name   string
		change policy.Change
		want   []string // substrings of the error; nil for success
		check  func(t *testing.T, next policy.Set)
	}{
		{"add and remove rules", policy.Change{AddRules: []policy.Rule{newRule}, RemoveRules: []policy.Rule{oldRule}}, nil, func(t *testing.T, next policy.Set) {
			if !slices.Contains(next.Rules, newRule) || slices.Contains(next.Rules, oldRule) || len(next.Rules) != len(base.Rules) {
				t.Errorf("rules after the change: %v", next.Rules)
			}
		}},
		{"add and remove groupings", policy.Change{
			AddGroupings:    []policy.Grouping{grouping(t, "g, intern, clerk, housing")},
			RemoveGroupings: []policy.Grouping{grouping(t, "g, head-nurse, nurse, health")},
		}, nil, func(t *testing.T, next policy.Set) {
			if !slices.Contains(next.Groupings, grouping(t, "g, intern, clerk, housing")) || slices.Contains(next.Groupings, grouping(t, "g, head-nurse, nurse, health")) {
				t.Errorf("groupings after the change: %v", next.Groupings)
			}
		}},
		{"add a purpose", policy.Change{AddPurposes: []policy.Purpose{benefits}}, nil, func(t *testing.T, next policy.Set) {
			if !slices.Contains(next.Purposes, benefits) || len(next.Purposes) != len(base.Purposes)+1 {
				t.Errorf("purposes after the change: %v", next.Purposes)
			}
		}},
		{"retire a purpose with its rules", policy.Change{RetirePurposes: []string{"research"}, RemoveRules: []policy.Rule{researchRule}}, nil, func(t *testing.T, next policy.Set) {
			if slices.ContainsFunc(next.Purposes, func(p policy.Purpose) bool { return p.Code == "research" }) {
				t.Errorf("research still registered: %v", next.Purposes)
			}
		}},
		{"re-register a purpose", policy.Change{RetirePurposes: []string{"research"}, AddPurposes: []policy.Purpose{research}}, nil, func(t *testing.T, next policy.Set) {
			if !slices.Contains(next.Purposes, research) || len(next.Purposes) != len(base.Purposes) {
				t.Errorf("purposes after the change: %v", next.Purposes)
			}
		}},
		{"empty", policy.Change{}, []string{"empty"}, nil},
		{"remove an absent rule", policy.Change{RemoveRules: []policy.Rule{newRule}}, []string{"removing rule", newRule.String(), "not in the policy"}, nil},
		{"add a present rule", policy.Change{AddRules: []policy.Rule{oldRule}}, []string{"adding rule", oldRule.String(), "already"}, nil},
		{"add a rule twice", policy.Change{AddRules: []policy.Rule{newRule, newRule}}, []string{"adding rule", newRule.String(), "already"}, nil},
		{"remove an absent grouping", policy.Change{RemoveGroupings: []policy.Grouping{grouping(t, "g, intern, clerk, housing")}}, []string{"removing grouping", "g, intern, clerk, housing"}, nil},
		{"add a present grouping", policy.Change{AddGroupings: []policy.Grouping{grouping(t, "g, head-nurse, nurse, health")}}, []string{"adding grouping", "g, head-nurse, nurse, health"}, nil},
		{"add a grouping cycle", policy.Change{AddGroupings: []policy.Grouping{grouping(t, "g, clerk, supervisor, housing")}}, []string{"cycle"}, nil},
		{"add a registered purpose", policy.Change{AddPurposes: []policy.Purpose{research}}, []string{`adding purpose "research"`, "already registered"}, nil},
		{"retire an unknown purpose", policy.Change{RetirePurposes: []string{"benefits"}}, []string{`retiring purpose "benefits"`, "not registered"}, nil},
		{"retire a purpose in use", policy.Change{RetirePurposes: []string{"research"}}, []string{`retiring purpose "research"`, researchRule.String()}, nil},
		{"add a rule for an unknown purpose", policy.Change{AddRules: []policy.Rule{rule(t, "p, clerk, housing, identity.gender, reveal, benefits, allow")}}, []string{"benefits", "not registered"}, nil},
		{"add a malformed rule", policy.Change{AddRules: []policy.Rule{{Role: "clerk", Department: "housing", Object: "tax.ye*", Action: "reveal", Purpose: hpe, Effect: "allow"}}}, []string{"tax.ye*"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := base.Clone()
			next, err := base.Apply(c.change)
			if !slices.Equal(base.Rules, before.Rules) || !slices.Equal(base.Groupings, before.Groupings) || !slices.Equal(base.Purposes, before.Purposes) {
				t.Errorf("Apply modified its receiver")
			}
			if c.want != nil {
				if !errors.Is(err, policy.ErrInvalidPolicy) {
					t.Fatalf("Apply(%s) = %v, want %v", c.name, err, policy.ErrInvalidPolicy)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Apply(%s) = %q, want it to say %q", c.name, err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply(%s) = %v", c.name, err)
			}
			if next.Version != base.Version+1 {
				t.Errorf("Apply(%s).Version = %d, want %d", c.name, next.Version, base.Version+1)
			}
			if err := next.ValidateWith(policytest.Catalog{}); err != nil {
				t.Errorf("Apply(%s) result: ValidateWith = %v", c.name, err)
			}
			c.check(t, next)
		})
	}
}

func newSnapshot(t testing.TB, set policy.Set) *policy.Snapshot {
	t.Helper()
	e, err := policy.New(set, policytest.Config())
	if err != nil {
		t.Fatalf("New(version %d) = %v", set.Version, err)
	}
	return e.Snapshot()
}

// loadSnapshot returns a snapshot of set loaded lazily from memory.
func loadSnapshot(t testing.TB, set policy.Set) *policy.Snapshot {
	t.Helper()
	e, err := policy.New(policy.Set{}, policytest.Config())
	if err != nil {
		t.Fatal(err)
	}
	info, err := set.Info()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(t.Context(), info, policy.MemoryLoader(set)); err != nil {
		t.Fatalf("Load(version %d) = %v", set.Version, err)
	}
	return e.Snapshot()
}

// TestDiff: the change Diff computes, applied to its source, gives its target, purposes included
// (one added, one retired, one whose title changed); and no change between equal policies.
func TestDiff(t *testing.T) {
	from := policytest.MatrixPolicy()
	to := from.Clone()
	to.Rules = append(slices.Delete(to.Rules, 0, 2), rule(t, "p, clerk, housing, identity.gender, reveal, "+hpe+", allow"))
	to.Groupings = append(to.Groupings, grouping(t, "g, intern, clerk, housing"))
	to.Purposes = append(to.Purposes, policy.Purpose{Code: "benefits", TitleZh: "福利", TitleEn: "Benefits", LegalBasis: "law"})
	for i, p := range to.Purposes {
		if p.Code == "research" {
			to.Purposes[i].TitleEn = "Research (renamed)"
		}
	}
	c := policy.Diff(from, to)
	if len(c.AddRules) != 1 || len(c.RemoveRules) != 2 || len(c.AddGroupings) != 1 || len(c.RemoveGroupings) != 0 ||
		len(c.AddPurposes) != 2 || !slices.Equal(c.RetirePurposes, []string{"research"}) {
		t.Errorf("Diff = %+v, want 1 rule added, 2 removed, 1 grouping added, 2 purposes added and research retired", c)
	}
	next, err := from.Apply(c)
	if err != nil {
		t.Fatalf("Apply(Diff) = %v", err)
	}
	got, err := next.Digest()
	if err != nil {
		t.Fatal(err)
	}
	want, err := to.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Apply(Diff(from, to)) differs from to: %d rules, %d groupings, %d purposes; want %d, %d, %d",
			len(next.Rules), len(next.Groupings), len(next.Purposes), len(to.Rules), len(to.Groupings), len(to.Purposes))
	}
	if c := policy.Diff(from, from.Clone()); !c.IsZero() {
		t.Errorf("Diff of equal policies = %+v, want none", c)
	}
}

func TestImpact(t *testing.T) {
	base := policytest.MatrixPolicy()
	benefits := policy.Purpose{Code: "benefits", TitleZh: "福利", TitleEn: "Benefits", LegalBasis: "law"}
	const med = "medical-treatment"
	type fc = policy.FieldChange
	for _, c := range []struct {
		name   string
		change policy.Change
		want   []fc
	}{
		{"allow, inherited by two roles", policy.Change{AddRules: []policy.Rule{rule(t, "p, clerk, housing, identity.gender, reveal, "+hpe+", allow")}}, []fc{
			{"housing", "clerk", hpe, "identity.gender", policy.Deny, policy.Reveal},
			{"housing", "senior-clerk", hpe, "identity.gender", policy.Deny, policy.Reveal},
			{"housing", "supervisor", hpe, "identity.gender", policy.Deny, policy.Reveal},
		}},
		{"deny commit on the middle role", policy.Change{AddRules: []policy.Rule{rule(t, "p, senior-clerk, housing, tax.annualIncome, commit, *, deny")}}, []fc{
			{"housing", "senior-clerk", hpe, "tax.annualIncome", policy.Commit, policy.Deny},
		}},
		{"remove the deny that made a commit", policy.Change{RemoveRules: []policy.Rule{rule(t, "p, clerk, housing, property.address, reveal, *, deny")}}, []fc{
			{"housing", "clerk", hpe, "property.address", policy.Commit, policy.Reveal},
			{"housing", "senior-clerk", hpe, "property.address", policy.Commit, policy.Reveal},
			{"housing", "supervisor", hpe, "property.address", policy.Commit, policy.Reveal},
		}},
		{"remove a grouping", policy.Change{RemoveGroupings: []policy.Grouping{grouping(t, "g, head-nurse, nurse, health")}}, []fc{
			{"health", "head-nurse", med, "health.vaccinations", policy.Reveal, policy.Deny},
		}},
		{"add a purpose that a * rule covers", policy.Change{AddPurposes: []policy.Purpose{benefits}}, []fc{
			{"health", "researcher", "benefits", "health.bloodType", policy.Deny, policy.Commit},
			{"health", "researcher", "benefits", "health.chronicConditions", policy.Deny, policy.Commit},
		}},
		{"retire a purpose", policy.Change{RetirePurposes: []string{"research"}, RemoveRules: []policy.Rule{rule(t, "p, researcher, health, health.chronicConditions, commit, research, deny")}}, []fc{
			{"health", "researcher", "research", "health.bloodType", policy.Commit, policy.Deny},
		}},
		{"no effect", policy.Change{AddRules: []policy.Rule{rule(t, "p, clerk, housing, tax.year, reveal, audit, deny")}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			next, err := base.Apply(c.change)
			if err != nil {
				t.Fatalf("Apply = %v", err)
			}
			got, err := policy.Impact(t.Context(), newSnapshot(t, base), newSnapshot(t, next), c.change, policytest.Fields())
			if err != nil {
				t.Fatalf("Impact = %v", err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("Impact(%s) =\n%v\nwant\n%v", c.name, got, c.want)
			}
			// Lazily loaded snapshots give the same answer; for a purpose
			// change one of them must hold its whole set.
			purposes := len(c.change.AddPurposes)+len(c.change.RetirePurposes) > 0
			lazy, err := policy.Impact(t.Context(), loadSnapshot(t, base), loadSnapshot(t, next), c.change, policytest.Fields())
			if purposes {
				if err == nil {
					t.Errorf("Impact(%s) over two loaded snapshots = nil error, want an error", c.name)
				}
				lazy, err = policy.Impact(t.Context(), loadSnapshot(t, base), newSnapshot(t, next), c.change, policytest.Fields())
			}
			if err != nil {
				t.Fatalf("Impact(loaded snapshots) = %v", err)
			}
			if !slices.Equal(lazy, c.want) {
				t.Errorf("Impact(%s) over loaded snapshots =\n%v\nwant\n%v", c.name, lazy, c.want)
			}
		})
	}
}

// TestImpactIsComplete applies random changes to the matrix policy and
// compares Impact with every decision that differs, found by brute force
// over every department, role, purpose and field of either policy.
func TestImpactIsComplete(t *testing.T) {
	base := policytest.MatrixPolicy()
	fields := policytest.Fields()
	depts := []string{"housing", "tax", "health", "education"}
	roles := []string{"clerk", "senior-clerk", "supervisor", "auditor", "doctor", "nurse", "head-nurse", "researcher", "intern"}
	purposes := []string{hpe, "tax-administration", "medical-treatment", "audit", "research", "benefits", "*"}
	extra := policy.Purpose{Code: "benefits", TitleZh: "福利", TitleEn: "Benefits", LegalBasis: "law"}
	pick := func(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }
	changes := 0
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var c policy.Change
		if rng.IntN(4) == 0 {
			c.AddPurposes = []policy.Purpose{extra}
		}
		for range 1 + rng.IntN(3) {
			r := policy.Rule{
				Role: pick(rng, roles), Department: pick(rng, depts[:3]), Object: pick(rng, fields),
				Action: policy.Action(pick(rng, []string{"reveal", "commit"})), Purpose: pick(rng, purposes[:5]),
				Effect: policy.Effect(pick(rng, []string{"allow", "allow", "deny"})),
			}
			if sens, _ := (policytest.Catalog{}).Field(r.Object); r.Action == policy.ActionCommit && !sens {
				r.Action = policy.ActionReveal
			}
			if rng.IntN(4) == 0 {
				r.Object = strings.Split(r.Object, ".")[0] + ".*"
			}
			if rng.IntN(5) == 0 {
				r.Purpose = "*"
			}
			if !slices.Contains(base.Rules, r) && !slices.Contains(c.AddRules, r) {
				c.AddRules = append(c.AddRules, r)
			}
		}
		if rng.IntN(2) == 0 {
			r := base.Rules[rng.IntN(len(base.Rules))]
			if !slices.Contains(c.RemoveRules, r) {
				c.RemoveRules = append(c.RemoveRules, r)
			}
		}
		if rng.IntN(3) == 0 {
			c.RemoveGroupings = []policy.Grouping{base.Groupings[rng.IntN(len(base.Groupings))]}
		}
		if rng.IntN(3) == 0 {
			c.AddGroupings = []policy.Grouping{{Member: "intern", Role: pick(rng, roles[:3]), Department: "housing"}}
		}
		next, err := base.Apply(c)
		if err != nil {
			t.Fatalf("seed %d: Apply = %v", seed, err)
		}
		before, after := newSnapshot(t, base), newSnapshot(t, next)
		got, err := policy.Impact(t.Context(), before, after, c, fields)
		if err != nil {
			t.Fatalf("seed %d: Impact = %v", seed, err)
		}
		var want []policy.FieldChange
		for _, d := range depts {
			for _, r := range roles {
				for _, p := range purposes {
					for _, f := range fields {
						sub := policy.Subject{Department: d, Role: r}
						b, a := before.Decide(sub, f, p), after.Decide(sub, f, p)
						if a != b {
							want = append(want, policy.FieldChange{Department: d, Role: r, Purpose: p, Field: f, Before: b, After: a})
						}
					}
				}
			}
		}
		slices.SortFunc(want, func(x, y policy.FieldChange) int {
			return strings.Compare(fmt.Sprint(x.Department, "\x00", x.Role, "\x00", x.Purpose, "\x00", x.Field),
				fmt.Sprint(y.Department, "\x00", y.Role, "\x00", y.Purpose, "\x00", y.Field))
		})
		if !slices.Equal(got, want) {
			t.Errorf("seed %d: change %+v:\nImpact = %v\nbrute force = %v", seed, c, got, want)
		}
		changes += len(want)
	}
	if changes < 40 {
		t.Errorf("only %d decisions moved over all seeds; the test exercises too little", changes)
	}
}

func TestExplainReasons(t *testing.T) {
	s := newSnapshot(t, policytest.MatrixPolicy())
	for _, c := range []struct {
		dept, role, field, purpose string
		level                      policy.Level
		matched                    []string
		reason                     string
	}{
		{"housing", "clerk", "identity.name", hpe, policy.Reveal,
			[]string{"p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow"},
			"Reveal is allowed by 1 allow rule and no deny rule matches."},
		{"housing", "supervisor", "identity.name", hpe, policy.Reveal,
			[]string{"p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow"},
			"Reveal is allowed by 1 allow rule and no deny rule matches."},
		{"housing", "clerk", "property.address", hpe, policy.Commit,
			[]string{
				"p, clerk, housing, property.*, reveal, home-purchase-eligibility, allow",
				"p, clerk, housing, property.address, commit, home-purchase-eligibility, allow",
				"p, clerk, housing, property.address, reveal, *, deny",
			},
			"Reveal is denied by 1 deny rule; commit is allowed by 1 allow rule and no deny rule matches, so only the commitment is released."},
		{"housing", "clerk", "identity.gender", hpe, policy.Deny, nil,
			"No rule matches, so access is denied by default."},
		{"housing", "clerk", "tax.year", hpe, policy.Deny, nil,
			"No reveal rule matches, and the field is not sensitive, so the commit rules that match do not apply: access is denied by default."},
		{"tax", "clerk", "health.vaccinations", "audit", policy.Deny,
			[]string{"p, clerk, tax, *, reveal, audit, allow", "p, clerk, tax, health.*, reveal, *, deny"},
			"Reveal is denied by 1 deny rule; the field is not sensitive, so it has no commitment to release."},
		{"tax", "clerk", "health.bloodType", "audit", policy.Deny,
			[]string{"p, clerk, tax, *, reveal, audit, allow", "p, clerk, tax, health.*, reveal, *, deny"},
			"Reveal is denied by 1 deny rule; commit is not allowed by any rule."},
		{"health", "researcher", "health.chronicConditions", "research", policy.Deny,
			[]string{"p, researcher, health, health.*, commit, *, allow", "p, researcher, health, health.chronicConditions, commit, research, deny"},
			"Reveal is not allowed by any rule; commit is denied by 1 deny rule."},
		{"housing", "clerk", "identity.name", "espionage", policy.Deny, nil,
			`Purpose "espionage" is not registered, so nothing may be read for it.`},
		{"housing", "clerk", "identity.shoeSize", hpe, policy.Deny, nil,
			`There is no field "identity.shoeSize", so nothing of it may be read.`},
		{"education", "clerk", "identity.name", hpe, policy.Deny, nil,
			"No rule matches, so access is denied by default."},
	} {
		sub := policy.Subject{Department: c.dept, Role: c.role}
		t.Run(fmt.Sprintf("%s/%s/%s/%s", c.dept, c.role, c.field, c.purpose), func(t *testing.T) {
			x, err := s.Explain(t.Context(), sub, c.field, c.purpose)
			if err != nil {
				t.Fatalf("Explain = %v", err)
			}
			var matched []string
			for _, r := range x.Matched {
				matched = append(matched, r.String())
			}
			if x.Level != c.level || !slices.Equal(matched, c.matched) || x.Reason != c.reason {
				t.Errorf("Explain(%v, %q, %q) =\n%v %q\n%q\nwant\n%v %q\n%q", sub, c.field, c.purpose,
					x.Level, matched, x.Reason, c.level, c.matched, c.reason)
			}
		})
	}
}
