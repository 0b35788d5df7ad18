package governance

import (
	"errors"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// A change that adds a predicate and a prove rule granting it previews as commit → prove; one
// whose predicate is about a date, or that grants an undefined predicate, is invalid; the stored
// form of a change without predicates is what it was before them.
func TestPreviewPredicates(t *testing.T) {
	demo := withoutPredicates(policy.Demo())
	engine, err := policy.New(demo, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	versions := demoVersions{set: demo}
	f, err := NewFollower(engine, versions, policy.MemoryLoader(demo))
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(Config{Policy: engine, Versions: versions, Proposals: writesProposals{t: t}, Ledger: writesLedger{t: t}, Follower: f,
		Officials: testOfficials(t)})
	if err != nil {
		t.Fatal(err)
	}
	officer := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}
	const months = "socialInsurance.contributionMonths"
	grant := policy.Rule{Role: "clerk", Department: "housing", Object: policy.ProofObject(months, "atLeast60"),
		Action: policy.ActionProve, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow}
	// The demo identity proof states an age: its predicate comes back with the change, or the
	// proposal would be refused for the type.
	adult := policy.Rule{Role: "clerk", Department: "public-security", Object: policy.ProofObject("identity.birthDate", "adult"),
		Action: policy.ActionProve, Purpose: "identity-verification", Effect: policy.EffectAllow}
	c := policy.Change{
		AddPredicates: []policy.Predicate{{Name: "atLeast60", Field: months, Statement: policy.Statement{Kind: "atLeast", Min: 60}},
			{Name: "adult", Field: "identity.birthDate", Statement: policy.Statement{Kind: policy.StatementAgeAtLeast, Min: 18}}},
		AddRules: []policy.Rule{grant, adult},
	}
	_, impact, err := o.PreviewPolicyChange(t.Context(), officer, c)
	if err != nil {
		t.Fatalf("PreviewPolicyChange = %v", err)
	}
	want := policy.FieldChange{Department: "housing", Role: "clerk", Purpose: "home-purchase-eligibility", Field: months,
		Before: policy.Commit, After: policy.Prove}
	found := false
	for _, fc := range impact {
		found = found || fc == want
	}
	if !found {
		t.Errorf("impact = %+v, want it to hold %+v", impact, want)
	}

	date := policy.Change{AddPredicates: []policy.Predicate{{Name: "adult", Field: "identity.birthDate", Statement: policy.Statement{Kind: "atMost", Max: 20081206}}}}
	if _, _, err := o.PreviewPolicyChange(t.Context(), officer, date); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "identity.birthDate") || !strings.Contains(err.Error(), "date") {
		t.Errorf("a predicate on a date: %v, want ErrInvalid naming the field", err)
	}
	undefined := policy.Change{AddRules: []policy.Rule{grant}}
	if _, _, err := o.PreviewPolicyChange(t.Context(), officer, undefined); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"atLeast60" is not defined`) {
		t.Errorf("a grant of an undefined predicate: %v, want ErrInvalid", err)
	}

	// The stored form: unchanged without predicates, kept with them.
	old := policy.Change{AddRules: []policy.Rule{{Role: "clerk", Department: "housing", Object: "identity.birthDate",
		Action: policy.ActionCommit, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow}}}
	b, err := encodeChange(old)
	if err != nil || strings.Contains(string(b), "Predicates") {
		t.Errorf("encodeChange(no predicates) = %s, %v", b, err)
	}
	if b, err = encodeChange(c); err != nil || !strings.Contains(string(b), `"AddPredicates"`) {
		t.Fatalf("encodeChange = %s, %v", b, err)
	}
	p, err := decodeProposal(store.Proposal{ID: "p1", Change: b})
	if err != nil || len(p.Change.AddPredicates) != 2 || p.Change.AddPredicates[0].Statement.Min != 60 {
		t.Errorf("decodeProposal = %+v, %v", p.Change, err)
	}
}

// withoutPredicates is set without its predicate catalogue and the prove rules granting them.
func withoutPredicates(set policy.Set) policy.Set {
	set = set.Clone()
	set.Predicates = nil
	rules := set.Rules[:0]
	for _, r := range set.Rules {
		if r.Action != policy.ActionProve {
			rules = append(rules, r)
		}
	}
	set.Rules = rules
	return set
}
