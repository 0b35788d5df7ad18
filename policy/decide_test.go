package policy

import (
	"fmt"
	"strings"
	"testing"
)

// testFields is the field catalogue of ARCHITECTURE §8; true marks a sensitive
// field.
var testFields = map[string]bool{
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

func testSensitive(field string) (sensitive, known bool) {
	s, ok := testFields[field]
	return s, ok
}

var testConfig = Config{Sensitive: testSensitive}

func newTestEngine(t testing.TB, set Set, opts ...Option) *Engine {
	t.Helper()
	e, err := New(set, testConfig, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func loadTestPolicy(t testing.TB) Set {
	t.Helper()
	set, err := LoadDir("testdata/policy")
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	return set
}

type decideCase struct {
	dept, role, field, purpose string
	want                       Level
}

func (c decideCase) name() string {
	return strings.Join([]string{c.dept, c.role, c.field, c.purpose}, "/")
}

func runDecide(t *testing.T, s *Snapshot, cases []decideCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			sub := Subject{Department: c.dept, Role: c.role}
			// Twice: the second answer comes from the memo.
			for i := range 2 {
				if got := s.Decide(sub, c.field, c.purpose); got != c.want {
					t.Errorf("Decide(%v, %q, %q) #%d = %v, want %v", sub, c.field, c.purpose, i, got, c.want)
				}
			}
		})
	}
}

const hpe = "home-purchase-eligibility"

// The demonstration policy's table is policytest's "demo" matrix, run by
// TestMatrixSet and TestMatrixMemoryLoader.

func TestDecideTestdata(t *testing.T) {
	s := newTestEngine(t, loadTestPolicy(t)).Snapshot()
	runDecide(t, s, []decideCase{
		// Plain reveal, and reveal of a non-sensitive field.
		{"alpha", "officer", "tax.annualIncome", "benefits", Reveal},
		{"alpha", "officer", "tax.year", "benefits", Reveal},
		// Deny reveal + allow commit = commit.
		{"alpha", "officer", "tax.taxPaid", "benefits", Commit},
		// Deny reveal + deny commit = deny, through a "*" purpose deny.
		{"alpha", "officer", "identity.nationalId", "benefits", Deny},
		{"alpha", "officer", "identity.birthDate", "benefits", Reveal},
		{"alpha", "officer", "identity.gender", "benefits", Reveal},
		// Purpose mismatch.
		{"alpha", "officer", "tax.annualIncome", "research", Deny},
		// Inheritance over two links; a deny on the parent role binds the
		// inheriting roles but not the grandparent role.
		{"alpha", "lead", "tax.taxPaid", "benefits", Commit},
		{"alpha", "head", "tax.annualIncome", "benefits", Reveal},
		{"alpha", "head", "identity.nationalId", "benefits", Deny},
		{"alpha", "lead", "identity.gender", "benefits", Deny},
		{"alpha", "head", "identity.gender", "benefits", Deny},
		// "*" object and "*" purpose; commit on a non-sensitive field is deny.
		{"alpha", "auditor", "health.bloodType", "audit", Commit},
		{"alpha", "auditor", "tax.annualIncome", "research", Commit},
		{"alpha", "auditor", "identity.address", "benefits", Commit},
		{"alpha", "auditor", "tax.year", "audit", Deny},
		{"alpha", "auditor", "health.vaccinations", "audit", Deny},
		{"alpha", "auditor", "tax.annualIncome", "espionage", Deny},
		// Departments are separate domains: beta's officer is not alpha's.
		{"beta", "officer", "marriage.maritalStatus", "research", Reveal},
		{"beta", "clerk", "marriage.maritalStatus", "research", Reveal},
		{"beta", "officer", "tax.year", "benefits", Deny},
		{"alpha", "officer", "marriage.maritalStatus", "research", Deny},
		{"alpha", "clerk", "marriage.maritalStatus", "research", Deny},
		// Write rules grant no reads.
		{"beta", "admin", "tax.year", "audit", Deny},
	})
}

func TestAllowed(t *testing.T) {
	demo := newTestEngine(t, Demo()).Snapshot()
	test := newTestEngine(t, loadTestPolicy(t)).Snapshot()
	for _, c := range []struct {
		s               *Snapshot
		dept, role      string
		act             Action
		object, purpose string
		want            bool
	}{
		{demo, "public-security", "clerk", ActionWrite, "identity", "identity-verification", true},
		{demo, "public-security", "clerk", ActionList, "identity", "identity-verification", true},
		{demo, "public-security", "clerk", ActionWrite, "identity", hpe, false},
		{demo, "public-security", "clerk", ActionWrite, "tax", "identity-verification", false},
		{demo, "housing", "clerk", ActionWrite, "identity", "identity-verification", false},
		{demo, "health", "clerk", ActionWrite, "health", "medical-treatment", true},
		{demo, "health", "doctor", ActionWrite, "health", "medical-treatment", false},
		{demo, "tax", "clerk", ActionList, "tax", "tax-administration", true},
		{demo, "tax", "clerk", ActionReveal, "tax.annualIncome", "tax-administration", true},
		{demo, "housing", "clerk", ActionCommit, "tax.annualIncome", hpe, true},
		{demo, "housing", "clerk", ActionReveal, "tax.annualIncome", hpe, false},
		{demo, "housing", "senior-clerk", ActionCommit, "tax.annualIncome", hpe, true},
		{demo, "housing", "clerk", ActionCommit, "health.bloodType", hpe, false},
		// Objects must suit the action; actions and purposes must be known.
		{demo, "public-security", "clerk", ActionWrite, "identity.name", "identity-verification", false},
		{demo, "public-security", "clerk", ActionWrite, "*", "identity-verification", false},
		{demo, "public-security", "clerk", ActionReveal, "identity", "identity-verification", false},
		{demo, "public-security", "clerk", ActionReveal, "identity.*", "identity-verification", false},
		{demo, "public-security", "clerk", "delete", "identity", "identity-verification", false},
		{demo, "public-security", "clerk", ActionWrite, "identity", "*", false},
		{demo, "public-security", "clerk", ActionWrite, "identity", "espionage", false},
		{demo, "public-security", "janitor", ActionWrite, "identity", "identity-verification", false},
		{demo, "education", "clerk", ActionWrite, "identity", "identity-verification", false},
		{test, "alpha", "officer", ActionWrite, "tax", "benefits", true},
		{test, "alpha", "head", ActionWrite, "tax", "benefits", true},
		{test, "alpha", "officer", ActionList, "tax", "benefits", false},
		{test, "beta", "admin", ActionWrite, "anything", "audit", true},
		{test, "beta", "admin", ActionWrite, "tax", "benefits", false},
	} {
		sub := Subject{Department: c.dept, Role: c.role}
		t.Run(fmt.Sprintf("%s/%s/%s/%s/%s", c.dept, c.role, c.act, c.object, c.purpose), func(t *testing.T) {
			for i := range 2 {
				if got := c.s.Allowed(sub, c.act, c.object, c.purpose); got != c.want {
					t.Errorf("Allowed(%v, %q, %q, %q) #%d = %v, want %v", sub, c.act, c.object, c.purpose, i, got, c.want)
				}
			}
		})
	}
}

// TestDecideRoleDepth checks that the longest chain of groupings Validate
// accepts is one Casbin follows to the end.
func TestDecideRoleDepth(t *testing.T) {
	set := Set{
		Version:  1,
		Purposes: []Purpose{{Code: "p", TitleZh: "测", TitleEn: "T", LegalBasis: "L"}},
		Rules:    []Rule{{Role: "r0", Department: "d", Object: "tax.*", Action: ActionReveal, Purpose: "p", Effect: EffectAllow}},
	}
	for i := 1; i <= maxRoleDepth; i++ {
		set.Groupings = append(set.Groupings, Grouping{Member: fmt.Sprintf("r%d", i), Role: fmt.Sprintf("r%d", i-1), Department: "d"})
	}
	s := newTestEngine(t, set).Snapshot()
	sub := Subject{Department: "d", Role: fmt.Sprintf("r%d", maxRoleDepth)}
	if got := s.Decide(sub, "tax.year", "p"); got != Reveal {
		t.Errorf("Decide(%v, tax.year, p) = %v, want %v", sub, got, Reveal)
	}
}
