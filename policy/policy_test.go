package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLevel(t *testing.T) {
	for _, c := range []struct {
		l Level
		s string
	}{
		{Deny, "deny"},
		{Commit, "commit"},
		{Reveal, "reveal"},
	} {
		if got := c.l.String(); got != c.s {
			t.Errorf("Level(%d).String() = %q, want %q", int8(c.l), got, c.s)
		}
		got, err := ParseLevel(c.s)
		if err != nil || got != c.l {
			t.Errorf("ParseLevel(%q) = %v, %v, want %v, nil", c.s, got, err, c.l)
		}
		text, err := c.l.MarshalText()
		if err != nil || string(text) != c.s {
			t.Errorf("Level(%d).MarshalText() = %q, %v, want %q, nil", int8(c.l), text, err, c.s)
		}
		var l Level
		if err := l.UnmarshalText([]byte(c.s)); err != nil || l != c.l {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v, nil", c.s, l, err, c.l)
		}
	}
	for _, s := range []string{"", "Reveal", "allow", "3"} {
		if _, err := ParseLevel(s); err == nil {
			t.Errorf("ParseLevel(%q) = nil error, want an error", s)
		}
	}
	if got := Level(7).String(); got != "Level(7)" {
		t.Errorf("Level(7).String() = %q, want %q", got, "Level(7)")
	}
	if _, err := Level(7).MarshalText(); err == nil {
		t.Errorf("Level(7).MarshalText() = nil error, want an error")
	}
	if !(Deny < Commit && Commit < Reveal) {
		t.Errorf("levels not ordered Deny < Commit < Reveal")
	}
}

func TestRuleString(t *testing.T) {
	r := Rule{Role: "clerk", Department: "housing", Object: "identity.name", Action: ActionReveal, Purpose: hpe, Effect: EffectAllow}
	if got, want := r.String(), "p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow"; got != want {
		t.Errorf("Rule.String() = %q, want %q", got, want)
	}
	g := Grouping{Member: "senior-clerk", Role: "clerk", Department: "housing"}
	if got, want := g.String(), "g, senior-clerk, clerk, housing"; got != want {
		t.Errorf("Grouping.String() = %q, want %q", got, want)
	}
}

func TestValidateDemoAndTestdata(t *testing.T) {
	if err := Demo().Validate(); err != nil {
		t.Errorf("Demo().Validate() = %v", err)
	}
	if err := loadTestPolicy(t).Validate(); err != nil {
		t.Errorf("testdata policy: Validate() = %v", err)
	}
	if err := (Set{}).Validate(); err != nil {
		t.Errorf("Set{}.Validate() = %v, want nil (an empty policy denies everything)", err)
	}
}

func TestValidateRejects(t *testing.T) {
	base := func() Set {
		return Set{
			Version: 1,
			Purposes: []Purpose{
				{Code: "benefits", TitleZh: "福利", TitleEn: "Benefits", LegalBasis: "law"},
			},
			Rules: []Rule{
				{Role: "clerk", Department: "housing", Object: "tax.*", Action: ActionReveal, Purpose: "benefits", Effect: EffectAllow},
			},
			Groupings: []Grouping{
				{Member: "senior", Role: "clerk", Department: "housing"},
			},
		}
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("base set: Validate() = %v", err)
	}
	rule := func(f func(*Rule)) func(*Set) {
		return func(s *Set) { f(&s.Rules[0]) }
	}
	for _, c := range []struct {
		name   string
		change func(*Set)
		want   string // in the error message
	}{
		{"empty role", rule(func(r *Rule) { r.Role = "" }), "malformed role"},
		{"upper-case role", rule(func(r *Rule) { r.Role = "Clerk" }), "malformed role"},
		{"role with space", rule(func(r *Rule) { r.Role = "senior clerk" }), "malformed role"},
		{"wildcard role", rule(func(r *Rule) { r.Role = "*" }), "malformed role"},
		{"double hyphen", rule(func(r *Rule) { r.Department = "house--ing" }), "malformed department"},
		{"trailing hyphen", rule(func(r *Rule) { r.Department = "housing-" }), "malformed department"},
		{"leading digit", rule(func(r *Rule) { r.Department = "1housing" }), "malformed department"},
		{"long department", rule(func(r *Rule) { r.Department = strings.Repeat("a", 65) }), "malformed department"},
		{"unknown action", rule(func(r *Rule) { r.Action = "read" }), `unknown action "read" (want reveal, commit, prove, write or list)`},
		{"unknown effect", rule(func(r *Rule) { r.Effect = "maybe" }), `unknown effect "maybe" (want allow or deny)`},
		{"empty effect", rule(func(r *Rule) { r.Effect = "" }), "unknown effect"},
		{"dataset for reveal", rule(func(r *Rule) { r.Object = "tax" }), "malformed object"},
		{"field for write", rule(func(r *Rule) { r.Object, r.Action = "tax.year", ActionWrite }), "malformed object"},
		{"pattern for list", rule(func(r *Rule) { r.Object, r.Action = "tax.*", ActionList }), "malformed object"},
		{"mid-name wildcard", rule(func(r *Rule) { r.Object = "tax.annual*" }), "malformed object"},
		{"dataset wildcard", rule(func(r *Rule) { r.Object = "t*" }), "malformed object"},
		{"wildcard dataset", rule(func(r *Rule) { r.Object = "*.year" }), "malformed object"},
		{"nested field", rule(func(r *Rule) { r.Object = "tax.year.month" }), "malformed object"},
		{"empty field", rule(func(r *Rule) { r.Object = "tax." }), "malformed object"},
		{"comma", rule(func(r *Rule) { r.Object = "tax.a,b" }), "malformed object"},
		{"unregistered purpose", rule(func(r *Rule) { r.Purpose = "marketing" }), `purpose "marketing" is not registered`},
		{"malformed purpose", rule(func(r *Rule) { r.Purpose = "Benefits" }), "malformed purpose"},
		{"duplicate rule", func(s *Set) { s.Rules = append(s.Rules, s.Rules[0]) }, "duplicate"},
		{"duplicate purpose", func(s *Set) { s.Purposes = append(s.Purposes, s.Purposes[0]) }, `duplicate code "benefits"`},
		{"malformed purpose code", func(s *Set) { s.Purposes[0].Code = "*" }, "malformed purpose code"},
		{"empty title", func(s *Set) { s.Purposes[0].TitleZh = " " }, "empty titleZh"},
		{"empty legal basis", func(s *Set) { s.Purposes[0].LegalBasis = "" }, "empty legalBasis"},
		{"self grouping", func(s *Set) { s.Groupings[0].Role = "senior" }, "inherits itself"},
		{"malformed member", func(s *Set) { s.Groupings[0].Member = "Senior" }, "malformed member"},
		{"duplicate grouping", func(s *Set) { s.Groupings = append(s.Groupings, s.Groupings[0]) }, "duplicate"},
		{"cycle", func(s *Set) {
			s.Groupings = append(s.Groupings, Grouping{Member: "clerk", Role: "boss", Department: "housing"}, Grouping{Member: "boss", Role: "senior", Department: "housing"})
		}, "cycle"},
		{"deep hierarchy", func(s *Set) {
			for i := range maxRoleDepth {
				s.Groupings = append(s.Groupings, Grouping{Member: fmt.Sprintf("r%d", i+1), Role: fmt.Sprintf("r%d", i), Department: "housing"})
			}
			s.Groupings = append(s.Groupings, Grouping{Member: "r0", Role: "clerk", Department: "housing"})
		}, "more than 10"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			c.change(&s)
			err := s.Validate()
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v, want an %v containing %q", err, ErrInvalidPolicy, c.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	s := Set{Rules: []Rule{
		{Role: "Clerk", Department: "housing", Object: "tax.*", Action: ActionReveal, Purpose: "*", Effect: EffectAllow},
		{Role: "clerk", Department: "housing", Object: "tax.*", Action: ActionReveal, Purpose: "x", Effect: EffectAllow},
	}}
	err := s.Validate()
	if err == nil {
		t.Fatalf("Validate() = nil, want two problems")
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 2 {
		t.Errorf("Validate() reported %d problems, want 2: %v", got, err)
	}
}
