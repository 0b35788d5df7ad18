package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// synthetic builds a policy of n rules spread over depts departments, on 20
// datasets of 20 fields each (even-numbered fields sensitive), 10 roles and
// 10 purposes; about a tenth of the rules are wildcards and a tenth denies.
func synthetic(n, depts int) (Set, Config) {
	rng := rand.New(rand.NewPCG(1, 2))
	set := Set{Version: 1}
	for i := range 10 {
		set.Purposes = append(set.Purposes, Purpose{Code: fmt.Sprintf("pur-%d", i), TitleZh: "目的", TitleEn: "Purpose", LegalBasis: "law"})
	}
	seen := make(map[Rule]bool, n)
	for len(set.Rules) < n {
		r := Rule{
			Role:       fmt.Sprintf("role-%d", rng.IntN(10)),
			Department: fmt.Sprintf("dept-%d", rng.IntN(depts)),
			Object:     fmt.Sprintf("ds%d.f%d", rng.IntN(20), rng.IntN(20)),
			Action:     []Action{ActionReveal, ActionCommit}[rng.IntN(2)],
			Purpose:    fmt.Sprintf("pur-%d", rng.IntN(10)),
			Effect:     EffectAllow,
		}
		switch rng.IntN(10) {
		case 0:
			r.Object = fmt.Sprintf("ds%d.*", rng.IntN(20))
		case 1:
			r.Effect = EffectDeny
		case 2:
			r.Purpose = AnyPurpose
		}
		if !seen[r] {
			seen[r] = true
			set.Rules = append(set.Rules, r)
		}
	}
	for d := range depts {
		for i := 1; i < 10; i += 3 {
			set.Groupings = append(set.Groupings, Grouping{Member: fmt.Sprintf("role-%d", i), Role: fmt.Sprintf("role-%d", i-1), Department: fmt.Sprintf("dept-%d", d)})
		}
	}
	fields := make(map[string]bool)
	for ds := range 20 {
		for f := range 20 {
			fields[fmt.Sprintf("ds%d.f%d", ds, f)] = f%2 == 0
		}
	}
	return set, Config{Sensitive: func(field string) (bool, bool) {
		s, ok := fields[field]
		return s, ok
	}}
}

type benchCase struct {
	name    string
	set     Set
	cfg     Config
	sub     Subject
	fields  []string
	purpose string
}

func benchCases() []benchCase {
	demoFields := []string{
		"identity.name", "identity.gender", "identity.hukouCity", "identity.nationalId", "identity.birthDate",
		"identity.address", "marriage.maritalStatus", "marriage.spouseCitizenId", "marriage.registeredOn",
		"socialInsurance.contributionMonths", "socialInsurance.monthlyBase", "tax.year", "tax.annualIncome",
		"tax.taxPaid", "property.certificateNo", "property.city", "property.area", "property.address",
		"property.acquiredOn", "health.bloodType",
	}
	var synFields []string
	for i := range 20 {
		synFields = append(synFields, fmt.Sprintf("ds%d.f%d", i%4, i))
	}
	spread, spreadCfg := synthetic(10_000, 50)
	one, oneCfg := synthetic(10_000, 1)
	sub := Subject{Department: "dept-0", Role: "role-1"}
	return []benchCase{
		{"demo", Demo(), testConfig, Subject{Department: "housing", Role: "senior-clerk"}, demoFields, hpe},
		{"10k-rules-50-depts", spread, spreadCfg, sub, synFields, "pur-3"},
		{"10k-rules-1-dept", one, oneCfg, sub, synFields, "pur-3"},
	}
}

// BenchmarkDecideWarm decides 20 fields per op, every answer memoised.
func BenchmarkDecideWarm(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			e, err := New(c.set, c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			s := e.Snapshot()
			for _, f := range c.fields {
				s.Decide(c.sub, f, c.purpose)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, f := range c.fields {
					s.Decide(c.sub, f, c.purpose)
				}
			}
		})
	}
}

// BenchmarkDecideCold decides one field per op through Casbin, memo off.
func BenchmarkDecideCold(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			e, err := New(c.set, c.cfg, WithMemoLimit(0))
			if err != nil {
				b.Fatal(err)
			}
			s := e.Snapshot()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Decide(c.sub, c.fields[i%len(c.fields)], c.purpose)
				i++
			}
		})
	}
}

// BenchmarkBuild measures building a snapshot (what Replace costs).
func BenchmarkBuild(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			e, err := New(c.set, c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.build(c.set); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
