package policy_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/policy/policytest"
)

// provePolicy is a small policy with a predicate catalogue: housing clerks may be told whether a
// citizen has contributed at least 60 months, and see the commitment of the income; tax clerks
// see the months in clear.
func provePolicy() policy.Set {
	return policy.Set{
		Version: 1,
		Purposes: []policy.Purpose{
			{Code: hpe, TitleZh: "购房资格审核", TitleEn: "Home-purchase eligibility", LegalBasis: "x"},
			{Code: "tax-administration", TitleZh: "税务", TitleEn: "Tax", LegalBasis: "y"},
		},
		Predicates: []policy.Predicate{
			{Name: "atLeast60", Field: "socialInsurance.contributionMonths", Statement: policy.Statement{Kind: "atLeast", Min: 60}},
			{Name: "atMost12", Field: "socialInsurance.contributionMonths", Statement: policy.Statement{Kind: "atMost", Max: 12}},
			{Name: "incomeBand", Field: "tax.annualIncome", Statement: policy.Statement{Kind: "between", Min: 100000, Max: 500000}},
		},
		Rules: []policy.Rule{
			{Role: "clerk", Department: "housing", Object: "socialInsurance.contributionMonths:atLeast60", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectAllow},
			{Role: "clerk", Department: "housing", Object: "tax.annualIncome", Action: policy.ActionCommit, Purpose: hpe, Effect: policy.EffectAllow},
			{Role: "clerk", Department: "housing", Object: "tax.annualIncome:incomeBand", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectAllow},
			{Role: "intern", Department: "housing", Object: "socialInsurance.contributionMonths:atLeast60", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectAllow},
			{Role: "intern", Department: "housing", Object: "socialInsurance.*", Action: policy.ActionProve, Purpose: "*", Effect: policy.EffectDeny},
			{Role: "intern", Department: "housing", Object: "socialInsurance.contributionMonths", Action: policy.ActionCommit, Purpose: hpe, Effect: policy.EffectAllow},
			{Role: "clerk", Department: "tax", Object: "socialInsurance.contributionMonths", Action: policy.ActionReveal, Purpose: "tax-administration", Effect: policy.EffectAllow},
		},
	}
}

func TestLevelOrder(t *testing.T) {
	if !(policy.Deny < policy.Commit && policy.Commit < policy.Prove && policy.Prove < policy.Reveal) {
		t.Fatalf("levels out of order: deny %d commit %d prove %d reveal %d", policy.Deny, policy.Commit, policy.Prove, policy.Reveal)
	}
	for _, l := range []policy.Level{policy.Deny, policy.Commit, policy.Prove, policy.Reveal} {
		got, err := policy.ParseLevel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l, got, err)
		}
	}
}

func TestProveDecisions(t *testing.T) {
	set := provePolicy()
	if err := set.ValidateWith(policytest.Catalog{}); err != nil {
		t.Fatalf("ValidateWith = %v", err)
	}
	e, err := policy.New(set, policytest.Config())
	if err != nil {
		t.Fatal(err)
	}
	s := e.Snapshot()
	clerk := policy.Subject{Department: "housing", Role: "clerk"}
	intern := policy.Subject{Department: "housing", Role: "intern"}
	taxClerk := policy.Subject{Department: "tax", Role: "clerk"}
	months := "socialInsurance.contributionMonths"
	for _, c := range []struct {
		sub         policy.Subject
		field, pur  string
		want        policy.Level
		pred        string
		wantProves  bool
		explanation string
	}{
		{clerk, months, hpe, policy.Prove, "atLeast60", true, "prove is allowed"},
		{clerk, months, hpe, policy.Prove, "atMost12", false, ""},   // catalogued, not granted
		{clerk, months, hpe, policy.Prove, "atLeast61", false, ""},  // not catalogued
		{clerk, months, hpe, policy.Prove, "incomeBand", false, ""}, // another field's
		{clerk, months, "tax-administration", policy.Deny, "atLeast60", false, ""},
		{clerk, "tax.annualIncome", hpe, policy.Prove, "incomeBand", true, ""},
		{intern, months, hpe, policy.Commit, "atLeast60", false, "deny rule"}, // deny of prove overrides
		{taxClerk, months, "tax-administration", policy.Reveal, "atLeast60", true, ""},
		{taxClerk, months, "tax-administration", policy.Reveal, "atLeast61", false, ""},
	} {
		if got := s.Decide(c.sub, c.field, c.pur); got != c.want {
			t.Errorf("Decide(%v, %s, %s) = %v, want %v", c.sub, c.field, c.pur, got, c.want)
		}
		if p, got := s.Proves(c.sub, c.field, c.pred, c.pur); got != c.wantProves || got && p.Name != c.pred {
			t.Errorf("Proves(%v, %s, %s, %s) = %v, want %v", c.sub, c.field, c.pred, c.pur, got, c.wantProves)
		}
		x, err := s.Explain(context.Background(), c.sub, c.field, c.pur)
		if err != nil || x.Level != c.want || !strings.Contains(x.Reason, c.explanation) {
			t.Errorf("Explain(%v, %s, %s) = %v (%s), %v; want %v mentioning %q", c.sub, c.field, c.pur, x.Level, x.Reason, err, c.want, c.explanation)
		}
	}
}

// TestAgePredicateValid: an ageAtLeast predicate on a sensitive date validates, and a prove rule
// may grant it.
func TestAgePredicateValid(t *testing.T) {
	s := provePolicy()
	s.Predicates = append(s.Predicates, policy.Predicate{Name: "adult", Field: "identity.birthDate", Statement: policy.Statement{Kind: policy.StatementAgeAtLeast, Min: 18}})
	s.Rules = append(s.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: "identity.birthDate:adult", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectAllow})
	if err := s.ValidateWith(policytest.Catalog{}); err != nil {
		t.Fatalf("ValidateWith = %v, want nil", err)
	}
	if got, want := s.Predicates[len(s.Predicates)-1].Statement.String(), "age ≥ 18 years"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestPredicateValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*policy.Set)
		want string
	}{
		{"date field", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "adult", Field: "identity.birthDate", Statement: policy.Statement{Kind: "atMost", Max: 20080101}})
		}, `field "identity.birthDate" is a date: the only statement about a date is ageAtLeast`},
		{"age on an integer", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "old", Field: "tax.taxPaid", Statement: policy.Statement{Kind: "ageAtLeast", Min: 18}})
		}, `field "tax.taxPaid" is an integer: an ageAtLeast statement is about a date`},
		{"age on a plain date", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "old", Field: "marriage.registeredOn", Statement: policy.Statement{Kind: "ageAtLeast", Min: 1}})
		}, `field "marriage.registeredOn" is not sensitive`},
		{"age of no years", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "old", Field: "identity.birthDate", Statement: policy.Statement{Kind: "ageAtLeast"}})
		}, `years (min) must be 1 to 150, not 0`},
		{"age with a maximum", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "old", Field: "identity.birthDate", Statement: policy.Statement{Kind: "ageAtLeast", Min: 18, Max: 65}})
		}, `an ageAtLeast statement has no maximum`},
		{"string field", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "x", Field: "identity.nationalId", Statement: policy.Statement{Kind: "atLeast", Min: 1}})
		}, `field "identity.nationalId" is a String, not an integer`},
		{"not sensitive", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "recent", Field: "tax.year", Statement: policy.Statement{Kind: "atLeast", Min: 2020}})
		}, `field "tax.year" is not sensitive`},
		{"unknown field", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "x", Field: "tax.nothing", Statement: policy.Statement{Kind: "atLeast", Min: 1}})
		}, `field "tax.nothing" is not in the catalog`},
		{"duplicate name", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "atLeast60", Field: "tax.taxPaid", Statement: policy.Statement{Kind: "atLeast", Min: 1}})
		}, `duplicate name "atLeast60"`},
		{"bad kind", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "x", Field: "tax.taxPaid", Statement: policy.Statement{Kind: "above", Min: 1}})
		}, `unknown statement kind "above"`},
		{"min above max", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "x", Field: "tax.taxPaid", Statement: policy.Statement{Kind: "between", Min: 5, Max: 1}})
		}, `minimum 5 above its maximum 1`},
		{"unused threshold", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "x", Field: "tax.taxPaid", Statement: policy.Statement{Kind: "atLeast", Min: 1, Max: 3}})
		}, `max must be 0`},
		{"bad name", func(s *policy.Set) {
			s.Predicates = append(s.Predicates, policy.Predicate{Name: "at least", Field: "tax.taxPaid", Statement: policy.Statement{Kind: "atLeast", Min: 1}})
		}, `malformed predicate name "at least"`},
		{"undefined predicate", func(s *policy.Set) {
			s.Rules = append(s.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: "socialInsurance.contributionMonths:atLeast61", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectAllow})
		}, `predicate "atLeast61" is not defined`},
		{"predicate of another field", func(s *policy.Set) {
			s.Rules = append(s.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: "tax.taxPaid:atLeast60", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectAllow})
		}, `predicate "atLeast60" is about socialInsurance.contributionMonths, not tax.taxPaid`},
		{"allow without a predicate", func(s *policy.Set) {
			s.Rules = append(s.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: "socialInsurance.*", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectAllow})
		}, `must name one predicate`},
		{"prove on a bare field", func(s *policy.Set) {
			s.Rules = append(s.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: "socialInsurance.contributionMonths", Action: policy.ActionProve, Purpose: hpe, Effect: policy.EffectDeny})
		}, `malformed object "socialInsurance.contributionMonths" for prove`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := provePolicy()
			c.edit(&s)
			err := s.ValidateWith(policytest.Catalog{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ValidateWith = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestPredicatesOptional checks that a policy without predicates digests as before them, and that
// predicates survive Info, Clone, Apply, Diff and a policy directory.
func TestPredicatesOptional(t *testing.T) {
	plain := provePolicy()
	plain.Predicates = nil
	var rules []policy.Rule
	for _, r := range plain.Rules {
		if r.Action != policy.ActionProve {
			rules = append(rules, r)
		}
	}
	plain.Rules = rules
	d1, err := plain.Digest()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := policy.FormatCSV(&b, plain.Rules, plain.Groupings); err != nil {
		t.Fatal(err)
	}
	b.WriteByte(0)
	if err := policy.FormatPurposes(&b, plain.Purposes); err != nil {
		t.Fatal(err)
	}
	withEmpty := plain
	withEmpty.Predicates = []policy.Predicate{}
	d2, _ := withEmpty.Digest()
	if !bytes.Equal(d1, d2) {
		t.Errorf("an empty catalogue changes the digest")
	}

	full := provePolicy()
	df, _ := full.Digest()
	if bytes.Equal(d1, df) {
		t.Errorf("predicates do not change the digest")
	}
	info, err := full.Info()
	if err != nil || len(info.Predicates) != 3 {
		t.Fatalf("Info = %d predicates, %v", len(info.Predicates), err)
	}

	c := policy.Diff(plain, full)
	if len(c.AddPredicates) != 3 {
		t.Fatalf("Diff adds %d predicates, want 3", len(c.AddPredicates))
	}
	next, err := plain.Apply(c)
	if err != nil {
		t.Fatalf("Apply = %v", err)
	}
	if len(next.Predicates) != 3 {
		t.Errorf("Apply kept %d predicates", len(next.Predicates))
	}
	if _, err := next.Apply(policy.Change{RetirePredicates: []string{"atLeast60"}}); err == nil || !strings.Contains(err.Error(), `retiring predicate "atLeast60": rule`) {
		t.Errorf("retiring a granted predicate: %v", err)
	}
	if _, err := next.Apply(policy.Change{RetirePredicates: []string{"atMost12"}}); err != nil {
		t.Errorf("retiring an unused predicate: %v", err)
	}

	dir := t.TempDir()
	if err := policy.WriteDir(dir, full); err != nil {
		t.Fatal(err)
	}
	back, err := policy.LoadDir(dir)
	if err != nil || len(back.Predicates) != 3 {
		t.Fatalf("LoadDir = %d predicates, %v", len(back.Predicates), err)
	}
	if err := policy.WriteDir(dir, plain); err != nil {
		t.Fatal(err)
	}
	if back, err = policy.LoadDir(dir); err != nil || back.Predicates != nil {
		t.Fatalf("LoadDir after writing a set without predicates = %v, %v", back.Predicates, err)
	}
}
