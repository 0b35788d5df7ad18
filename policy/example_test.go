package policy_test

import (
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
