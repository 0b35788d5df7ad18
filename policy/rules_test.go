package policy

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// freshEnforcers builds a new enforcer for every question: the decision
// rules of decide.go with no cache in front of them.
type freshEnforcers struct {
	rules *partRules
	base  model.Model
}

func (f freshEnforcers) enforcer(purpose string) (*casbin.Enforcer, error) {
	return f.rules.newEnforcer(f.base, purpose)
}

// testPartition returns housing's partition on identity under csv, and its
// "*" rules, as cache.go would load them.
func testPartition(t *testing.T, csv string) *partRules {
	t.Helper()
	rules, groups, err := ParseCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	var own, star []Rule
	for _, r := range rules {
		if PartitionOf(r.Object) == AnyObject {
			star = append(star, r)
		} else {
			own = append(own, r)
		}
	}
	var rows [][]string
	for _, g := range groups {
		rows = append(rows, []string{g.Member, g.Role, g.Department})
	}
	r := newPartRules(own, star, rows)
	return &r
}

// TestRulesOfOnePartition runs decideField, allowed and explain on one
// partition with no snapshot, loader or cache: the rules alone.
func TestRulesOfOnePartition(t *testing.T) {
	const csv = `p, clerk, housing, identity.name, reveal, ` + hpe + `, allow
p, clerk, housing, identity.*, commit, *, allow
p, clerk, housing, identity.nationalId, reveal, *, deny
p, auditor, housing, *, commit, *, allow
g, senior-clerk, clerk, housing
`
	base, err := model.NewModelFromString(modelConf)
	if err != nil {
		t.Fatal(err)
	}
	r := testPartition(t, csv)
	e := freshEnforcers{rules: r, base: base}
	for _, c := range []struct {
		role, field, purpose string
		sensitive            bool
		want                 Level
		matched              int
	}{
		{"clerk", "identity.name", hpe, false, Reveal, 1},
		{"senior-clerk", "identity.name", hpe, false, Reveal, 1},
		{"clerk", "identity.name", "marketing", false, Deny, 0},
		{"clerk", "identity.nationalId", hpe, true, Commit, 2},
		{"clerk", "identity.gender", hpe, false, Deny, 0},
		{"auditor", "identity.address", hpe, true, Commit, 1},
		{"auditor", "identity.name", hpe, false, Deny, 0},
		{"janitor", "identity.name", hpe, false, Deny, 0},
	} {
		sub := Subject{Department: "housing", Role: c.role}
		t.Run(c.role+"/"+c.field+"/"+c.purpose, func(t *testing.T) {
			if got, err := decideField(e, sub, c.field, c.purpose, c.sensitive, nil); got != c.want || err != nil {
				t.Errorf("decideField(%v, %q, %q, %v) = %v, %v, want %v", sub, c.field, c.purpose, c.sensitive, got, err, c.want)
			}
			x := explain(r, sub, c.field, c.purpose, c.sensitive, nil)
			if x.Level != c.want || len(x.Matched) != c.matched {
				t.Errorf("explain(%v, %q, %q, %v) = %v with %d rules (%s), want %v with %d",
					sub, c.field, c.purpose, c.sensitive, x.Level, len(x.Matched), x.Reason, c.want, c.matched)
			}
			wantReveal := c.want == Reveal
			if got, err := allowed(e, sub, ActionReveal, c.field, c.purpose); got != wantReveal || err != nil {
				t.Errorf("allowed(%v, reveal, %q, %q) = %v, %v, want %v", sub, c.field, c.purpose, got, err, wantReveal)
			}
		})
	}
	if r.roles["janitor"] || !r.roles["senior-clerk"] || !r.roles["auditor"] {
		t.Errorf("partition roles = %v, want clerk, senior-clerk and auditor only", r.roles)
	}
}

// TestDecisionRulesArePure keeps decide.go free of what belongs in
// cache.go: contexts, locks, atomics and I/O.
func TestDecisionRulesArePure(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "decide.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			t.Fatal(err)
		}
		switch path {
		case "context", "sync", "sync/atomic", "io", "os", "net", "time":
			t.Errorf("decide.go imports %q; the decision rules take no context, lock or I/O (cache.go holds those)", path)
		}
	}
}
