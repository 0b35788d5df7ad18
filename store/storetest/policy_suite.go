package storetest

import (
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/policy/policytest"
)

// policyModel is a copy of policy's embedded model.conf (the package does not export it): the
// suite checks that what the adapter loads makes a real enforcer decide as the rules say.
const policyModel = `
[request_definition]
r = sub, dom, obj, act, pur

[policy_definition]
p = sub, dom, obj, act, pur, eft

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.dom == p.dom && r.act == p.act && (p.pur == "*" || r.pur == p.pur) && keyMatch(r.obj, p.obj) && g(r.sub, p.sub, r.dom)
`

// testPolicy checks the policy versions (policy.Storage) and the Casbin adapter (policy.Loader).
func testPolicy(t *testing.T, newEnv func(testing.TB) *Env) {
	t.Run("Versions", func(t *testing.T) { testPolicyVersions(t, newEnv(t)) })
	t.Run("Adapter", func(t *testing.T) { testPolicyAdapter(t, newEnv(t)) })
	t.Run("RacingSaves", func(t *testing.T) { testPolicyRacingSaves(t, newEnv(t)) })
	t.Run("Large", func(t *testing.T) { testPolicyLarge(t, newEnv(t)) })
	t.Run("Damaged", func(t *testing.T) { testPolicyDamaged(t, newEnv(t)) })
	// policy's authorization matrix, decided by an engine reading its rules through the adapter.
	t.Run("Matrix", func(t *testing.T) {
		policytest.RunLoader(t, func(t *testing.T, set policy.Set) policy.Loader {
			s := newEnv(t).Store
			info, err := set.Info()
			if err != nil {
				t.Fatalf("Info() = %v", err)
			}
			if err := s.SaveVersion(t.Context(), info, set.Rules); err != nil {
				t.Fatalf("SaveVersion(%d) = %v", set.Version, err)
			}
			return s.PolicyAdapter()
		})
	})
}

func rule(line string) policy.Rule {
	f := strings.Split(line, ", ")
	return policy.Rule{Role: f[0], Department: f[1], Object: f[2], Action: policy.Action(f[3]), Purpose: f[4], Effect: policy.Effect(f[5])}
}

var testPurposes = []policy.Purpose{
	{Code: "home-purchase-eligibility", TitleZh: "购房资格审核", TitleEn: "Home-purchase eligibility review", LegalBasis: "住房限购政策"},
	{Code: "tax-audit", TitleZh: "税务稽查", TitleEn: "Tax audit", LegalBasis: "税收征收管理法"},
}

// samplePolicy is version 1 of the suite's policy, its rules deliberately out of order.
func samplePolicy() policy.Set {
	return policy.Set{
		Version: 1,
		Rules: []policy.Rule{
			rule("officer, tax, tax.year, reveal, *, allow"),
			rule("clerk, housing, identity.name, reveal, home-purchase-eligibility, allow"),
			rule("clerk, housing, identity.*, commit, *, allow"),
			rule("clerk, housing, identity.nationalId, commit, *, deny"),
			rule("auditor, housing, *, commit, *, allow"),
			rule("auditor, housing, health.*, commit, *, deny"),
			rule("clerk, housing, tax, list, tax-audit, allow"),
		},
		Groupings: []policy.Grouping{
			{Member: "senior-clerk", Role: "clerk", Department: "housing"},
			{Member: "chief", Role: "officer", Department: "tax"},
		},
		Purposes: testPurposes,
	}
}

// policyInfo returns the version info of set with its provenance filled in.
func policyInfo(t testing.TB, set policy.Set, proposal string) policy.VersionInfo {
	t.Helper()
	info, err := set.Info()
	if err != nil {
		t.Fatalf("Set.Info = %v", err)
	}
	info.Created = time.Date(2026, 11, 21, 6, 30, 5, 123e6, time.UTC)
	info.ProposalID, info.ProposedBy, info.ApprovedBy, info.Reason = proposal, "officer-li", "officer-wang", "法规更新 (law update)"
	return info
}

func sortedRules(rules []policy.Rule) []policy.Rule {
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b policy.Rule) int {
		return cmp.Or(cmp.Compare(a.Department, b.Department), cmp.Compare(a.Role, b.Role), cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Action, b.Action), cmp.Compare(a.Purpose, b.Purpose), cmp.Compare(a.Effect, b.Effect))
	})
	return rules
}

func testPolicyVersions(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if v, err := s.LatestVersion(ctx, 0); err != nil || v != 0 {
		t.Fatalf("LatestVersion(0) on an empty store = %d, %v; want 0, nil", v, err)
	}
	if _, err := s.VersionInfo(ctx, 1); !errors.Is(err, policy.ErrNotFound) {
		t.Fatalf("VersionInfo(1) on an empty store = %v, want ErrNotFound", err)
	}
	if _, err := s.AllRules(ctx, 1); !errors.Is(err, policy.ErrNotFound) {
		t.Fatalf("AllRules(1) on an empty store = %v, want ErrNotFound", err)
	}

	set := samplePolicy()
	want := policyInfo(t, set, "P-1")

	// Saves that do not describe their rules are refused, and store nothing.
	zero := want
	zero.Version = 0
	miscounted := want
	miscounted.Rules++
	wrongDigest := want
	wrongDigest.Digest = bytes.Repeat([]byte{1}, 32)
	badRules := slices.Clone(set.Rules)
	badRules[0].Object = "tax,year"
	for _, tc := range []struct {
		name  string
		info  policy.VersionInfo
		rules []policy.Rule
	}{
		{"version 0", zero, set.Rules},
		{"rule count", miscounted, set.Rules},
		{"digest", wrongDigest, set.Rules},
		{"other rules", want, set.Rules[1:]},
		{"malformed rule", want, badRules},
	} {
		if err := s.SaveVersion(ctx, tc.info, tc.rules); err == nil || errors.Is(err, policy.ErrVersionExists) {
			t.Errorf("SaveVersion(%s) = %v, want an error describing the mismatch", tc.name, err)
		}
	}
	if _, err := s.VersionInfo(ctx, 1); !errors.Is(err, policy.ErrNotFound) {
		t.Fatalf("VersionInfo(1) after refused saves = %v, want ErrNotFound", err)
	}

	if err := s.SaveVersion(ctx, want, set.Rules); err != nil {
		t.Fatalf("SaveVersion(1) = %v", err)
	}
	got, err := s.VersionInfo(ctx, 1)
	if err != nil {
		t.Fatalf("VersionInfo(1) = %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("VersionInfo(1) =\n%#v\nwant\n%#v", got, want)
	}
	rules, err := s.AllRules(ctx, 1)
	if err != nil {
		t.Fatalf("AllRules(1) = %v", err)
	}
	if w := sortedRules(set.Rules); !reflect.DeepEqual(rules, w) {
		t.Errorf("AllRules(1) =\n%v\nwant\n%v", rules, w)
	}

	// A second save of the same number loses, and leaves the first intact.
	other := set
	other.Rules = []policy.Rule{rule("clerk, housing, identity.*, reveal, *, allow")}
	if err := s.SaveVersion(ctx, policyInfo(t, other, "P-2"), other.Rules); !errors.Is(err, policy.ErrVersionExists) {
		t.Fatalf("SaveVersion(1) again = %v, want ErrVersionExists", err)
	}
	if got, err := s.VersionInfo(ctx, 1); err != nil || got.ProposalID != "P-1" || !bytes.Equal(got.Digest, want.Digest) {
		t.Errorf("VersionInfo(1) after a losing save = %+v, %v; want the first save's", got, err)
	}
	if rules, err := s.AllRules(ctx, 1); err != nil || !reflect.DeepEqual(rules, sortedRules(set.Rules)) {
		t.Errorf("AllRules(1) after a losing save = %v, %v; want the first save's rules", rules, err)
	}
	checkPartitionDocs(t, env, departments(set.Rules))

	// An empty version is a version.
	empty := policy.Set{Version: 2, Purposes: testPurposes}
	if err := s.SaveVersion(ctx, policyInfo(t, empty, "P-3"), nil); err != nil {
		t.Fatalf("SaveVersion(2, no rules) = %v", err)
	}
	if rules, err := s.AllRules(ctx, 2); err != nil || len(rules) != 0 {
		t.Errorf("AllRules(2) = %v, %v; want no rules", rules, err)
	}
	three := set
	three.Version = 3
	if err := s.SaveVersion(ctx, policyInfo(t, three, "P-4"), three.Rules); err != nil {
		t.Fatalf("SaveVersion(3) = %v", err)
	}
	for _, tc := range []struct{ hint, want uint64 }{{0, 3}, {1, 3}, {2, 3}, {3, 3}} {
		if got, err := s.LatestVersion(ctx, tc.hint); err != nil || got != tc.want {
			t.Errorf("LatestVersion(%d) = %d, %v; want %d", tc.hint, got, err, tc.want)
		}
	}
	// A version with a predicate catalogue keeps it, under its digest.
	four := set
	four.Version = 4
	four.Predicates = []policy.Predicate{{Name: "atLeast60", Field: "socialInsurance.contributionMonths",
		Statement: policy.Statement{Kind: "atLeast", Min: 60}}}
	four.Rules = append(slices.Clone(set.Rules), rule("clerk, housing, socialInsurance.contributionMonths:atLeast60, prove, home-purchase-eligibility, allow"))
	info4 := policyInfo(t, four, "P-5")
	if err := s.SaveVersion(ctx, info4, four.Rules); err != nil {
		t.Fatalf("SaveVersion(4, with predicates) = %v", err)
	}
	if got, err := s.VersionInfo(ctx, 4); err != nil || !reflect.DeepEqual(got, info4) {
		t.Errorf("VersionInfo(4) = %#v, %v\nwant %#v", got, err, info4)
	}
	if _, err := s.AllRules(ctx, 4); err != nil {
		t.Errorf("AllRules(4) = %v", err)
	}
	five := four
	five.Version = 5
	lost := policyInfo(t, five, "P-6")
	lost.Predicates = nil // the digest still covers the catalogue: refused
	if err := s.SaveVersion(ctx, lost, four.Rules); err == nil {
		t.Errorf("SaveVersion with a digest over predicates it does not carry = nil error")
	}
	// A version with certificate types keeps them, under its digest.
	five.CertificateTypes = []policy.CertificateType{{Code: "home-purchase-eligibility", TitleZh: "购房资格证明", TitleEn: "Home-purchase eligibility",
		Department: "housing", Role: "clerk", Purpose: five.Purposes[0].Code, Claims: []policy.Claim{{Name: "eligible", Expr: "true"}},
		Rule: `socialInsurance.contributionMonths >= 60`, Since: 5}}
	info5 := policyInfo(t, five, "P-7")
	if err := s.SaveVersion(ctx, info5, five.Rules); err != nil {
		t.Fatalf("SaveVersion(5, with certificate types) = %v", err)
	}
	if got, err := s.VersionInfo(ctx, 5); err != nil || !reflect.DeepEqual(got, info5) {
		t.Errorf("VersionInfo(5) = %#v, %v\nwant %#v", got, err, info5)
	}
	if _, err := s.AllRules(ctx, 5); err != nil {
		t.Errorf("AllRules(5) = %v", err)
	}
}

// enforcement is one request and the decision the loaded rules should give it.
type enforcement struct {
	sub, dom, obj, act, pur string
	want                    bool
}

func checkEnforce(t *testing.T, e *casbin.Enforcer, loaded string, cases []enforcement) {
	t.Helper()
	for _, c := range cases {
		got, err := e.Enforce(c.sub, c.dom, c.obj, c.act, c.pur)
		if err != nil || got != c.want {
			t.Errorf("with %s: Enforce(%s, %s, %s, %s, %s) = %v, %v; want %v", loaded, c.sub, c.dom, c.obj, c.act, c.pur, got, err, c.want)
		}
	}
}

func newPolicyEnforcer(t testing.TB, a persist.Adapter) *casbin.Enforcer {
	t.Helper()
	m, err := model.NewModelFromString(policyModel)
	if err != nil {
		t.Fatalf("NewModelFromString = %v", err)
	}
	e, err := casbin.NewEnforcer(m, a)
	if err != nil {
		t.Fatalf("NewEnforcer = %v", err)
	}
	return e
}

func rows(t testing.TB, e *casbin.Enforcer) (p, g []string) {
	t.Helper()
	ps, err := e.GetPolicy()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := e.GetGroupingPolicy()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ps {
		p = append(p, strings.Join(r, ", "))
	}
	for _, r := range gs {
		g = append(g, strings.Join(r, ", "))
	}
	slices.Sort(p)
	slices.Sort(g)
	return p, g
}

func testPolicyAdapter(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()

	// With no version stored, a whole load is empty.
	e := newPolicyEnforcer(t, s.PolicyAdapter())
	if p, g := rows(t, e); len(p)+len(g) != 0 {
		t.Fatalf("NewEnforcer on an empty store loaded %v and %v, want nothing", p, g)
	}

	set := samplePolicy()
	if err := s.SaveVersion(ctx, policyInfo(t, set, "P-1"), set.Rules); err != nil {
		t.Fatal(err)
	}
	a := s.PolicyAdapter()
	e = newPolicyEnforcer(t, a) // loads version 1 whole
	if a.IsFiltered() {
		t.Errorf("IsFiltered after a whole load = true, want false")
	}
	if p, g := rows(t, e); len(p) != len(set.Rules) || len(g) != len(set.Groupings) {
		t.Errorf("whole load of version 1: %d rules and %d groupings, want %d and %d", len(p), len(g), len(set.Rules), len(set.Groupings))
	}
	checkEnforce(t, e, "version 1", []enforcement{
		{"senior-clerk", "housing", "identity.name", "reveal", "home-purchase-eligibility", true},
		{"auditor", "housing", "identity.name", "commit", "tax-audit", true},
		{"auditor", "housing", "health.bloodType", "commit", "tax-audit", false},
		{"chief", "tax", "tax.year", "reveal", "tax-audit", true},
	})

	housingGroups := []string{"senior-clerk, clerk, housing"}
	for _, tc := range []struct {
		filter   any
		rules    int
		groups   []string
		enforces []enforcement
	}{
		{policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "identity"}, 3, housingGroups, []enforcement{
			{"clerk", "housing", "identity.name", "reveal", "home-purchase-eligibility", true},
			{"senior-clerk", "housing", "identity.name", "reveal", "home-purchase-eligibility", true},
			{"clerk", "housing", "identity.name", "reveal", "tax-audit", false},
			{"clerk", "housing", "identity.address", "commit", "tax-audit", true},
			{"clerk", "housing", "identity.nationalId", "commit", "tax-audit", false},
			{"auditor", "housing", "identity.name", "commit", "tax-audit", false}, // its rule is in partition *
			{"clerk", "tax", "identity.name", "reveal", "home-purchase-eligibility", false},
		}},
		{&policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "*"}, 1, housingGroups, []enforcement{
			{"auditor", "housing", "identity.name", "commit", "tax-audit", true},
			{"auditor", "housing", "tax.year", "commit", "home-purchase-eligibility", true},
			{"clerk", "housing", "identity.name", "reveal", "home-purchase-eligibility", false},
		}},
		{policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "health"}, 1, housingGroups, []enforcement{
			{"auditor", "housing", "health.bloodType", "commit", "tax-audit", false},
		}},
		{policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "tax"}, 1, housingGroups, []enforcement{
			{"senior-clerk", "housing", "tax", "list", "tax-audit", true},
			{"clerk", "housing", "tax", "list", "home-purchase-eligibility", false},
		}},
		// A partition without rules: only the groupings, and no error.
		{policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "marriage"}, 0, housingGroups, []enforcement{
			{"clerk", "housing", "marriage.maritalStatus", "reveal", "home-purchase-eligibility", false},
		}},
		{policy.PartitionFilter{Version: 1, Department: "tax", Dataset: "tax"}, 1, []string{"chief, officer, tax"}, []enforcement{
			{"chief", "tax", "tax.year", "reveal", "tax-audit", true},
			{"chief", "housing", "tax.year", "reveal", "tax-audit", false},
		}},
		// A department without rules or groupings: nothing, and no error.
		{policy.PartitionFilter{Version: 1, Department: "transport", Dataset: "identity"}, 0, nil, nil},
	} {
		name := fmt.Sprintf("%+v", tc.filter)
		if err := e.LoadFilteredPolicy(tc.filter); err != nil {
			t.Errorf("LoadFilteredPolicy(%s) = %v", name, err)
			continue
		}
		if !a.IsFiltered() {
			t.Errorf("IsFiltered after LoadFilteredPolicy(%s) = false, want true", name)
		}
		p, g := rows(t, e)
		if len(p) != tc.rules || !slices.Equal(g, tc.groups) {
			t.Errorf("LoadFilteredPolicy(%s) loaded rules %q and groupings %q, want %d rules and groupings %q", name, p, g, tc.rules, tc.groups)
		}
		checkEnforce(t, e, name, tc.enforces)
	}

	// The context variant loads the same rows into a bare model.
	m, err := model.NewModelFromString(policyModel)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.LoadFilteredPolicyCtx(ctx, m, policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "identity"}); err != nil {
		t.Fatalf("LoadFilteredPolicyCtx = %v", err)
	}
	if p, _ := m.GetPolicy("p", "p"); !slices.ContainsFunc(p, func(r []string) bool {
		return strings.Join(r, ", ") == "clerk, housing, identity.name, reveal, home-purchase-eligibility, allow"
	}) || len(p) != 3 {
		t.Errorf("LoadFilteredPolicyCtx loaded %q, want the 3 rules of housing/identity", p)
	}

	for _, filter := range []any{
		policy.PartitionFilter{Version: 7, Department: "housing", Dataset: "identity"},
		policy.PartitionFilter{Version: 0, Department: "housing", Dataset: "identity"},
	} {
		if err := a.LoadFilteredPolicy(m, filter); !errors.Is(err, policy.ErrNotFound) {
			t.Errorf("LoadFilteredPolicy(%+v) = %v, want ErrNotFound", filter, err)
		}
	}
	for _, filter := range []any{"housing/identity", (*policy.PartitionFilter)(nil), nil, policy.PartitionFilter{Version: 1}} {
		if err := a.LoadFilteredPolicy(m, filter); err == nil {
			t.Errorf("LoadFilteredPolicy(%#v) = nil, want an error", filter)
		}
	}

	// Versions are read-only through Casbin.
	for name, err := range map[string]error{
		"SavePolicy":           a.SavePolicy(m),
		"AddPolicy":            a.AddPolicy("p", "p", []string{"clerk", "housing", "tax.year", "reveal", "*", "allow"}),
		"RemovePolicy":         a.RemovePolicy("p", "p", []string{"clerk", "housing", "identity.*", "commit", "*", "allow"}),
		"RemoveFilteredPolicy": a.RemoveFilteredPolicy("p", "p", 0, "clerk"),
		"SavePolicyCtx":        a.SavePolicyCtx(ctx, m),
	} {
		if err == nil || !strings.Contains(err.Error(), "proposals and approvals") {
			t.Errorf("%s = %v, want an error sending changes through proposals and approvals", name, err)
		}
	}
	if _, err := e.AddPolicy("clerk", "housing", "tax.year", "reveal", "*", "allow"); err == nil {
		t.Errorf("Enforcer.AddPolicy = nil, want the adapter's error")
	}
	if rules, err := s.AllRules(ctx, 1); err != nil || len(rules) != len(set.Rules) {
		t.Errorf("AllRules(1) after refused changes = %d rules, %v; want %d", len(rules), err, len(set.Rules))
	}

	// Partitions load concurrently through one fresh adapter.
	fresh := s.PolicyAdapter()
	filters := []policy.PartitionFilter{
		{Version: 1, Department: "housing", Dataset: "identity"}, {Version: 1, Department: "housing", Dataset: "*"},
		{Version: 1, Department: "housing", Dataset: "health"}, {Version: 1, Department: "housing", Dataset: "tax"},
		{Version: 1, Department: "tax", Dataset: "tax"}, {Version: 1, Department: "tax", Dataset: "identity"},
	}
	wantRows := []int{3 + 1, 1 + 1, 1 + 1, 1 + 1, 1 + 1, 0 + 1}
	var wg sync.WaitGroup
	for range 4 {
		for i, f := range filters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := model.NewModelFromString(policyModel)
				if err != nil {
					t.Error(err)
					return
				}
				if err := fresh.LoadFilteredPolicyCtx(ctx, m, f); err != nil {
					t.Errorf("concurrent LoadFilteredPolicyCtx(%+v) = %v", f, err)
					return
				}
				p, _ := m.GetPolicy("p", "p")
				g, _ := m.GetPolicy("g", "g")
				if len(p)+len(g) != wantRows[i] {
					t.Errorf("concurrent LoadFilteredPolicyCtx(%+v) loaded %q and %q, want %d rows", f, p, g, wantRows[i])
				}
			}()
		}
	}
	wg.Wait()

	// A whole load takes the latest version; filtered loads still read the one they name.
	two := policy.Set{Version: 2, Purposes: testPurposes,
		Rules:     []policy.Rule{rule("clerk, housing, identity.*, reveal, *, allow")},
		Groupings: []policy.Grouping{{Member: "intern", Role: "clerk", Department: "housing"}}}
	if err := s.SaveVersion(ctx, policyInfo(t, two, "P-2"), two.Rules); err != nil {
		t.Fatal(err)
	}
	if err := e.LoadPolicy(); err != nil {
		t.Fatalf("LoadPolicy = %v", err)
	}
	if a.IsFiltered() {
		t.Errorf("IsFiltered after LoadPolicy = true, want false")
	}
	checkEnforce(t, e, "version 2", []enforcement{
		{"intern", "housing", "identity.nationalId", "reveal", "tax-audit", true},
		{"senior-clerk", "housing", "identity.name", "reveal", "home-purchase-eligibility", false},
		{"chief", "tax", "tax.year", "reveal", "tax-audit", false},
	})
	if err := e.LoadFilteredPolicy(policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "identity"}); err != nil {
		t.Fatal(err)
	}
	checkEnforce(t, e, "version 1 housing/identity", []enforcement{
		{"intern", "housing", "identity.nationalId", "reveal", "tax-audit", false},
		{"senior-clerk", "housing", "identity.name", "reveal", "home-purchase-eligibility", true},
	})

	// Many versions through one adapter: each load reads the version it names.
	for v := uint64(3); v <= 9; v++ {
		set := policy.Set{Version: v, Purposes: testPurposes,
			Rules: []policy.Rule{rule(fmt.Sprintf("clerk-%d, housing, identity.name, reveal, *, allow", v))}}
		if err := s.SaveVersion(ctx, policyInfo(t, set, fmt.Sprint("P-", v)), set.Rules); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []uint64{3, 4, 5, 6, 7, 8, 9, 3, 1, 9} {
		if err := e.LoadFilteredPolicy(policy.PartitionFilter{Version: v, Department: "housing", Dataset: "identity"}); err != nil {
			t.Fatalf("LoadFilteredPolicy(version %d) = %v", v, err)
		}
		checkEnforce(t, e, fmt.Sprintf("version %d", v), []enforcement{
			{fmt.Sprintf("clerk-%d", v), "housing", "identity.name", "reveal", "tax-audit", v >= 3},
			{"clerk-5", "housing", "identity.name", "reveal", "tax-audit", v == 5},
			{"senior-clerk", "housing", "identity.name", "reveal", "home-purchase-eligibility", v == 1},
		})
	}
}

// testPolicyDamaged: a partition document whose rules do not inflate, or inflate to more than any
// chunk SaveVersion writes, fails the load with an error naming it; nothing is added to the model.
func testPolicyDamaged(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	set := samplePolicy()
	if err := s.SaveVersion(ctx, policyInfo(t, set, "P-1"), set.Rules); err != nil {
		t.Fatal(err)
	}
	var vd struct {
		Attempt string `bson:"attempt"`
	}
	if err := env.DB.Collection("policy_versions").FindOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000001"}}).Decode(&vd); err != nil {
		t.Fatal(err)
	}
	id := "00000000000000000001/" + vd.Attempt + "/housing/_"
	var bomb bytes.Buffer
	w, err := flate.NewWriter(&bomb, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("p, clerk, housing, identity.name, reveal, tax-audit, allow\n")
	for range (1 << 20) / len(line) { // 1 MiB of valid rules: more than a chunk holds
		_, _ = w.Write(line)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		lines []byte
		want  string
	}{
		{"not DEFLATE", []byte("p, clerk, housing, identity.name, reveal, tax-audit, allow\n"), "inflating"},
		{"a bomb", bomb.Bytes(), "more than"},
	} {
		if _, err := env.DB.Collection("policy_partitions").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "lines", Value: tc.lines}}}}); err != nil {
			t.Fatal(err)
		}
		m, err := model.NewModelFromString(policyModel)
		if err != nil {
			t.Fatal(err)
		}
		err = s.PolicyAdapter().LoadFilteredPolicy(m, policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "identity"})
		if err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: LoadFilteredPolicy = %v, want an error naming %s and saying %q", tc.name, err, id, tc.want)
		}
		if n := len(m["p"]["p"].Policy); n != 0 {
			t.Errorf("%s: %d rules added to the model, want none", tc.name, n)
		}
	}

	// A version document listing, besides its department's partition, another one the adapter
	// would not read (here a deny rule on housing/identity, the counts adjusted to match) is
	// refused, rather than served without that rule.
	two := samplePolicy()
	two.Version = 2
	if err := s.SaveVersion(ctx, policyInfo(t, two, "P-2"), two.Rules); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.Collection("policy_versions").FindOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000002"}}).Decode(&vd); err != nil {
		t.Fatal(err)
	}
	var deny bytes.Buffer
	w, err = flate.NewWriter(&deny, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("p, clerk, housing, identity.name, reveal, *, deny\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	extra := "00000000000000000002/" + vd.Attempt + "/housing/identity"
	if _, err := env.DB.Collection("policy_partitions").InsertOne(ctx, bson.D{{Key: "_id", Value: extra}, {Key: "n", Value: 1}, {Key: "lines", Value: deny.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	var parts struct {
		Parts string `bson:"parts"`
	}
	if err := env.DB.Collection("policy_versions").FindOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000002"}}).Decode(&parts); err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.Collection("policy_versions").UpdateOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000002"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "parts", Value: parts.Parts + "housing, identity, 1, 1\n"}, {Key: "rules", Value: len(two.Rules) + 1}}}}); err != nil {
		t.Fatal(err)
	}
	m, err := model.NewModelFromString(policyModel)
	if err != nil {
		t.Fatal(err)
	}
	err = s.PolicyAdapter().LoadFilteredPolicy(m, policy.PartitionFilter{Version: 2, Department: "housing", Dataset: "identity"})
	if err == nil || !strings.Contains(err.Error(), "housing, identity, 1, 1") {
		t.Errorf("LoadFilteredPolicy of a version listing an extra partition = %v, want an error naming it", err)
	}
	if n := len(m["p"]["p"].Policy); n != 0 {
		t.Errorf("%d rules added to the model from a version listing an extra partition, want none", n)
	}
}

// checkPartitionDocs checks that the partition documents of losing saves are gone: want is the
// number of partitions of the saved versions.
func checkPartitionDocs(t *testing.T, env *Env, want int64) {
	t.Helper()
	if n, err := env.DB.Collection("policy_partitions").CountDocuments(t.Context(), bson.D{}); err != nil || n != want {
		t.Errorf("%d partition documents stored (%v), want %d: the losers' should be deleted", n, err, want)
	}
}

func testPolicyRacingSaves(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	// Racers for version 1, each with rules of its own.
	const racers = 6
	sets := make([]policy.Set, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		set := samplePolicy()
		set.Rules = append(set.Rules, rule(fmt.Sprintf("racer-%d, housing, identity.name, reveal, *, allow", i)))
		set.Groupings = append(set.Groupings, policy.Grouping{Member: fmt.Sprintf("racer-%d-deputy", i), Role: fmt.Sprintf("racer-%d", i), Department: "housing"})
		sets[i] = set
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.SaveVersion(ctx, policyInfo(t, set, fmt.Sprint("P-", i)), set.Rules)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("racers %d and %d both saved version 1", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, policy.ErrVersionExists):
			t.Errorf("racer %d: SaveVersion(1) = %v, want nil or ErrVersionExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d racing SaveVersion(1) calls won: %v", racers, errs)
	}
	info, err := s.VersionInfo(ctx, 1)
	if err != nil || info.ProposalID != fmt.Sprint("P-", winner) {
		t.Fatalf("VersionInfo(1) = %+v, %v; want the winner's, P-%d", info, err, winner)
	}
	rules, err := s.AllRules(ctx, 1)
	if err != nil || !reflect.DeepEqual(rules, sortedRules(sets[winner].Rules)) {
		t.Errorf("AllRules(1) = %v, %v; want the winner's rules", rules, err)
	}
	e := newPolicyEnforcer(t, s.PolicyAdapter())
	if err := e.LoadFilteredPolicy(policy.PartitionFilter{Version: 1, Department: "housing", Dataset: "identity"}); err != nil {
		t.Fatal(err)
	}
	var cases []enforcement
	for i := range racers {
		cases = append(cases, enforcement{fmt.Sprintf("racer-%d-deputy", i), "housing", "identity.name", "reveal", "tax-audit", i == winner})
	}
	checkEnforce(t, e, "the winner's version 1", cases)
	checkPartitionDocs(t, env, departments(sets[winner].Rules))
}

// departments counts the departments with rules: each has one stored partition (of one chunk, in
// these small tests).
func departments(rules []policy.Rule) int64 {
	seen := map[string]bool{}
	for _, r := range rules {
		seen[r.Department] = true
	}
	return int64(len(seen))
}

// largePolicy returns a version of n ≥ 20,040 rules: 40 departments with 20 roles, 10 datasets of
// 10 fields and 20 purposes, 5 % deny rules; one rule on "*" per department; and one huge
// partition, department "big" on dataset ds0, of 20,000 rules.
func largePolicy(n int) policy.Set {
	set := policy.Set{Version: 1}
	for p := range 20 {
		set.Purposes = append(set.Purposes, policy.Purpose{Code: fmt.Sprintf("purpose-%d", p),
			TitleZh: fmt.Sprintf("用途 %d", p), TitleEn: fmt.Sprintf("Purpose %d", p), LegalBasis: "Regulation 7"})
	}
	effect := func(k int) policy.Effect {
		if k%20 == 0 {
			return policy.EffectDeny
		}
		return policy.EffectAllow
	}
	for k := range 20000 {
		set.Rules = append(set.Rules, policy.Rule{Role: fmt.Sprintf("role-%d", k%200), Department: "big",
			Object: fmt.Sprintf("ds0.f%d", k/200), Action: policy.ActionReveal, Purpose: fmt.Sprintf("purpose-%d", k%20), Effect: effect(k)})
	}
	for d := range 40 {
		set.Rules = append(set.Rules, policy.Rule{Role: "role-0", Department: fmt.Sprintf("dept-%d", d), Object: "*",
			Action: policy.ActionCommit, Purpose: policy.AnyPurpose, Effect: policy.EffectAllow})
		set.Groupings = append(set.Groupings, policy.Grouping{Member: "role-1", Role: "role-0", Department: fmt.Sprintf("dept-%d", d)})
	}
	for k := range n - len(set.Rules) { // (department, role, object) is k's digits in bases 40, 20, 100
		j := k / 800
		set.Rules = append(set.Rules, policy.Rule{Role: fmt.Sprintf("role-%d", k/40%20), Department: fmt.Sprintf("dept-%d", k%40),
			Object: fmt.Sprintf("ds%d.f%d", j%10, j/10), Action: policy.ActionReveal, Purpose: fmt.Sprintf("purpose-%d", k%20), Effect: effect(k)})
	}
	return set
}

func testPolicyLarge(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	const n = 100_000
	set := largePolicy(n)
	info := policyInfo(t, set, "P-large")

	start := time.Now()
	if err := s.SaveVersion(ctx, info, set.Rules); err != nil {
		t.Fatalf("SaveVersion(%d rules) = %v", n, err)
	}
	t.Logf("SaveVersion, %d rules: %v", n, time.Since(start))

	start = time.Now()
	rules, err := s.AllRules(ctx, 1)
	if err != nil {
		t.Fatalf("AllRules = %v", err)
	}
	t.Logf("AllRules, %d rules: %v", n, time.Since(start))
	if !reflect.DeepEqual(rules, sortedRules(set.Rules)) {
		t.Errorf("AllRules returned %d rules, not the %d saved", len(rules), n)
	}

	// The huge partition is split into chunks (as the version document's partition list says), and
	// loads whole.
	var vd struct {
		Parts string `bson:"parts"`
	}
	if err := env.DB.Collection("policy_versions").FindOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000001"}}).Decode(&vd); err != nil {
		t.Fatal(err)
	}
	chunks := 0
	for line := range strings.SplitSeq(vd.Parts, "\n") {
		if rest, ok := strings.CutPrefix(line, "big, _, "); ok {
			if _, c, ok := strings.Cut(rest, ", "); ok {
				chunks, _ = strconv.Atoi(c)
			}
		}
	}
	if chunks < 2 {
		t.Fatalf("the stored partition of department big (20,001 rules) is in %d chunks, want it split", chunks)
	}
	var want []string
	for _, r := range set.Rules {
		if r.Department == "big" {
			want = append(want, strings.TrimPrefix(r.String(), "p, "))
		}
	}
	slices.Sort(want)

	m, err := model.NewModelFromString(policyModel)
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	a := s.PolicyAdapter()
	e.SetAdapter(a)
	start = time.Now()
	if err := e.LoadFilteredPolicy(policy.PartitionFilter{Version: 1, Department: "big", Dataset: "ds0"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("LoadFilteredPolicy, cold, partition of 20,000 rules in %d chunks: %v", chunks, time.Since(start))
	if p, _ := rows(t, e); !slices.Equal(p, want) {
		t.Errorf("LoadFilteredPolicy(big/ds0) loaded %d rules, want the %d of big", len(p), len(want))
	}
	checkEnforce(t, e, "big/ds0", []enforcement{
		{"role-199", "big", "ds0.f99", "reveal", "purpose-19", true},  // k = 19999
		{"role-199", "big", "ds0.f99", "reveal", "purpose-18", false}, // no such rule
		{"role-0", "big", "ds0.f50", "reveal", "purpose-0", false},    // k = 10000, a deny
	})

	for _, warm := range []bool{false, true} {
		if !warm {
			a = s.PolicyAdapter()
			e.SetAdapter(a)
		}
		start = time.Now()
		if err := e.LoadFilteredPolicy(policy.PartitionFilter{Version: 1, Department: "dept-7", Dataset: "ds3"}); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		p, g := rows(t, e)
		t.Logf("LoadFilteredPolicy, warm %v, partition of %d rules: %v", warm, len(p), took)
		if len(p) != 200 || len(g) != 1 {
			t.Errorf("LoadFilteredPolicy(dept-7/ds3) loaded %d rules and %d groupings, want 200 and 1", len(p), len(g))
		}
		checkEnforce(t, e, "dept-7/ds3", []enforcement{
			{"role-1", "dept-7", "ds3.f0", "reveal", "purpose-7", true},  // k = 2447
			{"role-0", "dept-7", "ds3.f0", "reveal", "purpose-7", true},  // k = 2407
			{"role-1", "dept-7", "ds3.f0", "reveal", "purpose-8", false}, // neither role's rule
			{"role-0", "dept-7", "ds3.f0", "commit", "purpose-7", false}, // the * rule is in partition *
		})
	}

	e2 := newPolicyEnforcer(t, s.PolicyAdapter())
	start = time.Now()
	if err := e2.LoadPolicy(); err != nil {
		t.Fatal(err)
	}
	t.Logf("LoadPolicy, whole version of %d rules: %v", n, time.Since(start))
	if p, _ := rows(t, e2); len(p) != n {
		t.Errorf("LoadPolicy loaded %d rules, want %d", len(p), n)
	}
}
