package policy_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/govhub/govhub/policy"
)

// fields stands in for the dataset catalogue: true marks a sensitive field.
var fields = map[string]bool{
	"identity.name":       false,
	"identity.nationalId": true,
	"tax.year":            false,
	"tax.annualIncome":    true,
	"health.bloodType":    true,
}

var config = policy.Config{
	Sensitive: func(field string) (sensitive, known bool) {
		s, ok := fields[field]
		return s, ok
	},
}

// A housing clerk checking home-purchase eligibility sees the applicant's
// name, gets only a commitment to their income, and nothing else.
func Example() {
	engine, err := policy.New(policy.Demo(), config)
	if err != nil {
		log.Fatal(err)
	}
	snap := engine.Snapshot() // one snapshot per request
	clerk := policy.Subject{Department: "housing", Role: "clerk"}
	for _, f := range []string{"identity.name", "identity.nationalId", "tax.year", "tax.annualIncome", "health.bloodType"} {
		fmt.Printf("%-20s %v\n", f, snap.Decide(clerk, f, "home-purchase-eligibility"))
	}
	fmt.Println("policy version", snap.Version())
	// Output:
	// identity.name        reveal
	// identity.nationalId  deny
	// tax.year             deny
	// tax.annualIncome     commit
	// health.bloodType     deny
	// policy version 1
}

func ExampleSnapshot_Allowed() {
	engine, err := policy.New(policy.Demo(), config)
	if err != nil {
		log.Fatal(err)
	}
	snap := engine.Snapshot()
	taxClerk := policy.Subject{Department: "tax", Role: "clerk"}
	housingClerk := policy.Subject{Department: "housing", Role: "clerk"}
	fmt.Println(snap.Allowed(taxClerk, policy.ActionWrite, "tax", "tax-administration"))
	fmt.Println(snap.Allowed(housingClerk, policy.ActionWrite, "tax", "tax-administration"))
	// Output:
	// true
	// false
}

// Replacing the policy leaves snapshots already handed out unchanged.
func ExampleEngine_Replace() {
	purposes := `[{"code": "benefits", "titleZh": "福利发放", "titleEn": "Benefits", "legalBasis": "…"}]`
	ps, err := policy.ParsePurposes(strings.NewReader(purposes))
	if err != nil {
		log.Fatal(err)
	}
	rules, groups, err := policy.ParseCSV(strings.NewReader(`
p, officer, welfare, tax.*, reveal, benefits, allow
p, officer, welfare, tax.*, commit, benefits, allow
`))
	if err != nil {
		log.Fatal(err)
	}
	engine, err := policy.New(policy.Set{Version: 1, Rules: rules, Groupings: groups, Purposes: ps}, config)
	if err != nil {
		log.Fatal(err)
	}
	before := engine.Snapshot()

	// Version 2 stops revealing incomes: officers get commitments only.
	rules = append(rules, policy.Rule{
		Role: "officer", Department: "welfare", Object: "tax.annualIncome",
		Action: policy.ActionReveal, Purpose: "benefits", Effect: policy.EffectDeny,
	})
	if err := engine.Replace(policy.Set{Version: 2, Rules: rules, Groupings: groups, Purposes: ps}); err != nil {
		log.Fatal(err)
	}
	after := engine.Snapshot()

	officer := policy.Subject{Department: "welfare", Role: "officer"}
	fmt.Println(before.Version(), before.Decide(officer, "tax.annualIncome", "benefits"))
	fmt.Println(after.Version(), after.Decide(officer, "tax.annualIncome", "benefits"))
	fmt.Println(after.Version(), after.Decide(officer, "tax.year", "benefits"))
	// Output:
	// 1 reveal
	// 2 commit
	// 2 reveal
}

func ExampleFormatCSV() {
	rules, groups, err := policy.ParseCSV(strings.NewReader(`
g, senior-clerk, clerk, housing
p,clerk,housing,tax.annualIncome,commit,home-purchase-eligibility,allow
p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow
`))
	if err != nil {
		log.Fatal(err)
	}
	if err := policy.FormatCSV(os.Stdout, rules, groups); err != nil {
		log.Fatal(err)
	}
	// Output:
	// # GovHub policy rules (Casbin CSV).
	// # p, role, department, object, action, purpose, effect
	// # g, member, role, department
	//
	// p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow
	// p, clerk, housing, tax.annualIncome, commit, home-purchase-eligibility, allow
	//
	// g, senior-clerk, clerk, housing
}

// catalog stands in for package dataset's catalogue.
type catalog struct{}

func (catalog) Datasets() []string { return []string{"health", "identity", "tax"} }

func (catalog) Field(path string) (sensitive, known bool) {
	s, ok := fields[path]
	return s, ok
}

// A hub instance switches to a stored version without reading its rules;
// each request prepares the partitions it needs, then decides.
func ExampleEngine_Load() {
	// What the store holds: version 1, described by its VersionInfo, its
	// rules readable partition by partition (here from memory).
	stored := policy.Demo()
	info, err := stored.Info()
	if err != nil {
		log.Fatal(err)
	}
	loader := policy.MemoryLoader(stored)

	engine, err := policy.New(policy.Set{}, config) // version 0: denies everything
	if err != nil {
		log.Fatal(err)
	}
	if err := engine.Load(context.Background(), info, loader); err != nil {
		log.Fatal(err)
	}

	snap := engine.Snapshot()
	clerk := policy.Subject{Department: "housing", Role: "clerk"}
	fmt.Println("before Prepare:", snap.Decide(clerk, "tax.annualIncome", "home-purchase-eligibility"))
	if err := snap.Prepare(context.Background(), clerk, []string{"identity", "tax"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Prepare:", snap.Decide(clerk, "tax.annualIncome", "home-purchase-eligibility"))
	fmt.Println("version", snap.Version(), "rules", snap.Info().Rules)
	// Output:
	// before Prepare: deny
	// after Prepare: commit
	// version 1 rules 35
}

func ExampleSnapshot_Explain() {
	engine, err := policy.New(policy.Demo(), config)
	if err != nil {
		log.Fatal(err)
	}
	clerk := policy.Subject{Department: "housing", Role: "senior-clerk"}
	for _, f := range []string{"tax.annualIncome", "health.bloodType", "identity.nationalId"} {
		x, err := engine.Snapshot().Explain(context.Background(), clerk, f, "home-purchase-eligibility")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(f, x.Level)
		for _, r := range x.Matched {
			fmt.Println("  ", r)
		}
		fmt.Println("  ", x.Reason)
	}
	// Output:
	// tax.annualIncome commit
	//    p, clerk, housing, tax.annualIncome, commit, home-purchase-eligibility, allow
	//    Reveal is not allowed by any rule; commit is allowed by 1 allow rule and no deny rule matches, so only the commitment is released.
	// health.bloodType deny
	//    p, clerk, housing, health.*, commit, *, deny
	//    p, clerk, housing, health.*, reveal, *, deny
	//    Reveal is denied by 1 deny rule; commit is denied by 1 deny rule.
	// identity.nationalId deny
	//    No rule matches, so access is denied by default.
}

// An officer proposes to let housing clerks see incomes; the impact
// preview lists every decision that moves, for every role that inherits
// the change.
func ExampleImpact() {
	current := policy.Demo()
	change := policy.Change{AddRules: []policy.Rule{{
		Role: "clerk", Department: "housing", Object: "tax.annualIncome",
		Action: policy.ActionReveal, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow,
	}}}
	next, err := current.Apply(change) // the hub also checks next.ValidateWith(catalogue)
	if err != nil {
		log.Fatal(err)
	}
	before, err := policy.New(current, config)
	if err != nil {
		log.Fatal(err)
	}
	after, err := policy.New(next, config)
	if err != nil {
		log.Fatal(err)
	}
	moves, err := policy.Impact(context.Background(), before.Snapshot(), after.Snapshot(), change,
		[]string{"identity.name", "identity.nationalId", "tax.year", "tax.annualIncome", "health.bloodType"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version", next.Version)
	for _, m := range moves {
		fmt.Println(m.Department, m.Role, m.Purpose, m.Field, m.Before, "→", m.After)
	}
	// Output:
	// version 2
	// housing clerk home-purchase-eligibility tax.annualIncome commit → reveal
	// housing senior-clerk home-purchase-eligibility tax.annualIncome commit → reveal
}

func ExampleSet_ValidateWith() {
	purposes := `[{"code": "benefits", "titleZh": "福利发放", "titleEn": "Benefits", "legalBasis": "…"}]`
	ps, err := policy.ParsePurposes(strings.NewReader(purposes))
	if err != nil {
		log.Fatal(err)
	}
	rules, groups, err := policy.ParseCSV(strings.NewReader(`
p, officer, welfare, tax.*, commit, benefits, allow
p, officer, welfare, tax.refund, reveal, benefits, allow
p, officer, welfare, tax.year, commit, benefits, allow
p, officer, welfare, pension.*, reveal, benefits, allow
p, officer, welfare, identity.name, reveal, research, allow
`))
	if err != nil {
		log.Fatal(err)
	}
	set := policy.Set{Version: 1, Rules: rules, Groupings: groups, Purposes: ps}
	fmt.Println(set.ValidateWith(catalog{}))
	// Output:
	// invalid policy: rule "p, officer, welfare, identity.name, reveal, research, allow": purpose "research" is not registered
	// invalid policy: rule "p, officer, welfare, tax.refund, reveal, benefits, allow": field "tax.refund" is not in the catalog
	// invalid policy: rule "p, officer, welfare, tax.year, commit, benefits, allow": commit on field "tax.year", which is not sensitive and has no commitment
	// invalid policy: rule "p, officer, welfare, pension.*, reveal, benefits, allow": dataset "pension" is not in the catalog
}
