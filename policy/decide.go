package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// This file holds the decision rules: pure functions of a loaded partition
// and the request. They do no I/O, keep no cache and take no lock; loading
// partitions, memoising answers and the budgets that bound both are in
// cache.go, and the [Snapshot] methods in snapshot.go join the two.

// partRules is a loaded partition as decisions see it: one department's
// rules on one dataset, the department's rules on "*", which apply besides
// them, and the department's groupings. It is not changed once loaded.
type partRules struct {
	own    []Rule          // the partition's own rules, sorted
	star   []Rule          // the department's rules on "*", sorted; nil in the "*" partition itself
	groups [][]string      // the department's g rows: member, role, department
	roles  map[string]bool // every role that some rule could grant; see newPartRules
}

// newPartRules returns the partition of own rules, star rules and groups.
// Its roles are those its rules name and, if it has rules, those its
// groupings name: a role outside them is granted nothing by the partition.
func newPartRules(own, star []Rule, groups [][]string) partRules {
	r := partRules{own: own, star: star, groups: groups, roles: make(map[string]bool)}
	for _, rs := range [][]Rule{own, star} {
		for _, rule := range rs {
			r.roles[rule.Role] = true
		}
	}
	if len(r.roles) == 0 {
		return r // no rules: the groupings grant nothing
	}
	for _, g := range groups {
		r.roles[g[0]] = true
		r.roles[g[1]] = true
	}
	return r
}

// newEnforcer returns a Casbin enforcer, a copy of base, holding r's rules
// (its own and the "*" ones) for purpose, or for every purpose if purpose
// is "", and r's groupings; nil if no rule is for purpose or for any ("*").
func (r *partRules) newEnforcer(base model.Model, purpose string) (*casbin.Enforcer, error) {
	m := base.Copy()
	n := 0
	for _, rs := range [][]Rule{r.own, r.star} {
		for _, rule := range rs {
			if purpose == "" || rule.Purpose == purpose || rule.Purpose == AnyPurpose {
				if err := m.AddPolicy("p", "p", ruleRow(rule)); err != nil {
					return nil, err
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil, nil
	}
	for _, g := range r.groups {
		if err := m.AddPolicy("g", "g", g); err != nil {
			return nil, err
		}
	}
	enf, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	if err := enf.BuildRoleLinks(); err != nil {
		return nil, err
	}
	return enf, nil
}

// enforcers gives the Casbin enforcer deciding a loaded partition's
// requests for one purpose: nil if no rule of the partition is for that
// purpose or for any. The enforcer may hold rules for other purposes too;
// they change no answer, since the model matches purposes.
type enforcers interface {
	enforcer(purpose string) (*casbin.Enforcer, error)
}

// decideField returns the level at which sub may read field, a
// "dataset.field" name, for purpose, under the partition e decides: Reveal
// if reveal is allowed, else, for a sensitive field, Prove if prove is
// allowed on one of predicates (the catalogued predicates of field), else
// Commit if commit is allowed, else Deny. The caller has checked that
// purpose is registered, that field exists, and that sub's role appears in
// the partition. An error is Casbin's; the level is then Deny.
func decideField(e enforcers, sub Subject, field, purpose string, sensitive bool, predicates []string) (Level, error) {
	reveal, err := allowed(e, sub, ActionReveal, field, purpose)
	if err != nil {
		return Deny, err
	}
	if reveal {
		return Reveal, nil
	}
	if !sensitive {
		return Deny, nil
	}
	for _, pred := range predicates {
		prove, err := allowed(e, sub, ActionProve, ProofObject(field, pred), purpose)
		if err != nil {
			return Deny, err
		}
		if prove {
			return Prove, nil
		}
	}
	commit, err := allowed(e, sub, ActionCommit, field, purpose)
	if err != nil {
		return Deny, err
	}
	if commit {
		return Commit, nil
	}
	return Deny, nil
}

// allowed reports whether sub may perform act on object for purpose under
// the partition e decides, as its rules say and nothing more.
func allowed(e enforcers, sub Subject, act Action, object, purpose string) (bool, error) {
	enf, err := e.enforcer(purpose)
	if enf == nil || err != nil {
		return false, err
	}
	return enf.Enforce(sub.Role, sub.Department, object, string(act), purpose)
}

// Explanation is a field decision with the rules that produced it.
type Explanation struct {
	Level Level
	// Matched holds the rules that match the request, allow and deny,
	// sorted as [FormatCSV] sorts: those about reveal and, when reveal is
	// not allowed and the field is sensitive, those about commit. Empty
	// when no rule matches (deny by default).
	Matched []Rule
	// Reason says in one sentence how the rules lead to Level.
	Reason string
}

// Explanations of requests that no rule can match.
func unknownPurpose(purpose string) Explanation {
	return Explanation{Level: Deny, Reason: fmt.Sprintf("Purpose %q is not registered, so nothing may be read for it.", purpose)}
}

func unknownField(field string) Explanation {
	return Explanation{Level: Deny, Reason: fmt.Sprintf("There is no field %q, so nothing of it may be read.", field)}
}

var noRuleMatches = Explanation{Level: Deny, Reason: "No rule matches, so access is denied by default."}

// explain returns the decision for sub reading field for purpose under the
// partition r, as [decideField] makes it, and the rules that produced it,
// worked out from r's rules without Casbin: the allow and deny rules that
// match sub's role or a role it inherits through r's groupings, the field
// (exactly or by a wildcard) and the purpose (exactly or by "*"). The
// caller has checked that purpose is registered and that field exists.
func explain(r *partRules, sub Subject, field, purpose string, sensitive bool, predicates []string) Explanation {
	roles := inherited(sub.Role, r.groups)
	var reveal, commit ruleMatch
	prove := make([]ruleMatch, len(predicates))
	for _, rs := range [][]Rule{r.own, r.star} {
		for _, rule := range rs {
			if !roles[rule.Role] || rule.Purpose != AnyPurpose && rule.Purpose != purpose {
				continue
			}
			if rule.Action == ActionProve {
				for i, pred := range predicates {
					if objectMatches(rule.Object, ProofObject(field, pred)) {
						prove[i].add(rule)
					}
				}
				continue
			}
			if !objectMatches(rule.Object, field) {
				continue
			}
			switch rule.Action {
			case ActionReveal:
				reveal.add(rule)
			case ActionCommit:
				commit.add(rule)
			}
		}
	}

	x := Explanation{Level: Deny, Matched: reveal.rules()}
	switch {
	case reveal.allowed():
		x.Level = Reveal
		x.Reason = fmt.Sprintf("Reveal is allowed by %s and no deny rule matches.", count(len(reveal.allow), "allow rule"))
	case !sensitive:
		switch {
		case len(x.Matched) == 0 && len(commit.allow)+len(commit.deny) > 0:
			x.Reason = "No reveal rule matches, and the field is not sensitive, so the commit rules that match do not apply: access is denied by default."
		case len(x.Matched) == 0:
			x.Reason = noRuleMatches.Reason
		default:
			x.Reason = reveal.refusal("Reveal") + "; the field is not sensitive, so it has no commitment to release."
		}
	default:
		x.Matched = append(x.Matched, commit.rules()...)
		var proved []string
		for i, m := range prove {
			for _, r := range m.rules() {
				if !slices.Contains(x.Matched, r) {
					x.Matched = append(x.Matched, r)
				}
			}
			if m.allowed() {
				proved = append(proved, predicates[i])
			}
		}
		slices.SortFunc(x.Matched, compareRules)
		switch {
		case len(x.Matched) == 0:
			x.Reason = noRuleMatches.Reason
		case len(proved) > 0:
			x.Level = Prove
			x.Reason = fmt.Sprintf("%s; prove is allowed, with no deny rule matching, for the predicates %s, so the commitment is released with proofs of those predicates only.",
				reveal.refusal("Reveal"), strings.Join(proved, ", "))
		case commit.allowed():
			x.Level = Commit
			x.Reason = fmt.Sprintf("%s; commit is allowed by %s and no deny rule matches, so only the commitment is released.",
				reveal.refusal("Reveal"), count(len(commit.allow), "allow rule"))
		default:
			x.Reason = reveal.refusal("Reveal") + "; " + lowerFirst(commit.refusal("Commit")) + "."
		}
	}
	return x
}

// ruleMatch collects the matching rules for one action.
type ruleMatch struct{ allow, deny []Rule }

func (m *ruleMatch) add(r Rule) {
	if r.Effect == EffectDeny {
		m.deny = append(m.deny, r)
	} else {
		m.allow = append(m.allow, r)
	}
}

func (m *ruleMatch) allowed() bool { return len(m.allow) > 0 && len(m.deny) == 0 }

func (m *ruleMatch) rules() []Rule {
	rs := slices.Concat(m.allow, m.deny)
	slices.SortFunc(rs, compareRules)
	return rs
}

// refusal says why action is not allowed, without a final period.
func (m *ruleMatch) refusal(action string) string {
	if len(m.deny) > 0 {
		return fmt.Sprintf("%s is denied by %s", action, count(len(m.deny), "deny rule"))
	}
	return fmt.Sprintf("%s is not allowed by any rule", action)
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// inherited returns role and every role it inherits through groups, one
// department's g rows (member, role, department).
func inherited(role string, groups [][]string) map[string]bool {
	roles := map[string]bool{role: true}
	queue := []string{role}
	for len(queue) > 0 {
		member := queue[0]
		queue = queue[1:]
		for _, g := range groups {
			if g[0] == member && !roles[g[1]] {
				roles[g[1]] = true
				queue = append(queue, g[1])
			}
		}
	}
	return roles
}

// objectMatches reports whether a rule object matches a "dataset.field"
// name (or a "dataset.field:predicate" proof object) as Casbin's keyMatch
// does for well-formed patterns: "*" matches everything, "tax.*" every
// field of tax, "tax.year" itself, "tax.year:*" every predicate of it.
func objectMatches(pattern, field string) bool {
	if pattern == AnyObject || pattern == field {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "*")
	return ok && strings.HasPrefix(field, prefix)
}
