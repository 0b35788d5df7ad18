// Package policytest is the authorization matrix of package policy, for
// tests: policies (the demonstration policy and a matrix policy in
// testdata/matrix that has a rule for every way a decision can come
// about), tables of (department, role, field, purpose, want) over them,
// and [RunLoader], which runs every table through an engine that reads its
// rules through a caller's [policy.Loader]. store/mongostore runs it over
// its adapter; package policy runs it over [policy.MemoryLoader] and over
// snapshots built from the sets themselves.
//
// The field catalogue is that of ARCHITECTURE §8; see [Catalog].
package policytest

import (
	"bytes"
	"embed"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/govhub/govhub/policy"
)

//go:embed testdata/matrix/rules.csv testdata/matrix/purposes.json
var matrixFS embed.FS

// fields is the catalogue of ARCHITECTURE §8; true marks a sensitive field.
var fields = map[string]bool{
	"identity.name": false, "identity.gender": false, "identity.hukouCity": false,
	"identity.nationalId": true, "identity.birthDate": true, "identity.address": true,
	"marriage.maritalStatus": false, "marriage.spouseCitizenId": true, "marriage.registeredOn": false,
	"socialInsurance.insured": false, "socialInsurance.employer": false,
	"socialInsurance.contributionMonths": true, "socialInsurance.monthlyBase": true,
	"tax.year": false, "tax.annualIncome": true, "tax.taxPaid": true,
	"property.certificateNo": false, "property.city": false, "property.area": false,
	"property.address": true, "property.acquiredOn": false,
	"businessLicense.uscc": false, "businessLicense.companyName": false,
	"businessLicense.legalRepresentative": false, "businessLicense.registeredCapital": false,
	"businessLicense.status": false,
	"health.bloodType":       true, "health.chronicConditions": true, "health.vaccinations": false,
}

// Catalog is the field catalogue of ARCHITECTURE §8 as a [policy.Catalog].
type Catalog struct{}

// Datasets returns the seven dataset names, sorted.
func (Catalog) Datasets() []string {
	var ds []string
	for f := range fields {
		if d, _, _ := strings.Cut(f, "."); !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	return ds
}

// Field reports whether path is sensitive, and whether it exists.
func (Catalog) Field(path string) (sensitive, known bool) {
	s, ok := fields[path]
	return s, ok
}

// FieldKind implements [policy.FieldKinds] for the sensitive fields of the
// catalogue (as package dataset names kinds: "Int", "Date", "String"…), so
// that predicates validate against it; "" for an unknown field.
func (Catalog) FieldKind(path string) string {
	switch path {
	case "socialInsurance.contributionMonths", "socialInsurance.monthlyBase", "tax.annualIncome", "tax.taxPaid", "tax.year":
		return "Int"
	case "identity.birthDate", "marriage.registeredOn", "property.acquiredOn":
		return "Date"
	case "property.area":
		return "Float"
	}
	if _, ok := fields[path]; ok {
		return "String"
	}
	return ""
}

// Fields returns every "dataset.field" name of the catalogue, sorted.
func Fields() []string {
	fs := make([]string, 0, len(fields))
	for f := range fields {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	return fs
}

// Config returns a [policy.Config] over [Catalog].
func Config() policy.Config { return policy.Config{Sensitive: Catalog{}.Field} }

// Case is one field decision of the matrix.
type Case struct {
	Department, Role, Field, Purpose string
	Want                             policy.Level
}

func (c Case) String() string {
	return strings.Join([]string{c.Department, c.Role, c.Field, c.Purpose}, "/")
}

// ActionCase is one dataset-level permission of the matrix.
type ActionCase struct {
	Department, Role string
	Action           policy.Action
	Object, Purpose  string
	Want             bool
}

func (c ActionCase) String() string {
	return strings.Join([]string{c.Department, c.Role, string(c.Action), c.Object, c.Purpose}, "/")
}

// Matrix is a policy and the decisions it must give.
type Matrix struct {
	Name    string
	Set     policy.Set
	Cases   []Case
	Actions []ActionCase
}

// Matrices returns the matrices: "matrix" over testdata/matrix and "demo"
// over [policy.Demo].
func Matrices() []Matrix {
	return []Matrix{
		{Name: "matrix", Set: MatrixPolicy(), Cases: slices.Clone(matrixCases), Actions: slices.Clone(matrixActions)},
		{Name: "demo", Set: policy.Demo(), Cases: slices.Clone(demoCases), Actions: slices.Clone(demoActions)},
	}
}

// MatrixPolicy returns the policy of testdata/matrix.
func MatrixPolicy() policy.Set {
	rules, err := matrixFS.ReadFile("testdata/matrix/rules.csv")
	if err != nil {
		panic(err)
	}
	purposes, err := matrixFS.ReadFile("testdata/matrix/purposes.json")
	if err != nil {
		panic(err)
	}
	ps, err := policy.ParsePurposes(bytes.NewReader(purposes))
	if err != nil {
		panic(fmt.Sprintf("policytest: %v", err))
	}
	rs, gs, err := policy.ParseCSV(bytes.NewReader(rules))
	if err != nil {
		panic(fmt.Sprintf("policytest: %v", err))
	}
	set := policy.Set{Version: 7, Rules: rs, Groupings: gs, Purposes: ps}
	if err := set.ValidateWith(Catalog{}); err != nil {
		panic(fmt.Sprintf("policytest: %v", err))
	}
	return set
}

const (
	hpe   = "home-purchase-eligibility"
	taxAd = "tax-administration"
	med   = "medical-treatment"
)

var (
	reveal = policy.Reveal
	prove  = policy.Prove
	commit = policy.Commit
	deny   = policy.Deny
)

var matrixCases = []Case{
	// Reveal, by name and by wildcard; nothing without a rule.
	{"housing", "clerk", "identity.name", hpe, reveal},
	{"housing", "clerk", "identity.hukouCity", hpe, reveal},
	{"housing", "clerk", "property.city", hpe, reveal},
	{"housing", "clerk", "property.certificateNo", hpe, reveal},
	{"housing", "clerk", "identity.nationalId", hpe, deny},
	{"housing", "clerk", "identity.gender", hpe, deny},
	{"housing", "clerk", "health.bloodType", hpe, deny},
	// Commit by wildcard: sensitive fields only.
	{"housing", "clerk", "tax.annualIncome", hpe, commit},
	{"housing", "clerk", "tax.taxPaid", hpe, commit},
	{"housing", "clerk", "tax.year", hpe, deny},
	// Deny overrides allow: reveal denied, commit allowed.
	{"housing", "clerk", "property.address", hpe, commit},
	// Purpose mismatch.
	{"housing", "clerk", "identity.name", "research", deny},
	{"housing", "clerk", "tax.annualIncome", taxAd, deny},
	{"housing", "clerk", "property.address", "audit", deny},
	// Inheritance over one and two links; a deny on the middle role binds
	// the role below it, not the one above; a rule on the lowest role
	// does not reach the others.
	{"housing", "senior-clerk", "identity.name", hpe, reveal},
	{"housing", "senior-clerk", "identity.hukouCity", hpe, deny},
	{"housing", "senior-clerk", "tax.annualIncome", hpe, commit},
	{"housing", "senior-clerk", "property.address", hpe, commit},
	{"housing", "supervisor", "identity.name", hpe, reveal},
	{"housing", "supervisor", "identity.hukouCity", hpe, deny},
	{"housing", "supervisor", "tax.annualIncome", hpe, reveal},
	{"housing", "supervisor", "tax.taxPaid", hpe, commit},
	{"housing", "supervisor", "property.area", hpe, reveal},
	// The owner reads its own dataset for its own purpose.
	{"tax", "clerk", "tax.annualIncome", taxAd, reveal},
	{"tax", "clerk", "tax.year", taxAd, reveal},
	{"tax", "clerk", "identity.name", taxAd, deny},
	// "*" object allows, a "*" purpose deny overrides it.
	{"tax", "clerk", "identity.name", "audit", reveal},
	{"tax", "clerk", "tax.taxPaid", "audit", reveal},
	{"tax", "clerk", "health.bloodType", "audit", deny},
	{"tax", "clerk", "health.vaccinations", "audit", deny},
	{"tax", "auditor", "tax.annualIncome", "audit", commit},
	{"tax", "auditor", "identity.nationalId", "audit", commit},
	{"tax", "auditor", "identity.name", "audit", deny},
	{"tax", "auditor", "tax.annualIncome", taxAd, deny},
	// Health.
	{"health", "doctor", "health.bloodType", med, reveal},
	{"health", "doctor", "identity.name", med, reveal},
	{"health", "doctor", "identity.nationalId", med, deny},
	{"health", "doctor", "health.bloodType", "research", deny},
	{"health", "nurse", "health.vaccinations", med, reveal},
	{"health", "nurse", "health.bloodType", med, deny},
	{"health", "head-nurse", "health.vaccinations", med, reveal},
	{"health", "head-nurse", "health.chronicConditions", med, deny},
	// "*" purpose allow, and a purpose-specific deny over it.
	{"health", "researcher", "health.bloodType", "research", commit},
	{"health", "researcher", "health.chronicConditions", "research", deny},
	{"health", "researcher", "health.chronicConditions", "audit", commit},
	{"health", "researcher", "health.vaccinations", "research", deny},
	// Unknown principals: departments, roles, roles of other departments,
	// a role with dataset permissions only.
	{"education", "clerk", "identity.name", hpe, deny},
	{"housing", "janitor", "identity.name", hpe, deny},
	{"housing", "doctor", "health.bloodType", med, deny},
	{"health", "supervisor", "tax.annualIncome", hpe, deny},
	{"health", "clerk", "health.bloodType", med, deny},
	{"", "", "identity.name", hpe, deny},
	{"housing", "", "identity.name", hpe, deny},
	{"Housing", "clerk", "identity.name", hpe, deny},
	// Unknown fields and purposes; patterns are not fields, "*" is not a
	// purpose.
	{"housing", "clerk", "identity.shoeSize", hpe, deny},
	{"housing", "clerk", "identity", hpe, deny},
	{"housing", "clerk", "property.*", hpe, deny},
	{"housing", "clerk", "*", hpe, deny},
	{"housing", "clerk", "identity.name", "espionage", deny},
	{"housing", "clerk", "identity.name", "*", deny},
	{"housing", "clerk", "identity.name", "", deny},
}

var matrixActions = []ActionCase{
	{"tax", "clerk", policy.ActionWrite, "tax", taxAd, true},
	{"tax", "clerk", policy.ActionList, "tax", taxAd, true},
	{"tax", "clerk", policy.ActionWrite, "tax", "audit", false},
	{"tax", "clerk", policy.ActionWrite, "identity", taxAd, false},
	{"tax", "auditor", policy.ActionList, "tax", "audit", false},
	{"housing", "clerk", policy.ActionList, "property", hpe, false},
	{"housing", "supervisor", policy.ActionWrite, "tax", hpe, false},
	{"health", "clerk", policy.ActionWrite, "health", med, true},
	{"health", "clerk", policy.ActionList, "health", med, false},
	{"health", "doctor", policy.ActionWrite, "health", med, false},
	{"tax", "clerk", policy.ActionReveal, "tax.year", taxAd, true},
	{"housing", "clerk", policy.ActionReveal, "property.address", hpe, false},
	{"housing", "clerk", policy.ActionCommit, "property.address", hpe, true},
	{"tax", "clerk", policy.ActionWrite, "tax.year", taxAd, false},
	{"tax", "clerk", policy.ActionWrite, "*", taxAd, false},
	{"tax", "clerk", "delete", "tax", taxAd, false},
	{"education", "clerk", policy.ActionWrite, "tax", taxAd, false},
}

var demoCases = []Case{
	// Housing clerks checking home-purchase eligibility.
	{"housing", "clerk", "identity.name", hpe, reveal},
	{"housing", "clerk", "identity.hukouCity", hpe, reveal},
	{"housing", "clerk", "identity.gender", hpe, deny},
	{"housing", "clerk", "identity.nationalId", hpe, deny},
	{"housing", "clerk", "identity.birthDate", hpe, deny},
	{"housing", "clerk", "identity.address", hpe, deny},
	{"housing", "clerk", "marriage.maritalStatus", hpe, reveal},
	{"housing", "clerk", "marriage.spouseCitizenId", hpe, commit}, // for the certificate's spouse lookup
	{"housing", "clerk", "property.certificateNo", hpe, reveal},
	{"housing", "clerk", "property.city", hpe, reveal},
	{"housing", "clerk", "property.area", hpe, reveal},
	{"housing", "clerk", "property.acquiredOn", hpe, reveal},
	{"housing", "clerk", "property.address", hpe, deny},
	{"housing", "clerk", "socialInsurance.contributionMonths", hpe, prove}, // the demo grants the predicate atLeast60
	{"housing", "clerk", "socialInsurance.monthlyBase", hpe, deny},
	{"housing", "clerk", "tax.annualIncome", hpe, commit},
	{"housing", "clerk", "tax.taxPaid", hpe, deny},
	{"housing", "clerk", "tax.year", hpe, deny},
	{"housing", "clerk", "health.bloodType", hpe, deny},
	{"housing", "clerk", "health.vaccinations", hpe, deny},
	{"housing", "clerk", "businessLicense.uscc", hpe, deny},
	// Purpose mismatch: a registered purpose the rules do not name.
	{"housing", "clerk", "identity.name", taxAd, deny},
	{"housing", "clerk", "tax.annualIncome", med, deny},
	// Role inheritance within the department.
	{"housing", "senior-clerk", "identity.name", hpe, reveal},
	{"housing", "senior-clerk", "tax.annualIncome", hpe, commit},
	{"housing", "senior-clerk", "identity.nationalId", hpe, deny},
	{"housing", "senior-clerk", "health.bloodType", hpe, deny},
	// Owners read their own datasets for their own purpose only.
	{"public-security", "clerk", "identity.name", "identity-verification", reveal},
	{"public-security", "clerk", "identity.nationalId", "identity-verification", reveal},
	{"public-security", "clerk", "identity.address", "identity-verification", reveal},
	{"public-security", "clerk", "identity.name", hpe, deny},
	{"public-security", "clerk", "tax.annualIncome", "identity-verification", deny},
	{"civil-affairs", "clerk", "marriage.spouseCitizenId", "marriage-registration", reveal},
	{"hrss", "clerk", "socialInsurance.monthlyBase", "social-insurance-administration", reveal},
	{"tax", "clerk", "tax.annualIncome", taxAd, reveal},
	{"tax", "clerk", "tax.year", taxAd, reveal},
	{"tax", "clerk", "identity.name", taxAd, deny},
	{"natural-resources", "clerk", "property.address", "property-registration", reveal},
	{"market-regulation", "clerk", "businessLicense.uscc", "business-registration", reveal},
	{"market-regulation", "clerk", "property.city", "business-registration", deny},
	// Only health staff see health, and only for treatment.
	{"health", "doctor", "health.bloodType", med, reveal},
	{"health", "doctor", "health.vaccinations", med, reveal},
	{"health", "clerk", "health.chronicConditions", med, reveal},
	{"health", "doctor", "health.bloodType", hpe, deny},
	{"health", "doctor", "identity.name", med, deny},
	{"tax", "clerk", "health.bloodType", taxAd, deny},
	// Unknown departments, roles, fields and purposes.
	{"privacy-office", "clerk", "identity.name", hpe, deny},
	{"education", "clerk", "identity.name", hpe, deny},
	{"housing", "janitor", "identity.name", hpe, deny},
	{"housing", "", "identity.name", hpe, deny},
	{"housing", "clerk", "identity.shoeSize", hpe, deny},
	{"housing", "clerk", "identity", hpe, deny},
	{"housing", "clerk", "", hpe, deny},
	{"housing", "clerk", "identity.name", "marketing", deny},
	{"housing", "clerk", "identity.name", "", deny},
	// Patterns are not fields, and "*" is not a purpose.
	{"public-security", "clerk", "identity.*", "identity-verification", deny},
	{"public-security", "clerk", "*", "identity-verification", deny},
	{"housing", "clerk", "identity.name", "*", deny},
}

var demoActions = []ActionCase{
	{"public-security", "clerk", policy.ActionWrite, "identity", "identity-verification", true},
	{"public-security", "clerk", policy.ActionList, "identity", "identity-verification", true},
	{"public-security", "clerk", policy.ActionWrite, "identity", hpe, false},
	{"public-security", "clerk", policy.ActionWrite, "tax", "identity-verification", false},
	{"housing", "clerk", policy.ActionWrite, "identity", "identity-verification", false},
	{"health", "clerk", policy.ActionWrite, "health", med, true},
	{"health", "doctor", policy.ActionWrite, "health", med, false},
	{"tax", "clerk", policy.ActionList, "tax", taxAd, true},
	{"housing", "clerk", policy.ActionCommit, "tax.annualIncome", hpe, true},
	{"housing", "clerk", policy.ActionReveal, "tax.annualIncome", hpe, false},
	{"housing", "senior-clerk", policy.ActionCommit, "tax.annualIncome", hpe, true},
}

// RunLoader runs every matrix through engines that read the policy
// through the loader newLoader returns for it: newLoader must make the
// set's rules available under set.Version (for a store: save the version,
// then return its adapter). For each matrix it checks that
//
//   - before [policy.Snapshot.Prepare], every decision is Deny (fail
//     closed);
//   - after it, every case gets its level, and every action case its
//     answer, twice (the second from the memo);
//   - [policy.Snapshot.Explain] gives the same level, with matching rules
//     unless the decision is Deny.
func RunLoader(t *testing.T, newLoader func(t *testing.T, set policy.Set) policy.Loader) {
	t.Helper()
	for _, m := range Matrices() {
		t.Run(m.Name, func(t *testing.T) {
			engine, err := policy.New(policy.Set{}, Config())
			if err != nil {
				t.Fatalf("policy.New(empty) = %v", err)
			}
			info, err := m.Set.Info()
			if err != nil {
				t.Fatalf("Info() = %v", err)
			}
			if err := engine.Load(t.Context(), info, newLoader(t, m.Set)); err != nil {
				t.Fatalf("Load(version %d) = %v", info.Version, err)
			}
			snap := engine.Snapshot()
			if got := snap.Version(); got != m.Set.Version {
				t.Fatalf("Snapshot().Version() = %d, want %d", got, m.Set.Version)
			}
			for _, c := range m.Cases {
				sub := policy.Subject{Department: c.Department, Role: c.Role}
				if got := snap.Decide(sub, c.Field, c.Purpose); got != policy.Deny {
					t.Errorf("before Prepare: Decide(%v, %q, %q) = %v, want %v", sub, c.Field, c.Purpose, got, policy.Deny)
				}
			}
			Run(t, snap, m)
		})
	}
}

// Run checks every case and action case of m against snap, preparing
// each subject's partitions first, and checks that Explain agrees.
func Run(t *testing.T, snap *policy.Snapshot, m Matrix) {
	t.Helper()
	for _, c := range m.Cases {
		t.Run(c.String(), func(t *testing.T) {
			sub := policy.Subject{Department: c.Department, Role: c.Role}
			ds, _, _ := strings.Cut(c.Field, ".")
			if err := snap.Prepare(t.Context(), sub, []string{ds}); err != nil {
				t.Fatalf("Prepare(%v, [%s]) = %v", sub, ds, err)
			}
			for i := range 2 {
				if got := snap.Decide(sub, c.Field, c.Purpose); got != c.Want {
					t.Errorf("Decide(%v, %q, %q) #%d = %v, want %v", sub, c.Field, c.Purpose, i, got, c.Want)
				}
			}
			x, err := snap.Explain(t.Context(), sub, c.Field, c.Purpose)
			if err != nil {
				t.Fatalf("Explain(%v, %q, %q) = %v", sub, c.Field, c.Purpose, err)
			}
			if x.Level != c.Want {
				t.Errorf("Explain(%v, %q, %q).Level = %v, want %v (%s)", sub, c.Field, c.Purpose, x.Level, c.Want, x.Reason)
			}
			if c.Want != policy.Deny && len(x.Matched) == 0 {
				t.Errorf("Explain(%v, %q, %q).Matched is empty for %v", sub, c.Field, c.Purpose, c.Want)
			}
			if x.Reason == "" {
				t.Errorf("Explain(%v, %q, %q).Reason is empty", sub, c.Field, c.Purpose)
			}
		})
	}
	for _, c := range m.Actions {
		t.Run(c.String(), func(t *testing.T) {
			sub := policy.Subject{Department: c.Department, Role: c.Role}
			ds, _, _ := strings.Cut(c.Object, ".")
			if err := snap.Prepare(t.Context(), sub, []string{ds}); err != nil {
				t.Fatalf("Prepare(%v, [%s]) = %v", sub, ds, err)
			}
			for i := range 2 {
				if got := snap.Allowed(sub, c.Action, c.Object, c.Purpose); got != c.Want {
					t.Errorf("Allowed(%v, %q, %q, %q) #%d = %v, want %v", sub, c.Action, c.Object, c.Purpose, i, got, c.Want)
				}
			}
		})
	}
}

// Synthetic builds a policy of n rules over the catalogue (7 datasets, 29 fields), spread over
// min(200, n/10) departments "dept-<i>", with 10 roles each ("role-<i>"; role-1 inherits role-0,
// role-4 role-3, role-7 role-6) and 20 purposes "pur-<i>". About 10 % of the rules are on
// "dataset.*", 1 % on "*", 10 % are for any purpose, 5 % deny; commit rules name only sensitive
// fields or patterns. It is deterministic. (The policy package's own benchmarks use the same
// recipe internally.)
func Synthetic(n int) policy.Set {
	rng := rand.New(rand.NewPCG(1, 2))
	depts := min(200, max(1, n/10))
	fs := Fields()
	set := policy.Set{Version: 1}
	for i := range 20 {
		set.Purposes = append(set.Purposes, policy.Purpose{Code: fmt.Sprintf("pur-%d", i), TitleZh: "目的", TitleEn: "Purpose", LegalBasis: "law"})
	}
	seen := make(map[policy.Rule]bool, n)
	for len(set.Rules) < n {
		r := policy.Rule{
			Role:       fmt.Sprintf("role-%d", rng.IntN(10)),
			Department: fmt.Sprintf("dept-%d", rng.IntN(depts)),
			Object:     fs[rng.IntN(len(fs))],
			Action:     []policy.Action{policy.ActionReveal, policy.ActionCommit}[rng.IntN(2)],
			Purpose:    fmt.Sprintf("pur-%d", rng.IntN(20)),
			Effect:     policy.EffectAllow,
		}
		switch x := rng.IntN(100); {
		case x < 1:
			r.Object = policy.AnyObject
		case x < 11:
			r.Object = policy.PartitionOf(r.Object) + ".*"
		}
		if sensitive, _ := (Catalog{}).Field(r.Object); r.Action == policy.ActionCommit && !strings.Contains(r.Object, "*") && !sensitive {
			r.Action = policy.ActionReveal
		}
		if rng.IntN(10) == 0 {
			r.Purpose = policy.AnyPurpose
		}
		if rng.IntN(20) == 0 {
			r.Effect = policy.EffectDeny
		}
		if !seen[r] {
			seen[r] = true
			set.Rules = append(set.Rules, r)
		}
	}
	for d := range depts {
		for i := 1; i < 10; i += 3 {
			set.Groupings = append(set.Groupings, policy.Grouping{Member: fmt.Sprintf("role-%d", i), Role: fmt.Sprintf("role-%d", i-1), Department: fmt.Sprintf("dept-%d", d)})
		}
	}
	return set
}
