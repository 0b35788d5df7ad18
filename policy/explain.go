package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

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

// Explain returns the decision for sub reading field for purpose, as
// [Snapshot.Decide] makes it, and the rules that produced it: the allow
// and deny rules that match, sub's role or a role it inherits through the
// department's groupings, the field (exactly or by a wildcard) and the
// purpose (exactly or by "*"). Explain works the decision out from those
// rules itself, so it doubles as a check of the Casbin model. It loads the
// partitions it needs as [Snapshot.Prepare] does, and returns an error
// only if they cannot be loaded. Unknown purposes and fields are Deny,
// with the reason.
func (s *Snapshot) Explain(ctx context.Context, sub Subject, field, purpose string) (Explanation, error) {
	if _, ok := s.purposes[purpose]; !ok {
		return Explanation{Level: Deny, Reason: fmt.Sprintf("Purpose %q is not registered, so nothing may be read for it.", purpose)}, nil
	}
	sensitive, known := false, false
	if isField(field) {
		sensitive, known = s.sensitive(field)
	}
	if !known {
		return Explanation{Level: Deny, Reason: fmt.Sprintf("There is no field %q, so nothing of it may be read.", field)}, nil
	}
	if !isCode(sub.Department) || !isCode(sub.Role) {
		return Explanation{Level: Deny, Reason: "No rule matches, so access is denied by default."}, nil
	}
	ds := datasetOf(field)
	if err := s.Prepare(ctx, sub, []string{ds}); err != nil {
		return Explanation{}, fmt.Errorf("explaining %s/%s on %s for %s: %w", sub.Department, sub.Role, field, purpose, err)
	}
	p := s.partition(sub.Department, ds)
	if p == nil {
		return Explanation{}, fmt.Errorf("explaining %s/%s on %s for %s: partition %s/%s is not loaded", sub.Department, sub.Role, field, purpose, sub.Department, ds)
	}
	roles := s.inherited(sub)
	var reveal, commit ruleMatch
	for _, rs := range [][]Rule{p.rules, p.starRules()} {
		for _, r := range rs {
			if !roles[r.Role] || r.Purpose != AnyPurpose && r.Purpose != purpose || !objectMatches(r.Object, field) {
				continue
			}
			switch r.Action {
			case ActionReveal:
				reveal.add(r)
			case ActionCommit:
				commit.add(r)
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
			x.Reason = "No rule matches, so access is denied by default."
		default:
			x.Reason = reveal.refusal("Reveal") + "; the field is not sensitive, so it has no commitment to release."
		}
	default:
		x.Matched = append(x.Matched, commit.rules()...)
		slices.SortFunc(x.Matched, compareRules)
		switch {
		case len(x.Matched) == 0:
			x.Reason = "No rule matches, so access is denied by default."
		case commit.allowed():
			x.Level = Commit
			x.Reason = fmt.Sprintf("%s; commit is allowed by %s and no deny rule matches, so only the commitment is released.",
				reveal.refusal("Reveal"), count(len(commit.allow), "allow rule"))
		default:
			x.Reason = reveal.refusal("Reveal") + "; " + lowerFirst(commit.refusal("Commit")) + "."
		}
	}
	return x, nil
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

// inherited returns sub's role and every role it inherits in its
// department, following the version's groupings.
func (s *Snapshot) inherited(sub Subject) map[string]bool {
	roles := map[string]bool{sub.Role: true}
	queue := []string{sub.Role}
	for len(queue) > 0 {
		member := queue[0]
		queue = queue[1:]
		for _, g := range s.groupings[sub.Department] {
			if g[0] == member && !roles[g[1]] {
				roles[g[1]] = true
				queue = append(queue, g[1])
			}
		}
	}
	return roles
}

// objectMatches reports whether a rule object matches a "dataset.field"
// name as Casbin's keyMatch does for well-formed patterns: "*" matches
// everything, "tax.*" every field of tax, "tax.year" itself.
func objectMatches(pattern, field string) bool {
	if pattern == AnyObject || pattern == field {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "*")
	return ok && strings.HasPrefix(field, prefix)
}
